package bigcommerce

import (
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

// newEnv serves a sandbox of 300 orders, 40 products and 3 locations, without a rate limit unless opts set
// one.
func newEnv(t testing.TB, opts SandboxOptions) *env {
	t.Helper()
	if opts.Orders == 0 {
		opts.Seed, opts.Orders, opts.Products, opts.Locations = 7, 300, 40, 3
	}
	if opts.RateLimit.Quota == 0 {
		opts.Unlimited = true
	}
	opts.RecordRequests = true
	sb := NewSandbox(opts)
	return &env{sb: sb, srv: connectortest.Serve(t, sb)}
}

// connector builds a connector for the sandbox with test-speed retries.
func (e *env) connector(t testing.TB, token string) *Connector {
	t.Helper()
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{StoreHash: e.sb.StoreHash(), Endpoint: e.srv.URL},
		Credentials: map[string][]byte{CredentialAccessToken: []byte(token)},
		HTTPClient:  e.srv.Client(),
		Log:         logr.Discard(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.SetRetryDelays(time.Millisecond, 20*time.Millisecond)
	return c
}

// newClock is a settable sandbox clock at the current second.
func newClock() *connectortest.Clock {
	return connectortest.NewClock(time.Now().UTC().Truncate(time.Second))
}

// readTimeout bounds each Read of these tests.
const readTimeout = 2 * time.Minute

// read runs a Read; crashAfter > 0 makes the emit function fail after that many pages, like a process dying
// after a commit. onPage, when set, runs after each page is taken.
func read(t testing.TB, c *Connector, req connectors.ReadRequest, crashAfter int, onPage func(n int)) (connectortest.Result, error) {
	t.Helper()
	o := connectortest.ReadOptions{CrashAfter: crashAfter, Timeout: readTimeout}
	if onPage != nil {
		o.OnPage = func(n int, _ connectors.Page) { onPage(n) }
	}
	return connectortest.ReadWith(t, c, req, o)
}

func mustRead(t testing.TB, c *Connector, req connectors.ReadRequest) connectortest.Result {
	t.Helper()
	return connectortest.MustReadWith(t, c, req, connectortest.ReadOptions{Timeout: readTimeout})
}

// duplicates lists the IDs emitted more than once.
func duplicates(records []connectors.Record) []string {
	seen := map[string]int{}
	var dups []string
	for _, r := range records {
		seen[r.ID]++
		if seen[r.ID] == 2 {
			dups = append(dups, r.ID)
		}
	}
	return dups
}
