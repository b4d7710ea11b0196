package amazon

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

type env struct {
	sb  *Sandbox
	srv *httptest.Server
}

// newEnv serves a sandbox; with no Orders it holds 150 orders, 20 products and 3 marketplaces, unlimited.
func newEnv(t testing.TB, opts SandboxOptions) *env {
	t.Helper()
	if opts.Orders == 0 {
		opts.Seed, opts.Orders, opts.Products, opts.Locations = 7, 150, 20, 3
	}
	if opts.Limits == nil {
		opts.Unlimited = true
	}
	sb := NewSandbox(opts)
	return &env{sb: sb, srv: connectortest.Serve(t, sb)}
}

func (e *env) credentials() map[string][]byte {
	return map[string][]byte{
		CredentialClientID:     []byte(e.sb.ClientID()),
		CredentialClientSecret: []byte(e.sb.ClientSecret()),
		CredentialRefreshToken: []byte(e.sb.RefreshToken()),
	}
}

// connector builds a connector for the sandbox with test-speed retry delays.
func (e *env) connector(t testing.TB, creds map[string][]byte, apiVersion string) *Connector {
	t.Helper()
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{Region: "NA", MarketplaceIDs: e.sb.MarketplaceIDs(), Endpoint: e.srv.URL, APIVersion: apiVersion},
		Credentials: creds,
		HTTPClient:  e.srv.Client(),
		Log:         logr.Discard(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.RetryBaseDelay = time.Millisecond
	c.MaxRetryDelay = 20 * time.Millisecond
	return c
}

var longAgo = time.Now().Add(-5 * 365 * 24 * time.Hour)

// accessToken is the connector's current LWA access token.
func accessToken(t testing.TB, c *Connector) string {
	t.Helper()
	tok, err := c.tokens.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}
