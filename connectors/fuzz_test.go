package connectors_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	_ "github.com/tether/integration-operator/connectors/all"
)

// fuzzTarget is one platform's sandbox on loopback, built once per fuzz run.
type fuzzTarget struct {
	platform connectors.Platform
	sb       connectors.Sandbox
	srv      *httptest.Server
}

func fuzzTargets(t testing.TB) []fuzzTarget {
	var out []fuzzTarget
	for _, p := range connectors.Platforms() {
		sb := p.NewSandbox(connectors.SandboxOptions{Seed: 5, Orders: 30, Products: 8, Locations: 2, Unlimited: true, Fast: true})
		srv := httptest.NewServer(sb)
		t.Cleanup(srv.Close)
		out = append(out, fuzzTarget{platform: p, sb: sb, srv: srv})
	}
	return out
}

func newConnector(t testing.TB, ft fuzzTarget, url string) connectors.Connector {
	c, err := ft.platform.New(connectors.Config{Connection: ft.sb.Connection(url), Credentials: ft.sb.Credentials(),
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzResumeTokens hands every connector arbitrary resume state, as a corrupted or foreign checkpoint would:
// a read may fail or start over, but must not panic or hang.
func FuzzResumeTokens(f *testing.F) {
	for _, seed := range []string{"", "{}", `{"since":"2024-01-01T00:00:00Z"}`, `{"page":-1}`, `{"bulk":"gid://shopify/BulkOperation/9"}`,
		"bnVsbA==", `{"offset":1e308}`, `{"cursor":"\u0000"}`, strings.Repeat("[", 1000)} {
		for i := 0; i < 8; i++ {
			f.Add(uint8(i), uint8(i%4), seed)
		}
	}
	targets := fuzzTargets(f)
	entities := []v1alpha1.DataType{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory}
	f.Fuzz(func(t *testing.T, which, entity uint8, resume string) {
		ft := targets[int(which)%len(targets)]
		c := newConnector(t, ft, ft.srv.URL)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req := connectors.ReadRequest{Entity: entities[int(entity)%len(entities)], Resume: resume,
			Since: time.Now().Add(-24 * time.Hour)}
		_ = c.Read(ctx, req, func(context.Context, connectors.Page) error { return nil })
		if ctx.Err() != nil {
			t.Fatalf("%s: a read with resume %q did not end in 20s", ft.platform.Name, resume)
		}
	})
}

// FuzzWireResponses replaces one answer in a connector's conversation with its platform by arbitrary bytes: the
// wire parsers must fail cleanly (an error, classified) rather than panic or loop.
func FuzzWireResponses(f *testing.F) {
	for _, seed := range [][]byte{nil, []byte("{}"), []byte("[]"), []byte("null"), []byte(`{"data":null}`),
		[]byte(`{"orders":[{"id":null}]}`), []byte(`{"items":[{}],"total_count":-5}`), []byte("\xff\xfe"), []byte(`{"errors":[{}]}`)} {
		for i := 0; i < 8; i++ {
			f.Add(uint8(i), uint8(i+1), uint16(200), seed)
		}
	}
	targets := fuzzTargets(f)
	f.Fuzz(func(t *testing.T, which, at uint8, status uint16, body []byte) {
		ft := targets[int(which)%len(targets)]
		var n atomic.Int64
		target := int64(at%12) + 1
		code := 200 + int(status)%400
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == target {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				_, _ = w.Write(body)
				return
			}
			ft.sb.ServeHTTP(w, r)
		}))
		defer srv.Close()
		c := newConnector(t, ft, srv.URL)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, e := range []v1alpha1.DataType{v1alpha1.DataOrders, v1alpha1.DataInventory} {
			err := c.Read(ctx, connectors.ReadRequest{Entity: e}, func(context.Context, connectors.Page) error { return nil })
			if ctx.Err() != nil {
				t.Fatalf("%s: a read with answer %d replaced did not end in 30s", ft.platform.Name, target)
			}
			if err != nil {
				connectors.Classify(err)
			}
		}
	})
}

// FuzzSandboxRequests sends arbitrary requests to every sandbox: their request parsers and signature checks
// must answer (an error status is fine) and never panic.
func FuzzSandboxRequests(f *testing.F) {
	f.Add(uint8(0), "GET", "/admin/api/2025-01/graphql.json", "", "X-Shopify-Access-Token", "x", []byte(`{"query":"{ shop { name } }"}`))
	f.Add(uint8(1), "GET", "/wp-json/wc/v3/orders", "oauth_consumer_key=ck&oauth_signature=%ZZ&page=-1", "Authorization", "Basic Og==", []byte(nil))
	f.Add(uint8(2), "GET", "/stores/tether01/v2/orders", "min_date_modified=garbage&limit=99999", "X-Auth-Token", "t", []byte(nil))
	f.Add(uint8(3), "GET", "/rest/default/V1/orders", "searchCriteria[filterGroups][0][filters][0][field]=updated_at", "Authorization", `OAuth oauth_signature="%"`, []byte(nil))
	f.Add(uint8(4), "POST", "/auth/o2/token", "", "Content-Type", "application/x-www-form-urlencoded", []byte("grant_type=refresh_token&refresh_token="))
	f.Add(uint8(5), "GET", "/sell/fulfillment/v1/order", "filter=lastmodifieddate:[..]&limit=0", "Authorization", "Bearer ", []byte(nil))
	f.Add(uint8(6), "GET", "/v3/orders", "nextCursor=%3F%3F&limit=-3", "WM_SEC.ACCESS_TOKEN", "", []byte(nil))
	f.Add(uint8(7), "GET", "/v3/application/shops/1/receipts", "min_last_modified=-1&offset=99999999999", "x-api-key", ":", []byte(nil))
	targets := fuzzTargets(f)
	f.Fuzz(func(t *testing.T, which uint8, method, path, rawQuery, header, value string, body []byte) {
		ft := targets[int(which)%len(targets)]
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r, err := http.NewRequest(method, "http://sandbox.test"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		r.URL.RawQuery = rawQuery
		if header != "" && !strings.ContainsAny(header, ":\r\n ") {
			r.Header.Set(header, value)
		}
		w := httptest.NewRecorder()
		func() {
			defer func() {
				if p := recover(); p != nil && p != http.ErrAbortHandler {
					t.Fatalf("%s sandbox panicked on %s %s?%s: %v", ft.platform.Name, method, path, rawQuery, p)
				}
			}()
			ft.sb.ServeHTTP(w, r)
		}()
	})
}
