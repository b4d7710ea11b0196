package magento

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

// smallStore needs several pages of everything and has configurable products, and keeps the tests fast.
var smallStore = SandboxOptions{Seed: 7, Orders: 300, Products: 40, Locations: 3, Unlimited: true}

type env struct {
	sb  *Sandbox
	srv *httptest.Server
}

// newEnv serves a sandbox over smallStore, changed by tweak when given.
func newEnv(t testing.TB, tweak func(*SandboxOptions)) *env {
	t.Helper()
	opts := smallStore
	if tweak != nil {
		tweak(&opts)
	}
	sb := NewSandbox(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv}
}

// bearerCredentials and oauthCredentials are Secret data for the sandbox.
func (e *env) bearerCredentials() map[string][]byte {
	return map[string][]byte{CredentialAccessToken: []byte(e.sb.AccessToken())}
}

func (e *env) oauthCredentials() map[string][]byte {
	return map[string][]byte{
		CredentialAccessToken:       []byte(e.sb.AccessToken()),
		CredentialConsumerKey:       []byte(e.sb.ConsumerKey()),
		CredentialConsumerSecret:    []byte(e.sb.ConsumerSecret()),
		CredentialAccessTokenSecret: []byte(e.sb.AccessTokenSecret()),
	}
}

// connector builds a connector for the sandbox with test-speed retry delays.
func (e *env) connector(t testing.TB, creds map[string][]byte) *Connector {
	t.Helper()
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{StoreURL: "https://shop.example.com", Endpoint: e.srv.URL},
		Credentials: creds,
		HTTPClient:  e.srv.Client(),
		Log:         logr.Discard(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.client.BaseBackoff = time.Millisecond
	c.client.MaxBackoff = 10 * time.Millisecond
	return c
}

// small makes pages small, so every read spans many pages.
func small(c *Connector) *Connector {
	c.PageSizes = PageSizes{Orders: 23, Products: 9, Sources: 2, SourceItems: 17, Lookups: 11}
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

func num(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return -1
}
