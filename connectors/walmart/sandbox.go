package walmart

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// Limit is one endpoint's token bucket: Capacity requests at once, refilled at PerSecond.
type Limit struct {
	Capacity  float64
	PerSecond float64
}

// Limits are the sandbox's per-endpoint buckets.
type Limits struct {
	Token, Orders, Items, Inventory, Inventories, ShipNodes Limit
}

// DefaultLimits are of the order of Walmart's published per-seller limits (its throttling table lists
// requests per minute per API; these are the same budgets as small buckets refilled every second).
var DefaultLimits = Limits{
	Token:       Limit{Capacity: 10, PerSecond: 2},
	Orders:      Limit{Capacity: 20, PerSecond: 10},
	Items:       Limit{Capacity: 10, PerSecond: 5},
	Inventory:   Limit{Capacity: 10, PerSecond: 200.0 / 60},
	Inventories: Limit{Capacity: 10, PerSecond: 5},
	ShipNodes:   Limit{Capacity: 5, PerSecond: 1},
}

// SandboxOptions configure a Sandbox. Zero values take the defaults.
type SandboxOptions struct {
	// Seed sizes and seeds the account; History defaults to 175 days, inside Walmart's 180.
	Seed sandboxkit.Options
	// ClientID and ClientSecret are the API key pair the token endpoint accepts.
	ClientID, ClientSecret string
	// Unlimited turns the rate limits off (no buckets, no rate-limit headers).
	Unlimited bool
	// Limits are the buckets (default DefaultLimits).
	Limits Limits
	// TokenTTL is the lifetime of an access token (default 900 s, as Walmart).
	TokenTTL time.Duration
	// CursorTTL is how long a nextCursor is accepted (default one hour).
	CursorTTL time.Duration
	// MaxOrdersPerQuery is the most orders one query pages through (default 10,000, as Walmart).
	MaxOrdersPerQuery int
	// WFSEvery makes every n-th order one that Walmart Fulfillment Services ships (default 4; -1 none).
	WFSEvery int
	// Now is the sandbox's clock (default time.Now).
	Now func() time.Time
}

// Sandbox simulates the Walmart Marketplace API v3 over a generated seller account: the client-credentials
// token endpoint, orders, items, inventory and ship nodes in Walmart's JSON shapes, with Walmart's headers,
// error bodies, per-endpoint rate limits, cursor rules and 180-day order window. It is an http.Handler.
type Sandbox struct {
	opts    SandboxOptions
	handler http.Handler
	faults  sandboxkit.Faults
	key     []byte

	mu       sync.RWMutex
	secret   string
	tokens   map[string]time.Time
	tokenSeq int
	account  *account

	buckets   map[string]*sandboxkit.Bucket
	throttled atomic.Int64

	logMu sync.Mutex
	log   []RecordedRequest
}

// RecordedRequest is what the sandbox saw of a request.
type RecordedRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Status                 int
}

// NewSandbox builds a sandbox.
func NewSandbox(opts SandboxOptions) *Sandbox {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClientID == "" {
		opts.ClientID = "8f2d61b4-0c4e-4a57-9d3f-5d2b7c1e9a10"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "sandbox-client-secret-QmFzZTY0IHNlY3JldA"
	}
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 900 * time.Second
	}
	if opts.CursorTTL == 0 {
		opts.CursorTTL = time.Hour
	}
	if opts.MaxOrdersPerQuery == 0 {
		opts.MaxOrdersPerQuery = 10000
	}
	if opts.WFSEvery == 0 {
		opts.WFSEvery = 4
	}
	if opts.Seed.History == 0 {
		opts.Seed.History = 175 * 24 * time.Hour
	}
	if opts.Seed.End.IsZero() {
		opts.Seed.End = opts.Now().UTC().Truncate(time.Second)
	}
	s := &Sandbox{
		opts:    opts,
		key:     []byte(fmt.Sprintf("walmart-sandbox-cursor-key-%d", opts.Seed.Seed)),
		secret:  opts.ClientSecret,
		tokens:  map[string]time.Time{},
		account: newAccount(sandboxkit.Generate(opts.Seed), opts.WFSEvery),
		buckets: map[string]*sandboxkit.Bucket{},
	}
	for ep, l := range map[string]Limit{epToken: opts.Limits.Token, epOrders: opts.Limits.Orders, epItems: opts.Limits.Items,
		"inventory": opts.Limits.Inventory, epInventories: opts.Limits.Inventories, epShipNodes: opts.Limits.ShipNodes} {
		b := sandboxkit.Unlimited()
		if !opts.Unlimited {
			b = sandboxkit.NewBucket(l.Capacity, l.PerSecond)
			b.Now = opts.Now
		}
		s.buckets[ep] = b
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/token", s.serveToken)
	mux.HandleFunc("GET /v3/orders", s.api(epOrders, s.serveOrders))
	mux.HandleFunc("GET /v3/items", s.api(epItems, s.serveItems))
	mux.HandleFunc("GET /v3/inventory", s.api("inventory", s.serveInventory))
	mux.HandleFunc("GET /v3/inventories", s.api(epInventories, s.serveInventories))
	mux.HandleFunc("GET /v3/settings/shipping/shipnodes", s.api(epShipNodes, s.serveShipNodes))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "CONTENT_NOT_FOUND.GMP_GATEWAY_API", "", "Resource not found",
			"Requested content could not be found.", "INFO")
	})
	s.handler = s.faults.Wrap(mux, func(w http.ResponseWriter, status int) {
		writeError(w, status, "SYSTEM_ERROR.GMP_GATEWAY_API", "", http.StatusText(status),
			"The service is temporarily unavailable.", "ERROR")
	})
	return s
}

