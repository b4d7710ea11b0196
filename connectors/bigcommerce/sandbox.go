package bigcommerce

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

const (
	// DefaultSandboxToken is the access token a Sandbox accepts when SandboxOptions.AccessToken is empty.
	DefaultSandboxToken = "sandbox0token0bigcommerce0000000"
	// DefaultSandboxStoreHash is the store hash a Sandbox serves when SandboxOptions.StoreHash is empty.
	DefaultSandboxStoreHash = "tether01"

	problemType = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
)

// RateLimit is a BigCommerce plan's request quota: Quota requests per store in each fixed Window.
type RateLimit struct {
	Quota  int
	Window time.Duration
}

// The quotas BigCommerce documents per plan (Enterprise quotas are set per contract).
var (
	PlanStandard = RateLimit{Quota: 150, Window: 30 * time.Second} // Standard and Plus: 20k/hour
	PlanPro      = RateLimit{Quota: 450, Window: 30 * time.Second} // Pro: 60k/hour
)

// SandboxOptions configures a Sandbox. The zero value is a Standard-plan store seeded from seed 0.
type SandboxOptions struct {
	// StoreHash is the store served under /stores/{hash}/ (default DefaultSandboxStoreHash).
	StoreHash string
	// AccessToken is the X-Auth-Token the sandbox accepts (default DefaultSandboxToken).
	AccessToken string
	// Seed, Orders, Products and Locations size the store; zero takes sandboxkit's defaults.
	Seed                        uint64
	Orders, Products, Locations int
	// RateLimit is the store's quota (default PlanStandard); Unlimited turns it off, and the rate-limit
	// headers with it.
	RateLimit RateLimit
	Unlimited bool
	// OtherApps spends this many requests per second of the same quota, as the other apps installed on the
	// store do: BigCommerce's quota is per store, not per app.
	OtherApps float64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RecordRequests keeps every request for Log.
	RecordRequests bool
}

// RequestLog is one recorded request and the status it got.
type RequestLog struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Status int
	Body   []byte
}

// Sandbox simulates one BigCommerce store's REST Management API over a sandboxkit catalog: GET /v2/store,
// /v2/orders, /v2/orders/count and /v2/orders/{id}/products in v2's wire format (bare arrays, RFC 2822 dates,
// money as strings with four decimals, 204 No Content for an empty list), and /v3/catalog/products,
// /v3/inventory/locations and /v3/inventory/items in v3's ({data, meta.pagination}, ISO 8601 dates). It
// enforces the X-Auth-Token, page-size maxima, the modification filters with their date formats and
// quirks, and the store's request quota with its headers and 429s. It is an http.Handler: serve it with
// httptest.NewServer and point Connection.Endpoint at it.
type Sandbox struct {
	opts    SandboxOptions
	handler http.Handler
	faults  sandboxkit.Faults

	mu       sync.Mutex
	cat      *sandboxkit.Catalog
	products map[int64]*sandboxkit.Product
	orders   map[int64]*sandboxkit.Order // by BigCommerce order ID (the order number)

	windowStart time.Time
	used        int
	otherAt     time.Time
	otherFrac   float64
	throttled   int64
	log         []RequestLog

	// auth is the app's authorization server (install page, token endpoint); authCallback is the app's
	// registered Auth Callback URL.
	auth         *sandboxkit.AuthServer
	authCallback string
}

