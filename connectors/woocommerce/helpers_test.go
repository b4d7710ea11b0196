package woocommerce

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

// smallStore needs several pages of orders at small page sizes, has simple and variable products with every
// stock mode, and keeps the tests fast.
var smallStore = SandboxOptions{Seed: 7, Orders: 300, Products: 40, Locations: 3}

type env struct {
	sb  *Sandbox
	srv *httptest.Server
}

func newEnv(t testing.TB, opts SandboxOptions) *env {
	t.Helper()
	if opts.Orders == 0 {
		o := smallStore
		o.RateLimit, o.Burst, o.RecordRequests, o.Now = opts.RateLimit, opts.Burst, opts.RecordRequests, opts.Now
		opts = o
	}
	sb := NewSandbox(opts)
	return &env{sb: sb, srv: connectortest.Serve(t, sb)}
}

// newTLSEnv serves the sandbox over HTTPS, where WooCommerce takes HTTP Basic auth.
func newTLSEnv(t testing.TB) *env {
	t.Helper()
	sb := NewSandbox(smallStore)
	return &env{sb: sb, srv: connectortest.ServeTLS(t, sb)}
}

func (e *env) connectorWith(t testing.TB, key, secret string) *Connector {
	t.Helper()
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{StoreURL: e.sb.StoreURL(), Endpoint: e.srv.URL},
		Credentials: map[string][]byte{CredentialConsumerKey: []byte(key), CredentialConsumerSecret: []byte(secret)},
		HTTPClient:  e.srv.Client(),
		Log:         logr.Discard(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.SetRetryBackoff(time.Millisecond, 20*time.Millisecond)
	return c
}

// connector builds a connector with the sandbox's key and test-speed retries.
func (e *env) connector(t testing.TB) *Connector {
	return e.connectorWith(t, e.sb.ConsumerKey(), e.sb.ConsumerSecret())
}

// signedGet sends a GET to the sandbox signed with the sandbox's key, for probing the sandbox itself.
func (e *env) signedGet(t testing.TB, path string, q url.Values, at time.Time) (*http.Response, []byte) {
	t.Helper()
	u, _ := url.Parse(e.srv.URL + APIPath + path)
	u.RawQuery = q.Encode()
	signURL(http.MethodGet, u, e.sb.ConsumerKey(), e.sb.ConsumerSecret(), at)
	return e.rawGet(t, u.String(), nil)
}

func (e *env) rawGet(t testing.TB, u string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	return resp, body
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

func maxUpdated(res readResult) time.Time { return connectortest.MaxUpdated(res.records) }
