package woocommerce

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// SandboxOptions configure a Sandbox. Zero values take the defaults.
type SandboxOptions struct {
	// Seed, Orders, Products and Locations size the seeded store (sandboxkit defaults: 3000 orders, 200
	// products). Locations only feed the stock numbers: a WooCommerce store has one stock pool per SKU, the
	// sum over the seeded locations.
	Seed                        uint64
	Orders, Products, Locations int
	// StoreURL is the store's public URL, used in permalinks and _links (default https://acme-outfitters.example).
	StoreURL string
	// ConsumerKey and ConsumerSecret are the one REST API key the store accepts (deterministic defaults).
	ConsumerKey, ConsumerSecret string
	// RateLimit is the host's limit in requests per second, enforced with 429 and Retry-After; zero means
	// none (WooCommerce core has none). Burst is the bucket size (default RateLimit).
	RateLimit, Burst float64
	// SiteOffset is the site's timezone offset from UTC, in which the non-_gmt dates are written (default
	// -5h).
	SiteOffset time.Duration
	// StripAuthorization makes the web server drop the Authorization header before WordPress sees it, as
	// Apache with PHP as CGI/FastCGI does without a rewrite rule passing it on: Basic auth then arrives as an
	// anonymous request, and only the consumer_key/consumer_secret query parameters work over HTTPS.
	StripAuthorization bool
	// RecordRequests keeps a log of every request (method, path, query, headers, status) for conformance
	// tests.
	RecordRequests bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DefaultSandboxRateLimit is the rate limit of the registered sandbox unless Unlimited: a typical managed
// WordPress host's per-client limit, and the 5 requests per second Airbyte's WooCommerce source keeps to.
const DefaultSandboxRateLimit = 5

// RequestLog is one request the sandbox received.
type RequestLog struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Status int
}

// Sandbox simulates a WooCommerce store's REST API v3 over a seeded catalog. It enforces what WooCommerce
// enforces: OAuth 1.0a signatures, timestamps and nonces over HTTP and Basic auth only over HTTPS, with
// WooCommerce's error bodies; per_page at most 100 and WP REST's parameter validation (400 rest_invalid_param);
// X-WP-Total, X-WP-TotalPages and Link headers; modified_after/modified_before/after/before in the site's
// timezone unless dates_are_gmt=true; and, optionally, a host's rate limit with 429 and Retry-After.
type Sandbox struct {
	opts    SandboxOptions
	loc     *time.Location
	handler http.Handler
	faults  sandboxkit.Faults
	bucket  *sandboxkit.Bucket

	mu       sync.Mutex
	currency string
	store    sandboxkit.Location
	orders   []*sandboxkit.Order
	products []*sbProduct
	variable map[int64]bool // IDs of variable products; fixed at construction
	nonces   map[string]time.Time
	encoded  map[int64]encodedOrder // rendered orders, by ID
	log      []RequestLog

	throttled atomic.Int64
}

// stock management modes of a sandbox product.
const (
	stockManaged   = iota // manage_stock true on the product or on each variation
	stockUnmanaged        // manage_stock false: no quantity
	stockParent           // a variable product's stock is kept on the product; variations say "parent"
)

type sbProduct struct {
	*sandboxkit.Product
	mode  int
	stock map[int64]int // variant ID (or the product ID for a parent pool) -> quantity
}

func (p *sbProduct) variable() bool { return len(p.Variants) > 1 }

