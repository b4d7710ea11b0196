package walmart

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
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
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv}
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

var errCrash = errors.New("simulated crash")

// readResult is everything a Read emitted.
type readResult struct {
	pages   []connectors.Page
	records []connectors.Record
	byID    map[string]connectors.Record
}

// read runs a Read; crashAfter > 0 makes emit fail after that many pages, like a process dying after a
// commit.
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