// ServeHTTP serves the Marketplace API.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.handler.ServeHTTP(rec, r)
	s.logMu.Lock()
	if len(s.log) < 200000 {
		s.log = append(s.log, RecordedRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			Header: r.Header.Clone(), Status: rec.status})
	}
	s.logMu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Hijack lets the fault injector drop connections through the recorder.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if hj, ok := r.ResponseWriter.(http.Hijacker); ok {
		return hj.Hijack()
	}
	return nil, nil, http.ErrNotSupported
}

// ClientID and ClientSecret are the key pair the sandbox accepts.
func (s *Sandbox) ClientID() string { return s.opts.ClientID }

// ClientSecret is the secret the token endpoint currently accepts.
func (s *Sandbox) ClientSecret() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.secret
}

// RotateSecret replaces the client secret and revokes every access token, as regenerating the key in
// Seller Center does.
func (s *Sandbox) RotateSecret(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secret = secret
	s.tokens = map[string]time.Time{}
}

// ExpireTokens makes every access token issued so far expired.
func (s *Sandbox) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
}

// Faults injects failures in front of the API.
func (s *Sandbox) Faults() *sandboxkit.Faults { return &s.faults }

// Requests counts the requests received.
func (s *Sandbox) Requests() int64 { return s.faults.Requests() }

// Throttled counts the requests refused with 429.
func (s *Sandbox) Throttled() int64 { return s.throttled.Load() }

// RequestLog returns the requests seen so far.
func (s *Sandbox) RequestLog() []RecordedRequest {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]RecordedRequest(nil), s.log...)
}

// Bucket is the rate-limit bucket of an endpoint ("token", "orders", "items", "inventory", "inventories",
// "shipnodes").
func (s *Sandbox) Bucket(endpoint string) *sandboxkit.Bucket { return s.buckets[endpoint] }

// walmartError is one entry of Walmart's error body.
type walmartError struct {
	Code             string         `json:"code"`
	Field            string         `json:"field,omitempty"`
	Description      string         `json:"description"`
	Info             string         `json:"info"`
	Severity         string         `json:"severity"`
	Category         string         `json:"category"`
	Causes           []any          `json:"causes"`
	ErrorIdentifiers map[string]any `json:"errorIdentifiers"`
}

// writeError writes Walmart's error body: {"errors":{"error":[{code, field, description, info, severity,
// category, causes, errorIdentifiers}]}}.
func writeError(w http.ResponseWriter, status int, code, field, description, info, severity string) {
	category := "APPLICATION"
	if strings.Contains(code, "GATEWAY") {
		category = "REQUEST"
	}
	body := map[string]any{"errors": map[string]any{"error": []walmartError{{Code: code, Field: field,
		Description: description, Info: info, Severity: severity, Category: category, Causes: []any{},
		ErrorIdentifiers: map[string]any{}}}}}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func badParam(w http.ResponseWriter, api, field, description string) {
	writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAM."+api, field, description,
		"One or more request parameters are invalid.", "ERROR")
}

func notFound(w http.ResponseWriter, api, description string) {
	writeError(w, http.StatusNotFound, "CONTENT_NOT_FOUND."+api, "data", description,
		"Requested content could not be found.", "INFO")
}

// requireHeaders checks the headers every call needs except the access token.
func requireHeaders(w http.ResponseWriter, r *http.Request) bool {
	for _, h := range []string{"WM_SVC.NAME", "WM_QOS.CORRELATION_ID"} {
		if strings.TrimSpace(r.Header.Get(h)) == "" {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API", h,
				"Missing required header "+h, "Header "+h+" is required.", "ERROR")
			return false
		}
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API", "Accept",
			"Accept must be application/json or application/xml; this sandbox speaks JSON", "Unsupported Accept header.", "ERROR")
		return false
	}
	return true
}