// NewSandbox seeds a store.
func NewSandbox(opts SandboxOptions) *Sandbox {
	if opts.StoreURL == "" {
		opts.StoreURL = "https://acme-outfitters.example"
	}
	opts.StoreURL = strings.TrimRight(opts.StoreURL, "/")
	if opts.ConsumerKey == "" {
		opts.ConsumerKey = fmt.Sprintf("ck_%040x", opts.Seed*2654435761+0x5eed)[:43]
	}
	if opts.ConsumerSecret == "" {
		opts.ConsumerSecret = fmt.Sprintf("cs_%040x", opts.Seed*40503+0xc0ffee)[:43]
	}
	if opts.SiteOffset == 0 {
		opts.SiteOffset = -5 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sandbox{
		opts:     opts,
		loc:      time.FixedZone("site", int(opts.SiteOffset/time.Second)),
		nonces:   map[string]time.Time{},
		variable: map[int64]bool{},
		encoded:  map[int64]encodedOrder{},
		bucket:   sandboxkit.Unlimited(),
	}
	if opts.RateLimit > 0 {
		burst := opts.Burst
		if burst <= 0 {
			burst = math.Ceil(opts.RateLimit)
		}
		s.bucket = sandboxkit.NewBucket(burst, opts.RateLimit)
	}
	locs := opts.Locations
	if locs <= 0 {
		locs = 1
	}
	cat := sandboxkit.Generate(sandboxkit.Options{Seed: opts.Seed, Orders: opts.Orders, Products: opts.Products, Locations: locs,
		End: opts.Now().UTC().Truncate(time.Second)})
	s.currency = cat.Currency
	s.store = cat.Locations[0]
	avail := map[int64]int{}
	for _, l := range cat.Levels {
		avail[l.VariantID] += l.Available
	}
	for i := range cat.Products {
		p := &sbProduct{Product: &cat.Products[i], stock: map[int64]int{}}
		switch {
		case i%9 == 4:
			p.mode = stockUnmanaged
		case p.variable() && i%7 == 3:
			p.mode = stockParent
		}
		for _, v := range p.Variants {
			if p.mode == stockParent {
				p.stock[p.ID] += avail[v.ID]
			} else {
				p.stock[v.ID] = avail[v.ID]
			}
		}
		s.products = append(s.products, p)
		s.variable[p.ID] = p.variable()
	}
	for i := range cat.Orders {
		s.orders = append(s.orders, &cat.Orders[i])
	}
	s.handler = s.faults.Wrap(http.HandlerFunc(s.serve), writeServerError)
	return s
}

// ServeHTTP serves the REST API at /wp-json/wc/v3.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Faults injects 5xx responses, dropped connections and delays.
func (s *Sandbox) Faults() *sandboxkit.Faults { return &s.faults }

// ConsumerKey is the API key's consumer key.
func (s *Sandbox) ConsumerKey() string { return s.opts.ConsumerKey }

// ConsumerSecret is the API key's consumer secret.
func (s *Sandbox) ConsumerSecret() string { return s.opts.ConsumerSecret }

// StoreURL is the store's public URL.
func (s *Sandbox) StoreURL() string { return s.opts.StoreURL }

// Requests counts the requests received, rejected ones included.
func (s *Sandbox) Requests() int64 { return s.faults.Requests() }

// Throttled counts the requests answered 429.
func (s *Sandbox) Throttled() int64 { return s.throttled.Load() }

// Log returns the recorded requests (with RecordRequests).
func (s *Sandbox) Log() []RequestLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestLog(nil), s.log...)
}

// Counts are the sandbox's data sizes.
type Counts struct {
	Orders, LineItems, SKUs, ManagedSKUs int
}

// Counts returns the current data sizes: SKUs are simple products plus variations; ManagedSKUs those whose
// stock WooCommerce tracks.
func (s *Sandbox) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c Counts
	c.Orders = len(s.orders)
	for _, o := range s.orders {
		c.LineItems += len(o.Lines)
	}
	for _, p := range s.products {
		c.SKUs += len(p.Variants)
		if p.mode != stockUnmanaged {
			c.ManagedSKUs += len(p.Variants)
		}
	}
	return c
}

// SandboxOrder is an order as the sandbox holds it.
type SandboxOrder struct {
	ID        int64
	UpdatedAt time.Time
	Total     string
	Lines     []sandboxkit.Line
}

