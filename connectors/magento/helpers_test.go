package magento

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
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
	return &env{sb: sb, srv: connectortest.Serve(t, sb)}
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

var errCrash = connectortest.ErrCrash

// readResult is what a Read emitted (a connectortest.Result) under the names this package's tests use.
type readResult struct {
	pages   []connectors.Page
	records []connectors.Record
	byID    map[string]connectors.Record
}

func asReadResult(r connectortest.Result) readResult { return readResult{r.Pages, r.Records, r.ByID} }

// read runs a Read; crashAfter > 0 makes emit fail after that many pages, like a process dying after a commit.
func read(t testing.TB, c *Connector, req connectors.ReadRequest, crashAfter int) (readResult, error) {
	t.Helper()
	res, err := connectortest.Read(t, c, req, crashAfter)
	return asReadResult(res), err
}

func mustRead(t testing.TB, c *Connector, req connectors.ReadRequest) readResult {
	t.Helper()
	return asReadResult(connectortest.ReadAll(t, c, req))
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
