package kit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tether/integration-operator/connectors"
)

func fastClient(srv *httptest.Server) *Client {
	return &Client{HTTP: srv.Client(), Platform: "test", BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func get(url string) func(ctx context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	}
}

func TestTransientFailuresAreRetriedUntilTheyPass(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			_, _ = w.Write([]byte(`{"ok":true}`))
		}
	}))
	defer srv.Close()
	c := fastClient(srv)
	var out struct{ OK bool }
	if _, err := c.GetJSON(context.Background(), srv.URL, nil, &out); err != nil || !out.OK {
		t.Fatalf("GetJSON = %v, %+v", err, out)
	}
	if s := c.Stats(); s.Requests != 3 || s.Retries != 2 || s.RateLimited != 1 {
		t.Fatalf("stats = %+v, want 3 requests, 2 retries, 1 rate limited", s)
	}
}

func TestStatusCodesAreClassified(t *testing.T) {
	tests := []struct {
		status int
		want   connectors.Class
	}{{401, connectors.ClassAuth}, {403, connectors.ClassAuth}, {404, connectors.ClassTerminal}, {422, connectors.ClassTerminal},
		{429, connectors.ClassTransient}, {502, connectors.ClassTransient}}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) }))
		c := fastClient(srv)
		c.MaxRetries = 1
		_, err := c.Do(context.Background(), get(srv.URL))
		srv.Close()
		if class, _ := connectors.Classify(err); err == nil || class != tt.want {
			t.Errorf("HTTP %d: error %v classified %v, want %v", tt.status, err, class, tt.want)
		}
	}
}

func TestNetworkErrorsDoNotLeakTheQueryString(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: every attempt is refused
	c := &Client{HTTP: &http.Client{}, Platform: "test", MaxRetries: 1, BaseBackoff: time.Millisecond}
	_, err = c.Do(context.Background(), get("http://"+addr+"/orders?consumer_secret=cs_supersecret&oauth_signature=sig"))
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "cs_supersecret") || strings.Contains(err.Error(), "oauth_signature") {
		t.Fatalf("the error leaks the query string: %v", err)
	}
	if class, _ := connectors.Classify(err); class != connectors.ClassTransient {
		t.Fatalf("a refused connection is %v, want transient", class)
	}
}

func TestCancelledContextStopsRetrying(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer srv.Close()
	c := fastClient(srv)
	c.BaseBackoff, c.MaxBackoff = time.Hour, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := c.Do(ctx, get(srv.URL)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