// Orders lists the orders.
func (s *Sandbox) Orders() []SandboxOrder {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SandboxOrder, len(s.orders))
	for i, o := range s.orders {
		out[i] = SandboxOrder{ID: o.ID, UpdatedAt: o.UpdatedAt, Total: sandboxkit.Money(o.Total()), Lines: o.Lines}
	}
	return out
}

// SandboxSKU is a SKU as the sandbox holds it: a simple product or a variation.
type SandboxSKU struct {
	ID, ProductID int64
	SKU, Name     string
	Price         string
	Barcode       string
	Variation     bool
	UpdatedAt     time.Time
	// Managed says whether WooCommerce tracks its stock; Stock is then its quantity (shared with its
	// siblings when the product keeps the stock).
	Managed bool
	Stock   int
}

// SKUs lists every SKU.
func (s *Sandbox) SKUs() []SandboxSKU {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SandboxSKU
	for _, p := range s.products {
		for _, v := range p.Variants {
			k := SandboxSKU{ID: p.ID, ProductID: p.ID, SKU: v.SKU, Name: p.Title, Price: sandboxkit.Money(v.PriceCents),
				Barcode: v.Barcode, UpdatedAt: p.UpdatedAt, Managed: p.mode != stockUnmanaged}
			if p.variable() {
				k.ID, k.Variation, k.Name = v.ID, true, p.Title+" - "+strings.ReplaceAll(v.Option, " / ", ", ")
				k.UpdatedAt = later(v.UpdatedAt, p.UpdatedAt)
			}
			k.Stock = p.stock[v.ID]
			if p.mode == stockParent {
				k.Stock = p.stock[p.ID]
			}
			out = append(out, k)
		}
	}
	return out
}

func (s *Sandbox) now() time.Time { return s.opts.Now().UTC().Truncate(time.Second) }

// TouchOrders changes the first n orders (an order note, say): their date_modified becomes now.
func (s *Sandbox) TouchOrders(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for i := 0; i < n && i < len(s.orders); i++ {
		s.orders[i].UpdatedAt = now
	}
}

// TouchVariation changes a variation's price by a cent. As in WooCommerce, saving a variation re-saves its
// product (the deferred product sync), which moves the product's date_modified too.
func (s *Sandbox) TouchVariation(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, p := range s.products {
		for i := range p.Variants {
			if p.Variants[i].ID == id && p.variable() {
				p.Variants[i].PriceCents++
				p.Variants[i].UpdatedAt, p.UpdatedAt = now, now
				return true
			}
		}
	}
	return false
}

// SetStock sets a SKU's stock the way an order's stock reduction does in WooCommerce: the quantity changes,
// date_modified does not.
func (s *Sandbox) SetStock(skuID int64, qty int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.products {
		for _, v := range p.Variants {
			id := v.ID
			if !p.variable() {
				id = p.ID
			}
			if id != skuID {
				continue
			}
			switch p.mode {
			case stockParent:
				p.stock[p.ID] = qty
			default:
				p.stock[v.ID] = qty
			}
			return true
		}
	}
	return false
}

// AddOrders appends n new orders, created and modified now, copying the lines of existing ones.
func (s *Sandbox) AddOrders(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	maxID, maxLine := int64(0), int64(0)
	for _, o := range s.orders {
		maxID = max(maxID, o.ID)
		for _, l := range o.Lines {
			maxLine = max(maxLine, l.ID)
		}
	}
	for i := 0; i < n && len(s.orders) > 0; i++ {
		src := s.orders[i%len(s.orders)]
		o := *src
		maxID++
		o.ID, o.Number, o.CreatedAt, o.UpdatedAt, o.Status, o.CancelledAt = maxID, int(maxID), now, now, "paid", nil
		o.Lines = append([]sandboxkit.Line(nil), src.Lines...)
		for j := range o.Lines {
			maxLine++
			o.Lines[j].ID = maxLine
		}
		s.orders = append(s.orders, &o)
	}
}