// NewSandbox builds a sandbox seeded from opts.
func NewSandbox(opts SandboxOptions) *Sandbox {
	if opts.StoreHash == "" {
		opts.StoreHash = DefaultSandboxStoreHash
	}
	if opts.AccessToken == "" {
		opts.AccessToken = DefaultSandboxToken
	}
	if opts.RateLimit.Quota <= 0 || opts.RateLimit.Window <= 0 {
		opts.RateLimit = PlanStandard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sandbox{opts: opts}
	s.auth = newSandboxAuth(s)
	s.cat = sandboxkit.Generate(sandboxkit.Options{Seed: opts.Seed, Orders: opts.Orders, Products: opts.Products,
		Locations: opts.Locations, End: opts.Now().UTC().Truncate(time.Second)})
	s.products = map[int64]*sandboxkit.Product{}
	for i := range s.cat.Products {
		s.products[s.cat.Products[i].ID] = &s.cat.Products[i]
	}
	s.orders = map[int64]*sandboxkit.Order{}
	for i := range s.cat.Orders {
		s.orders[int64(s.cat.Orders[i].Number)] = &s.cat.Orders[i]
	}
	s.handler = s.faults.Wrap(http.HandlerFunc(s.serve), s.faultBody)
	return s
}

// StoreHash is the store hash the sandbox serves.
func (s *Sandbox) StoreHash() string { return s.opts.StoreHash }

// AccessToken is the token the sandbox accepts.
func (s *Sandbox) AccessToken() string { return s.opts.AccessToken }

// Catalog is the sandbox's data. Callers must not change it while the sandbox serves requests.
func (s *Sandbox) Catalog() *sandboxkit.Catalog { return s.cat }

func (s *Sandbox) now() time.Time { return s.opts.Now().UTC() }

// TouchOrder records a change to the order with that BigCommerce ID, moving its date_modified to now.
func (s *Sandbox) TouchOrder(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if ok {
		o.UpdatedAt = s.now().Truncate(time.Second)
	}
	return ok
}

// TouchOrders changes the n orders with the lowest IDs, moving their date_modified to now.
func (s *Sandbox) TouchOrders(n int) {
	for _, id := range s.OrderIDs()[:min(n, len(s.cat.Orders))] {
		s.TouchOrder(id)
	}
}

// TouchProduct records a change to a product (a price or name edit), moving its date_modified to now.
func (s *Sandbox) TouchProduct(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[id]
	if ok {
		p.UpdatedAt = s.now().Truncate(time.Second)
	}
	return ok
}

// OrderIDs lists the BigCommerce IDs of every order, ascending.
func (s *Sandbox) OrderIDs() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, len(s.orders))
	for id := range s.orders {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// FailNext makes the next n requests fail with the HTTP status, in BigCommerce's error shape.
func (s *Sandbox) FailNext(n, status int) { s.faults.FailNext(n, status) }

// ResetNext makes the next n requests drop their connection without an answer.
func (s *Sandbox) ResetNext(n int) { s.faults.ResetNext(n) }

// Requests is the number of HTTP requests received, rejected ones included.
func (s *Sandbox) Requests() int64 { return s.faults.Requests() }

// Throttled is the number of requests answered 429 because the quota was spent.
func (s *Sandbox) Throttled() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// SpendQuota spends n requests of the current window, as another app on the store would.
func (s *Sandbox) SpendQuota(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceWindow(s.now())
	s.used = min(s.opts.RateLimit.Quota, s.used+n)
}

// Log returns the recorded requests (SandboxOptions.RecordRequests).
func (s *Sandbox) Log() []RequestLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestLog(nil), s.log...)
}

// ServeHTTP serves the API.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// faultBody answers an injected failure the way BigCommerce's gateway does, with v3's problem shape; an
// injected 429 carries the rate-limit headers of an exhausted window that resets in a tenth of a second.
func (s *Sandbox) faultBody(w http.ResponseWriter, status int) {
	if status == http.StatusTooManyRequests {
		w.Header().Set(headerRequestsLeft, "0")
		w.Header().Set(headerRequestsQuota, strconv.Itoa(s.opts.RateLimit.Quota))
		w.Header().Set(headerTimeResetMs, "100")
		w.Header().Set(headerTimeWindowMs, strconv.FormatInt(s.opts.RateLimit.Window.Milliseconds(), 10))
	}
	writeProblem(w, status, http.StatusText(status))
}

// ---- errors ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeProblem writes v3's error shape: {"status":401,"title":"...","type":"..."}.
func writeProblem(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", "application/problem+json")
	body, _ := json.Marshal(map[string]any{"status": status, "title": title, "type": problemType, "errors": map[string]any{}})
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeV2Error writes v2's error shape: [{"status":401,"message":"..."}].
func writeV2Error(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, []map[string]any{{"status": status, "message": message}})
}

func writeError(w http.ResponseWriter, v2 bool, status int, message string) {
	if v2 {
		writeV2Error(w, status, message)
		return
	}
	writeProblem(w, status, message)
}

// ---- rate limit ----

