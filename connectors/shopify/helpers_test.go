package shopify

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
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
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv}
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

var errCrash = errors.New("simulated crash")

// readResult is everything a Read emitted.
type readResult struct {
	pages   []connectors.Page
	records []connectors.Record
	byID    map[string]connectors.Record
}

// read runs a Read; crashAfter > 0 makes the emit function fail after storing that many pages, like a
// process dying after a commit.
func read(t testing.TB, c *Connector, req connectors.ReadRequest, crashAfter int) (readResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res := readResult{byID: map[string]connectors.Record{}}
	err := c.Read(ctx, req, func(_ context.Context, p connectors.Page) error {
		res.pages = append(res.pages, p)
		res.records = append(res.records, p.Records...)
		for _, r := range p.Records {
			res.byID[r.ID] = r
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
	res, err := read(t, c, req, 0)
	if err != nil {
		t.Fatalf("Read %s: %v", req.Entity, err)
	}
	return res
}

func lastResume(res readResult) string {
	return res.pages[len(res.pages)-1].Resume
}