// wpError writes a WooCommerce / WP REST error body.
func wpError(w http.ResponseWriter, status int, code, message string, extra map[string]any) {
	data := map[string]any{"status": status}
	for k, v := range extra {
		data[k] = v
	}
	writeJSON(w, status, map[string]any{"code": code, "message": message, "data": data})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeServerError is what WordPress answers when PHP dies (the fatal error handler) or a gateway fails.
func writeServerError(w http.ResponseWriter, status int) {
	if status == http.StatusInternalServerError {
		writeJSON(w, status, map[string]any{"code": "internal_server_error",
			"message": "<p>There has been a critical error on this website.</p>", "data": map[string]any{"status": 500}, "additional_errors": []any{}})
		return
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", status, http.StatusText(status))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if s.opts.StripAuthorization {
		r = r.Clone(r.Context())
		r.Header.Del("Authorization")
	}
	s.route(rec, r)
	if s.opts.RecordRequests {
		s.mu.Lock()
		s.log = append(s.log, RequestLog{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Status: rec.status})
		s.mu.Unlock()
	}
}

var (
	reVariations = regexp.MustCompile(`^/products/(\d+)/variations$`)
	reProduct    = regexp.MustCompile(`^/products/(\d+)$`)
	reOrder      = regexp.MustCompile(`^/orders/(\d+)$`)
)

func (s *Sandbox) route(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.bucket.Take(1); !ok {
		s.throttled.Add(1)
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		wpError(w, http.StatusTooManyRequests, "rest_too_many_requests", "Too many requests. Please slow down.", nil)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, APIPath)
	if !ok {
		wpError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.", nil)
		return
	}
	path = strings.TrimRight(path, "/")
	var handle func(w http.ResponseWriter, r *http.Request, q url.Values)
	var collection string
	switch {
	case path == "/orders":
		handle, collection = s.listOrders, "orders"
	case path == "/products":
		handle, collection = s.listProducts, "products"
	case reVariations.MatchString(path):
		id, _ := strconv.ParseInt(reVariations.FindStringSubmatch(path)[1], 10, 64)
		handle, collection = func(w http.ResponseWriter, r *http.Request, q url.Values) { s.listVariations(w, r, q, id) }, "variations"
	case reProduct.MatchString(path):
		id, _ := strconv.ParseInt(reProduct.FindStringSubmatch(path)[1], 10, 64)
		handle = func(w http.ResponseWriter, r *http.Request, q url.Values) { s.getProduct(w, id) }
	case reOrder.MatchString(path):
		id, _ := strconv.ParseInt(reOrder.FindStringSubmatch(path)[1], 10, 64)
		handle = func(w http.ResponseWriter, r *http.Request, q url.Values) { s.getOrder(w, id) }
	case path == "/settings/general":
		handle = func(w http.ResponseWriter, r *http.Request, q url.Values) { s.generalSettings(w) }
	}
	if handle == nil || r.Method != http.MethodGet {
		wpError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.", nil)
		return
	}
	q := r.URL.Query()
	if !s.authenticate(w, r, q) {
		return
	}
	if collection != "" && !validateList(w, q, collection) {
		return
	}
	handle(w, r, q)
}

// authenticate applies WC_REST_Authentication: over HTTPS, HTTP Basic (or consumer_key/consumer_secret in the
// query); over HTTP, one-legged OAuth 1.0a. A request with no credentials at all is an anonymous one, which the
// endpoint's permission check refuses with woocommerce_rest_cannot_view.
func (s *Sandbox) authenticate(w http.ResponseWriter, r *http.Request, q url.Values) bool {
	authErr := func(msg string) bool {
		wpError(w, http.StatusUnauthorized, "woocommerce_rest_authentication_error", msg, nil)
		return false
	}
	if r.TLS != nil {
		key, secret, ok := basicAuth(r)
		if !ok && q.Get("consumer_key") != "" {
			key, secret, ok = q.Get("consumer_key"), q.Get("consumer_secret"), true
		}
		if ok {
			if key != s.opts.ConsumerKey {
				return authErr("Consumer key is invalid.")
			}
			if secret != s.opts.ConsumerSecret {
				return authErr("Consumer secret is invalid.")
			}
			return true
		}
	}
	if q.Get("oauth_consumer_key") == "" && q.Get("oauth_signature") == "" {
		wpError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", nil)
		return false
	}
	var missing []string
	for _, p := range []string{"oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method"} {
		if q.Get(p) == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		wpError(w, http.StatusUnauthorized, "woocommerce_rest_authentication_missing_parameter",
			"Missing OAuth parameter "+strings.Join(missing, ", "), nil)
		return false
	}
	if q.Get("oauth_consumer_key") != s.opts.ConsumerKey {
		return authErr("Consumer key is invalid.")
	}
	params := url.Values{}
	for k, vs := range q {
		if k != "oauth_signature" {
			params[k] = vs
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := signatureBase(r.Method, baseURLOf(&url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath}), params)
	want, ok := oauthSignature(q.Get("oauth_signature_method"), s.opts.ConsumerSecret, base)
	if !ok {
		return authErr("Invalid signature - signature method is invalid.")
	}
	if want != q.Get("oauth_signature") {
		return authErr("Invalid signature - provided signature does not match.")
	}
	ts, err := strconv.ParseInt(q.Get("oauth_timestamp"), 10, 64)
	now := s.opts.Now()
	const window = 15 * time.Minute
	if err != nil || time.Unix(ts, 0).Before(now.Add(-window)) || time.Unix(ts, 0).After(now.Add(window)) {
		return authErr("Invalid timestamp.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := q.Get("oauth_nonce")
	if _, used := s.nonces[key]; used {
		return authErr("Invalid nonce - nonce has already been used.")
	}
	if len(s.nonces) > 50000 {
		for k, at := range s.nonces {
			if now.Sub(at) > window {
				delete(s.nonces, k)
			}
		}
	}
	s.nonces[key] = now
	return true
}

func basicAuth(r *http.Request) (string, string, bool) {
	h := r.Header.Get("Authorization")
	enc, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", "", false
	}
	k, sec, ok := strings.Cut(string(raw), ":")
	return k, sec, ok
}

// orderby values each collection accepts: the documented ones plus "modified", which WooCommerce 4.x added
// to post-based resources (woocommerce/woocommerce-rest-api#226).
var orderbyEnum = map[string][]string{
	"orders":     {"date", "id", "include", "title", "slug", "modified"},
	"products":   {"date", "id", "include", "title", "slug", "price", "popularity", "rating", "modified"},
	"variations": {"date", "id", "include", "title", "slug", "modified"},
}

// dateTimeRE is rest_parse_date's RFC 3339 shape, the zone optional.
var dateTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}(:?\d{2})?)?$`)

// validateList applies the WP REST argument validation of a collection's GET and answers 400
// rest_invalid_param for the first bad argument.
func validateList(w http.ResponseWriter, q url.Values, collection string) bool {
	bad := func(param, code, msg string) bool {
		wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): "+param, map[string]any{
			"params":  map[string]string{param: msg},
			"details": map[string]any{param: map[string]any{"code": code, "message": msg, "data": nil}},
		})
		return false
	}
	intParam := func(name string, lo, hi int) bool {
		v, ok := q[name]
		if !ok {
			return true
		}
		n, err := strconv.Atoi(v[0])
		if err != nil {
			return bad(name, "rest_invalid_type", name+" is not of type integer.")
		}
		if n < lo || (hi > 0 && n > hi) {
			if hi > 0 {
				return bad(name, "rest_out_of_bounds", fmt.Sprintf("%s must be between %d (inclusive) and %d (inclusive)", name, lo, hi))
			}
			return bad(name, "rest_out_of_bounds", fmt.Sprintf("%s must be greater than or equal to %d", name, lo))
		}
		return true
	}
	if !intParam("per_page", 1, MaxPageSize) || !intParam("page", 1, 0) || !intParam("offset", 0, 0) {
		return false
	}
	if v, ok := q["order"]; ok && v[0] != "asc" && v[0] != "desc" {
		return bad("order", "rest_not_in_enum", "order is not one of asc and desc.")
	}
	if v, ok := q["orderby"]; ok {
		enum := orderbyEnum[collection]
		found := false
		for _, e := range enum {
			found = found || e == v[0]
		}
		if !found {
			return bad("orderby", "rest_not_in_enum", "orderby is not one of "+strings.Join(enum[:len(enum)-1], ", ")+", and "+enum[len(enum)-1]+".")
		}
	}
	if v, ok := q["dates_are_gmt"]; ok {
		if _, err := strconv.ParseBool(v[0]); err != nil {
			return bad("dates_are_gmt", "rest_invalid_type", "dates_are_gmt is not of type boolean.")
		}
	}
	for _, p := range []string{"after", "before", "modified_after", "modified_before"} {
		if v, ok := q[p]; ok && !dateTimeRE.MatchString(v[0]) {
			return bad(p, "rest_invalid_date", "Invalid date.")
		}
	}
	return true
}

// wallClock reads the date and time digits of a date argument. WordPress's date query compares them, as
// written, with the chosen column: post_modified_gmt when dates_are_gmt is true, else the site-local
// post_modified.
func wallClock(v string) time.Time {
	t, _ := time.Parse("2006-01-02T15:04:05", strings.Replace(v[:19], " ", "T", 1))
	return t
}

// dateFilter keeps objects whose created or modified time is inside the request's bounds.
type dateFilter struct {
	gmt                                      bool
	loc                                      *time.Location
	after, before, modAfter, modBefore       time.Time
	hasAfter, hasBefore, hasModAft, hasModBe bool
}

func newDateFilter(q url.Values, loc *time.Location) dateFilter {
	f := dateFilter{loc: loc}
	f.gmt, _ = strconv.ParseBool(q.Get("dates_are_gmt"))
	if v := q.Get("after"); v != "" {
		f.after, f.hasAfter = wallClock(v), true
	}
	if v := q.Get("before"); v != "" {
		f.before, f.hasBefore = wallClock(v), true
	}
	if v := q.Get("modified_after"); v != "" {
		f.modAfter, f.hasModAft = wallClock(v), true
	}
	if v := q.Get("modified_before"); v != "" {
		f.modBefore, f.hasModBe = wallClock(v), true
	}
	return f
}

// column is t as the column the filter compares with holds it (as a zone-less wall clock).
func (f dateFilter) column(t time.Time) time.Time {
	if !f.gmt {
		t = t.In(f.loc)
	}
	y, mo, d := t.Date()
	return time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

func (f dateFilter) keep(created, modified time.Time) bool {
	c, m := f.column(created), f.column(modified)
	return !(f.hasAfter && !c.After(f.after)) && !(f.hasBefore && !c.Before(f.before)) &&
		!(f.hasModAft && !m.After(f.modAfter)) && !(f.hasModBe && !m.Before(f.modBefore))
}

// sortable is one object of a collection with the attributes orderby can use.
type sortable struct {
	id                int64
	created, modified time.Time
	title, slug       string
	price             int64
	render            func() map[string]any
	// encoded, when set, returns render's JSON, cached.
	encoded func() []byte
}

// paginate sorts, pages and writes a collection with WooCommerce's headers.
func (s *Sandbox) paginate(w http.ResponseWriter, r *http.Request, q url.Values, items []sortable, defaultOrderby string) {
	orderby := q.Get("orderby")
	if orderby == "" {
		orderby = defaultOrderby
	}
	desc := q.Get("order") != "asc"
	less := func(a, b sortable) int {
		switch orderby {
		case "date":
			return a.created.Compare(b.created)
		case "modified":
			return a.modified.Compare(b.modified)
		case "title":
			return strings.Compare(a.title, b.title)
		case "slug":
			return strings.Compare(a.slug, b.slug)
		case "price":
			return int(a.price - b.price)
		}
		return 0
	}
	sort.SliceStable(items, func(i, j int) bool {
		c := less(items[i], items[j])
		if c == 0 {
			c = int(items[i].id - items[j].id) // MySQL's order for ties; id keeps it deterministic
		}
		if desc {
			return c > 0
		}
		return c < 0
	})
	perPage, page := 10, 1
	if v := q.Get("per_page"); v != "" {
		perPage, _ = strconv.Atoi(v)
	}
	if v := q.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	start := (page - 1) * perPage
	if v := q.Get("offset"); v != "" {
		start, _ = strconv.Atoi(v)
	}
	total := len(items)
	pages := (total + perPage - 1) / perPage
	end := min(start+perPage, total)
	fields := q.Get("_fields")
	body := []byte{'['}
	for i := start; i < end; i++ {
		if i > start {
			body = append(body, ',')
		}
		if items[i].encoded != nil && fields == "" {
			body = append(body, items[i].encoded()...)
			continue
		}
		b, _ := json.Marshal(fieldsOf(items[i].render(), fields))
		body = append(body, b...)
	}
	body = append(body, ']')
	h := w.Header()
	h.Set("X-WP-Total", strconv.Itoa(total))
	h.Set("X-WP-TotalPages", strconv.Itoa(pages))
	var links []string
	if page > 1 {
		links = append(links, fmt.Sprintf(`<%s>; rel="prev"`, linkTo(r, q, min(page-1, max(pages, 1)))))
	}
	if pages > page {
		links = append(links, fmt.Sprintf(`<%s>; rel="next"`, linkTo(r, q, page+1)))
	}
	if len(links) > 0 {
		h.Set("Link", strings.Join(links, ", "))
	}
	h.Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(body)
}

// linkTo is the collection URL for another page, with the request's parameters but not its credentials.
func linkTo(r *http.Request, q url.Values, page int) string {
	lq := url.Values{}
	for k, v := range q {
		if !strings.HasPrefix(k, "oauth_") && !strings.HasPrefix(k, "consumer_") {
			lq[k] = v
		}
	}
	lq.Set("page", strconv.Itoa(page))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path + "?" + lq.Encode()
}

// fieldsOf applies WP REST's _fields (top-level names).
func fieldsOf(m map[string]any, fields string) map[string]any {
	if fields == "" {
		return m
	}
	out := map[string]any{}
	for _, f := range strings.Split(fields, ",") {
		f = strings.TrimSpace(f)
		if v, ok := m[f]; ok {
			out[f] = v
		}
	}
	return out
}

func (s *Sandbox) listOrders(w http.ResponseWriter, r *http.Request, q url.Values) {
	f := newDateFilter(q, s.loc)
	status := q.Get("status")
	s.mu.Lock()
	var items []sortable
	for _, o := range s.orders {
		if !f.keep(o.CreatedAt, o.UpdatedAt) {
			continue
		}
		if status != "" && status != "any" && !strings.Contains(","+status+",", ","+orderStatus(o)+",") {
			continue
		}
		o := *o
		items = append(items, sortable{id: o.ID, created: o.CreatedAt, modified: o.UpdatedAt, title: strconv.FormatInt(o.ID, 10),
			render: func() map[string]any { return s.renderOrder(&o) }, encoded: func() []byte { return s.encodedOrder(&o) }})
	}
	s.mu.Unlock()
	s.paginate(w, r, q, items, "date")
}

type encodedOrder struct {
	updated time.Time
	json    []byte
}

// encodedOrder is the order's JSON, cached until its date_modified moves (every change moves it).
func (s *Sandbox) encodedOrder(o *sandboxkit.Order) []byte {
	s.mu.Lock()
	e, ok := s.encoded[o.ID]
	s.mu.Unlock()
	if ok && e.updated.Equal(o.UpdatedAt) {
		return e.json
	}
	b, _ := json.Marshal(s.renderOrder(o))
	s.mu.Lock()
	s.encoded[o.ID] = encodedOrder{updated: o.UpdatedAt, json: b}
	s.mu.Unlock()
	return b
}

func (s *Sandbox) getOrder(w http.ResponseWriter, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.orders {
		if o.ID == id {
			writeJSON(w, http.StatusOK, s.renderOrder(o))
			return
		}
	}
	wpError(w, http.StatusNotFound, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.", nil)
}

func (s *Sandbox) listProducts(w http.ResponseWriter, r *http.Request, q url.Values) {
	f := newDateFilter(q, s.loc)
	typ := q.Get("type")
	s.mu.Lock()
	var items []sortable
	for _, p := range s.products {
		if !f.keep(p.CreatedAt, p.UpdatedAt) {
			continue
		}
		if typ != "" && typ != productType(p) {
			continue
		}
		rendered := s.renderProduct(p)
		items = append(items, sortable{id: p.ID, created: p.CreatedAt, modified: p.UpdatedAt, title: p.Title, slug: p.Handle,
			price: p.Variants[0].PriceCents, render: func() map[string]any { return rendered }})
	}
	s.mu.Unlock()
	s.paginate(w, r, q, items, "date")
}

func (s *Sandbox) getProduct(w http.ResponseWriter, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.products {
		if p.ID == id {
			writeJSON(w, http.StatusOK, s.renderProduct(p))
			return
		}
	}
	wpError(w, http.StatusNotFound, "woocommerce_rest_product_invalid_id", "Invalid ID.", nil)
}

// listVariations lists a product's variations; a product that is not variable, or does not exist, has none.
func (s *Sandbox) listVariations(w http.ResponseWriter, r *http.Request, q url.Values, productID int64) {
	f := newDateFilter(q, s.loc)
	s.mu.Lock()
	var items []sortable
	for _, p := range s.products {
		if p.ID != productID || !p.variable() {
			continue
		}
		for i := range p.Variants {
			v := p.Variants[i]
			if !f.keep(v.CreatedAt, v.UpdatedAt) {
				continue
			}
			rendered := s.renderVariation(p, &v)
			items = append(items, sortable{id: v.ID, created: v.CreatedAt, modified: v.UpdatedAt, title: v.Title,
				price: v.PriceCents, render: func() map[string]any { return rendered }})
		}
	}
	s.mu.Unlock()
	s.paginate(w, r, q, items, "date")
}

func (s *Sandbox) generalSettings(w http.ResponseWriter) {
	st := s.store
	setting := func(id, label, typ, value string) map[string]any {
		return map[string]any{"id": id, "label": label, "description": "", "type": typ, "default": "", "tip": "", "value": value,
			"_links": map[string]any{"self": []any{map[string]any{"href": s.opts.StoreURL + APIPath + "/settings/general/" + id}}}}
	}
	writeJSON(w, http.StatusOK, []any{
		setting("woocommerce_store_address", "Address line 1", "text", st.Address1),
		setting("woocommerce_store_address_2", "Address line 2", "text", ""),
		setting("woocommerce_store_city", "City", "text", st.City),
		setting("woocommerce_default_country", "Country / State", "select", st.CountryCode+":"+st.Region),
		setting("woocommerce_store_postcode", "Postcode / ZIP", "text", st.PostalCode),
		setting("woocommerce_allowed_countries", "Selling location(s)", "select", "all"),
		setting("woocommerce_currency", "Currency", "select", s.currency),
		setting("woocommerce_price_thousand_sep", "Thousand separator", "text", ","),
		setting("woocommerce_price_decimal_sep", "Decimal separator", "text", "."),
		setting("woocommerce_price_num_decimals", "Number of decimals", "number", "2"),
	})
}