// limit takes a token from the endpoint's bucket, sets the rate-limit headers, and answers 429 when empty.
func (s *Sandbox) limit(w http.ResponseWriter, ep string) bool {
	b := s.buckets[ep]
	if b.Disabled() {
		return true
	}
	ok, wait := b.Take(1)
	now := s.opts.Now()
	if !ok {
		w.Header().Set(headerTokenCount, "0")
		w.Header().Set(headerNextReplenish, epochMilliCeil(now.Add(wait)))
		s.throttled.Add(1)
		writeError(w, http.StatusTooManyRequests, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "",
			"Too many requests", "The request rate limit of this API has been exceeded. Retry after the next replenishment.", "ERROR")
		return false
	}
	left := b.Remaining()
	next := now.Add(time.Duration((math.Floor(left) + 1 - left) / b.Rate * float64(time.Second)))
	w.Header().Set(headerTokenCount, strconv.Itoa(int(math.Floor(left))))
	w.Header().Set(headerNextReplenish, epochMilliCeil(next))
	return true
}

// epochMilliCeil is t in epoch milliseconds, rounded up: a client that waits until then finds the token.
func epochMilliCeil(t time.Time) string {
	return strconv.FormatInt(t.Add(time.Millisecond-time.Nanosecond).UnixMilli(), 10)
}

// api wraps an API handler with Walmart's header, token and rate-limit checks.
func (s *Sandbox) api(ep string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !requireHeaders(w, r) {
			return
		}
		token := r.Header.Get("WM_SEC.ACCESS_TOKEN")
		s.mu.RLock()
		exp, ok := s.tokens[token]
		s.mu.RUnlock()
		switch {
		case token == "" || !ok:
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED.GMP_GATEWAY_API", "WM_SEC.ACCESS_TOKEN",
				"Unauthorized", "Unauthorized token or invalid token.", "ERROR")
			return
		case !s.opts.Now().Before(exp):
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED.GMP_GATEWAY_API", "WM_SEC.ACCESS_TOKEN",
				"Access token has expired", "Unauthorized token or invalid token.", "ERROR")
			return
		}
		if !s.limit(w, ep) {
			return
		}
		h(w, r)
	}
}

// serveToken is POST /v3/token: client credentials in Basic auth, grant_type=client_credentials.
func (s *Sandbox) serveToken(w http.ResponseWriter, r *http.Request) {
	if !requireHeaders(w, r) {
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API", "Content-Type",
			"Content-Type must be application/x-www-form-urlencoded", "Unsupported content type.", "ERROR")
		return
	}
	id, secret, ok := r.BasicAuth()
	s.mu.RLock()
	valid := ok && hmac.Equal([]byte(id), []byte(s.opts.ClientID)) && hmac.Equal([]byte(secret), []byte(s.secret))
	s.mu.RUnlock()
	if !valid {
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED.GMP_GATEWAY_API", "clientId",
			"Invalid client credentials", "Unauthorized token or invalid token.", "ERROR")
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		badParam(w, "GMP_GATEWAY_API", "grant_type", "grant_type must be client_credentials")
		return
	}
	if !s.limit(w, epToken) {
		return
	}
	s.mu.Lock()
	s.tokenSeq++
	mac := hmac.New(sha256.New, s.key)
	fmt.Fprintf(mac, "token-%d", s.tokenSeq)
	token := "eyJraWQiOiJzYW5kYm94In0." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	s.tokens[token] = s.opts.Now().Add(s.opts.TokenTTL)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "token_type": "Bearer",
		"expires_in": int64(s.opts.TokenTTL / time.Second)})
}

// sign is the signature that makes a cursor tamper-evident.
func (s *Sandbox) sign(payload string) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(payload))
	return hex.EncodeToString(mac.Sum(nil)[:12])
}

// opaqueCursor is the nextCursor of items and inventories: an offset and an issue time, signed.
func (s *Sandbox) opaqueCursor(offset int) string {
	payload := fmt.Sprintf("%d.%d", offset, s.opts.Now().UnixMilli())
	enc := base64.RawURLEncoding.EncodeToString([]byte(payload))
	return enc + "." + s.sign(enc)
}

// openOpaqueCursor returns the offset of a cursor, or a description of why it is not accepted.
func (s *Sandbox) openOpaqueCursor(c string) (int, string) {
	enc, sig, ok := strings.Cut(c, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.sign(enc))) {
		return 0, "nextCursor is invalid"
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return 0, "nextCursor is invalid"
	}
	off, issued, _ := strings.Cut(string(raw), ".")
	n, err1 := strconv.Atoi(off)
	ms, err2 := strconv.ParseInt(issued, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, "nextCursor is invalid"
	}
	if s.opts.Now().Sub(time.UnixMilli(ms)) > s.opts.CursorTTL {
		return 0, "nextCursor has expired"
	}
	return n, ""
}

// parseDate accepts Walmart's date filter formats: a date, or an ISO 8601 date-time.
func parseDate(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// pageLimit reads the limit parameter: def when absent, a 400 when not in 1..max.
func pageLimit(w http.ResponseWriter, q url.Values, api string, def, max int) (int, bool) {
	v := q.Get("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		badParam(w, api, "limit", fmt.Sprintf("limit must be an integer from 1 to %d", max))
		return 0, false
	}
	return n, true
}
