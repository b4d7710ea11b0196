package shopify

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

// smallSeed is big enough to need several pages, nested line-item and variant pages, and a few locations,
// and small enough to keep the tests fast.
var smallSeed = SeedOptions{Seed: 7, Orders: 300, Products: 40, Locations: 3, LargeOrderEvery: 37}

type env struct {
	sb  *Sandbox
	srv *httptest.Server
}

func newEnv(t testing.TB, opts SandboxOptions) *env {
	t.Helper()
	if opts.Seed.Orders == 0 {
		opts.Seed = smallSeed
	}
	if !opts.Unlimited && opts.RateLimit.MaximumAvailable == 0 {
		opts.Unlimited = true
	}
	sb := NewSandbox(opts)
	return &env{sb: sb, srv: connectortest.Serve(t, sb)}
}

// connector builds a connector for the sandbox with test-speed retry and polling delays.
func (e *env) connector(t testing.TB, token string) *Connector {
	t.Helper()
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{ShopDomain: e.sb.ShopDomain(), Endpoint: e.srv.URL},
		Credentials: map[string][]byte{CredentialAccessToken: []byte(token)},
		HTTPClient:  e.srv.Client(),
		Log:         logr.Discard(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.RetryBaseDelay = time.Millisecond
	c.MaxRetryDelay = 10 * time.Millisecond
	c.BulkPollInterval = 2 * time.Millisecond
	c.BulkMaxPollInterval = 10 * time.Millisecond
	return c
}
