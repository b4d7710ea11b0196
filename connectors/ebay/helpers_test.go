package ebay

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

// smallSeed needs several pages of orders and inventory items at small page sizes and keeps tests fast.
var smallSeed = SandboxOptions{Seed: 7, Orders: 400, Products: 40, Locations: 3}

type env struct {
	sb  *Sandbox
	srv *httptest.Server
}

// newEnv serves a sandbox; unless the options set a rate limit, it is unlimited.
func newEnv(t testing.TB, opts SandboxOptions) *env {
	t.Helper()
	if opts.Orders == 0 {
		opts.Seed, opts.Orders, opts.Products, opts.Locations = smallSeed.Seed, smallSeed.Orders, smallSeed.Products, smallSeed.Locations
	}
	if opts.RateLimit.PerSecond == 0 {
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
func (e *env) connector(t testing.TB, creds map[string][]byte) *Connector {
	t.Helper()
	if creds == nil {
		creds = e.credentials()
	}
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{Endpoint: e.srv.URL},
		Credentials: creds,
		HTTPClient:  e.srv.Client(),
		Log:         logr.Discard(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.client.BaseBackoff, c.client.MaxBackoff = time.Millisecond, 20*time.Millisecond
	return c
}

// pagedConnector uses small pages so that every entity spans several.
func pagedConnector(t testing.TB, e *env) *Connector {
	c := e.connector(t, nil)
	c.PageSizes = PageSizes{Orders: 37, InventoryItems: 9, Locations: 1}
	return c
}

var errCrash = connectortest.ErrCrash

// readResult is what a Read emitted (a connectortest.Result) under the names this package's tests use.
type readResult struct {
	pages   []connectors.Page
	records []connectors.Record
	byID    map[string]connectors.Record
}

func asReadResult(r connectortest.Result) readResult { return readResult{r.Pages, r.Records, r.ByID} }

// read runs a Read; crashAfter > 0 makes the emit function fail after storing that many pages, like a
// process dying after a commit. onPage, when set, runs after each stored page.
func read(t testing.TB, c *Connector, req connectors.ReadRequest, crashAfter int, onPage ...func(connectors.Page)) (readResult, error) {
	t.Helper()
	res, err := connectortest.ReadWith(t, c, req, connectortest.ReadOptions{CrashAfter: crashAfter, OnPage: func(_ int, p connectors.Page) {
		for _, f := range onPage {
			f(p)
		}
	}})
	return asReadResult(res), err
}

func mustRead(t testing.TB, c *Connector, req connectors.ReadRequest) readResult {
	t.Helper()
	return asReadResult(connectortest.ReadAll(t, c, req))
}

func lastResume(res readResult) string { return res.pages[len(res.pages)-1].Resume }

func maxUpdated(res readResult) time.Time { return connectortest.MaxUpdated(res.records) }
