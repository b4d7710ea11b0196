package controllers

import (
	"net/http/httptest"
	"testing"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// sandboxFixture is a platform sandbox served on loopback for one test.
type sandboxFixture struct {
	connectors.Sandbox
	URL string
}

func startSandbox(t *testing.T, platform v1alpha1.Platform, opts connectors.SandboxOptions) *sandboxFixture {
	t.Helper()
	p, ok := connectors.Lookup(platform)
	if !ok || p.NewSandbox == nil {
		t.Fatalf("no sandbox registered for %s", platform)
	}
	sb := p.NewSandbox(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &sandboxFixture{Sandbox: sb, URL: srv.URL}
}

// startShopify is the Shopify sandbox most controller tests use, with its rate limit off.
func startShopify(t *testing.T, orders int) *sandboxFixture {
	return startSandbox(t, v1alpha1.PlatformShopify, connectors.SandboxOptions{
		Seed: uint64(orders), Orders: orders, Products: 30, Locations: 3, Unlimited: true, Fast: true})
}

// secretData is the sandbox's credentials as Secret string data.
func (f *sandboxFixture) secretData() map[string]string {
	out := map[string]string{}
	for k, v := range f.Credentials() {
		out[k] = string(v)
	}
	return out
}
