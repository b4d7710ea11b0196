package bigcommerce

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// clock is a settable time source for sandboxes, so a test can move "now" past the seeded data.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

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
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv}
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

var errCrash = errors.New("simulated crash")

// readResult is everything a Read emitted.
type readResult struct {
	pages   []connectors.Page
	records []connectors.Record
	byID    map[string]connectors.Record
}

func (r readResult) lastResume() string { return r.pages[len(r.pages)-1].Resume }

// read runs a Read; crashAfter > 0 makes the emit function fail after that many pages, like a process dying
// after a commit. onPage, when set, runs after each page is taken.
func read(t testing.TB, c *Connector, req connectors.ReadRequest, crashAfter int, onPage func(n int)) (readResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := readResult{byID: map[string]connectors.Record{}}
	err := c.Read(ctx, req, func(_ context.Context, p connectors.Page) error {
		res.pages = append(res.pages, p)
		res.records = append(res.records, p.Records...)
		for _, r := range p.Records {
			res.byID[r.ID] = r
		}
		if onPage != nil {
			onPage(len(res.pages))
		}
		if crashAfter > 0 && len(res.pages) >= crashAfter {
			return errCrash
		}
		return nil
	})
	return res, err
}

func mustRead(t testing.TB, c *Connector, req connectors.ReadRequest) readResult {
	t.Helper()
	res, err := read(t, c, req, 0, nil)
	if err != nil {
		t.Fatalf("Read %s: %v", req.Entity, err)
	}
	return res
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