// advanceWindow opens a new window when the last one is over and charges the other apps' requests.
func (s *Sandbox) advanceWindow(now time.Time) {
	rl := s.opts.RateLimit
	if s.windowStart.IsZero() || !now.Before(s.windowStart.Add(rl.Window)) {
		s.windowStart, s.used, s.otherAt, s.otherFrac = now, 0, now, 0
	}
	if s.opts.OtherApps > 0 {
		s.otherFrac += now.Sub(s.otherAt).Seconds() * s.opts.OtherApps
		s.otherAt = now
		n := int(s.otherFrac)
		s.otherFrac -= float64(n)
		s.used = min(rl.Quota, s.used+n)
	}
}

// take charges one request to the window. It sets the rate-limit headers either way and reports whether
// the request may proceed.
func (s *Sandbox) take(w http.ResponseWriter) bool {
	if s.opts.Unlimited {
		return true
	}
	s.mu.Lock()
	now := s.now()
	s.advanceWindow(now)
	rl := s.opts.RateLimit
	ok := s.used < rl.Quota
	if ok {
		s.used++
	} else {
		s.throttled++
	}
	left := rl.Quota - s.used
	reset := s.windowStart.Add(rl.Window).Sub(now)
	s.mu.Unlock()
	h := w.Header()
	h.Set(headerRequestsLeft, strconv.Itoa(left))
	h.Set(headerRequestsQuota, strconv.Itoa(rl.Quota))
	h.Set(headerTimeResetMs, strconv.FormatInt(max(reset.Milliseconds(), 1), 10))
	h.Set(headerTimeWindowMs, strconv.FormatInt(rl.Window.Milliseconds(), 10))
	return ok
}

// ---- routing ----

type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) {
	if s.opts.RecordRequests {
		rec := &recorder{ResponseWriter: w}
		defer func() {
			s.mu.Lock()
			s.log = append(s.log, RequestLog{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
				Header: r.Header.Clone(), Status: rec.status, Body: rec.body.Bytes()})
			s.mu.Unlock()
		}()
		w = rec
	}
	if app, ok := strings.CutPrefix(r.URL.Path, "/app/"); ok {
		if id, ok := strings.CutSuffix(app, "/install"); ok && !strings.Contains(id, "/") &&
			(r.Method == http.MethodGet || r.Method == http.MethodPost) {
			s.serveInstall(w, r, id)
			return
		}
	}
	if r.URL.Path == "/oauth2/token" && r.Method == http.MethodPost {
		s.serveToken(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/stores/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	hash, route, _ := strings.Cut(rest, "/")
	v2 := strings.HasPrefix(route, "v2/")
	// The token belongs to one store: any other hash, or no token, is unauthorised.
	if !s.tokenAccepted(r.Header.Get("X-Auth-Token")) || hash != s.opts.StoreHash {
		writeError(w, v2, http.StatusUnauthorized, "You are not authorized to access this store. Check your X-Auth-Token and store hash.")
		return
	}
	if !s.take(w) {
		writeError(w, v2, http.StatusTooManyRequests, "The request quota for this store is exhausted. Wait for X-Rate-Limit-Time-Reset-Ms.")
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, v2, http.StatusMethodNotAllowed, "The sandbox serves GET requests only.")
		return
	}
	q := r.URL.Query()
	parts := strings.Split(strings.Trim(route, "/"), "/")
	switch {
	case route == "v2/store":
		s.serveStore(w)
	case route == "v2/orders":
		s.serveOrders(w, q)
	case route == "v2/orders/count":
		s.serveOrderCount(w, q)
	case len(parts) == 4 && parts[0] == "v2" && parts[1] == "orders" && parts[3] == "products":
		s.serveOrderProducts(w, parts[2], q)
	case route == "v3/catalog/products":
		s.serveProducts(w, q)
	case route == "v3/inventory/locations":
		s.serveLocations(w, q)
	case route == "v3/inventory/items":
		s.serveInventory(w, q)
	default:
		writeError(w, v2, http.StatusNotFound, "The requested resource was not found.")
	}
}

// pageParams reads page (default 1) and limit (default def, larger values cut to max, as BigCommerce does).
func pageParams(q url.Values, def, max int) (page, limit int) {
	page, limit = 1, def
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		limit = min(n, max)
	}
	return page, limit
}

func window[T any](items []T, page, limit int) []T {
	start := (page - 1) * limit
	if start >= len(items) {
		return nil
	}
	return items[start:min(len(items), start+limit)]
}
