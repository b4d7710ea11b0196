package walmart

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// smallSeed needs several pages of every entity, three ship nodes (one of them 3PL) and WFS orders, and
// keeps the tests fast.
var smallSeed = sandboxkit.Options{Seed: 7, Orders: 600, Products: 40, Locations: 3}

type env struct {
	sb  *Sandbox
	srv *httptest.Server
}

func newEnv(t testing.TB, opts SandboxOptions) *env {
	t.Helper()
	if opts.Seed.Orders == 0 {
		opts.Seed = smallSeed
	}
	sb := NewSandbox(opts)
	return &env{sb: sb, srv: connectortest.Serve(t, sb)}
}

func (e *env) credentials() map[string][]byte {
	return map[string][]byte{CredentialClientID: []byte(e.sb.ClientID()), CredentialClientSecret: []byte(e.sb.ClientSecret())}
}

// connector builds a connector for the sandbox with test-speed retries.
func (e *env) connector(t testing.TB) *Connector {
	t.Helper()
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{Endpoint: e.srv.URL + "/v3"},
		Credentials: e.credentials(),
		HTTPClient:  e.srv.Client(),
		Log:         logr.Discard(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.api.BaseBackoff, c.api.MaxBackoff = time.Millisecond, 20*time.Millisecond
	c.auth.BaseBackoff, c.auth.MaxBackoff = time.Millisecond, 20*time.Millisecond
	return c
}
