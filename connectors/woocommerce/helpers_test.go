package woocommerce

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
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
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv}
}

// newTLSEnv serves the sandbox over HTTPS, where WooCommerce takes HTTP Basic auth.
func newTLSEnv(t testing.TB) *env {
	t.Helper()
	sb := NewSandbox(smallStore)
	srv := httptest.NewTLSServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv}
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

var errCrash = errors.New("simulated crash")

// readResult is everything a Read emitted.
type readResult struct {
	pages   []connectors.Page
	records []connectors.Record
	byID    map[string]connectors.Record
}

// read runs a Read; crashAfter > 0 makes emit fail after that many pages, like a process dying after a commit.
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

func maxUpdated(res readResult) time.Time {
	var m time.Time
	for _, r := range res.records {
		if r.UpdatedAt.After(m) {
			m = r.UpdatedAt
		}
	}
	return m
}
