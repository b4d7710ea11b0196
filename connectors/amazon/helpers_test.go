package amazon

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
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv}
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

var errCrash = errors.New("simulated crash")

type readResult struct {
	pages   []connectors.Page
	records []connectors.Record
	byID    map[string]connectors.Record
}

// read runs a Read; crashAfter > 0 makes emit fail after that many pages.
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

var longAgo = time.Now().Add(-5 * 365 * 24 * time.Hour)
