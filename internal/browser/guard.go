package browser

import (
	"net"
	"net/http"
	"sort"
	"sync"
	"time"
)

// guard is the browser's proxy. Chromium sends every request for a host outside loopback to its proxy (it
// never proxies loopback: localhost, 127.0.0.0/8 and [::1] go direct), so the guard sees whatever the browser
// tries to fetch from the outside, on its own or for a page, refuses it, and records it.
type guard struct {
	addr string
	srv  *http.Server
	ln   net.Listener

	mu       sync.Mutex
	requests map[string]bool // proxied: for a host outside loopback
	direct   map[string]bool // sent to the guard itself by the flags that point a service at it
}

func startGuard() (*guard, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &guard{addr: ln.Addr().String(), ln: ln, requests: map[string]bool{}, direct: map[string]bool{}}
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = g.srv.Serve(ln) }()
	return g, nil
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	switch {
	case r.Method == http.MethodConnect: // host:port, for HTTPS and WebSocket over TLS
		g.requests[r.Method+" "+r.Host] = true
	case r.URL.Host != "": // a proxied request has an absolute URL
		g.requests[r.Method+" "+r.URL.Host+r.URL.Path] = true // never the query
	default:
		g.direct[r.Method+" "+r.URL.Path] = true
	}
	g.mu.Unlock()
	w.Header().Set("Connection", "close")
	http.Error(w, "blocked by the test browser's guard: no request may leave loopback", http.StatusForbidden)
}

func (g *guard) seen() []string { return g.list(g.requests) }

func (g *guard) seenDirect() []string { return g.list(g.direct) }

func (g *guard) list(m map[string]bool) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

func (g *guard) close() { _ = g.srv.Close() }
