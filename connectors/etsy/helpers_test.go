package etsy

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// smallShop needs several receipt and listing pages and stays fast.
var smallShop = SandboxOptions{Seed: 7, Orders: 400, Products: 40, Locations: 3}

type env struct {
	sb  *Sandbox
	srv *httptest.Server
}

// newEnv serves a sandbox; without a quota in opts the quota is off.
func newEnv(t testing.TB, opts SandboxOptions) *env {
	t.Helper()
	if opts.Orders == 0 {
		o := smallShop
		o.PerSecond, o.PerDay, o.Unlimited, o.RecordRequests, o.Now = opts.PerSecond, opts.PerDay, opts.Unlimited, opts.RecordRequests, opts.Now
		opts = o
	}
	if opts.PerSecond == 0 && opts.PerDay == 0 {
		opts.Unlimited = true
	}
	sb := NewSandbox(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv}
}

// credentials are the sandbox's current Secret data.
func (e *env) credentials() map[string][]byte {
	return map[string][]byte{
		CredentialKeystring:    []byte(e.sb.Keystring()),
		CredentialSharedSecret: []byte(e.sb.SharedSecret()),
		CredentialRefreshToken: []byte(e.sb.RefreshToken()),
	}
}

// connector builds a connector for the sandbox with test-speed retries.
func (e *env) connector(t testing.TB, creds map[string][]byte) *Connector {
	t.Helper()
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{Endpoint: e.srv.URL},
		Credentials: creds,
		HTTPClient:  e.srv.Client(),
		Log:         logr.Discard(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.SetRetryBackoff(time.Millisecond, 10*time.Millisecond, 5)
	return c
}

var errCrash = errors.New("simulated crash")

type readResult struct {
	pages   []connectors.Page
	records []connectors.Record
	byID    map[string]connectors.Record
}

// read runs a Read; crashAfter > 0 fails the emit after that many pages, like a process dying after a commit.
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

func lastResume(res readResult) string { return res.pages[len(res.pages)-1].Resume }

func maxUpdated(res readResult) time.Time {
	var m time.Time
	for _, r := range res.records {
		if r.UpdatedAt.After(m) {
			m = r.UpdatedAt
		}
	}
	return m
}

func id(n int64) string { return strconv.FormatInt(n, 10) }
