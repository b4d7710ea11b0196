package etsy

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// Etsy's default app quota: 10 requests per second and 10,000 per (sliding) day.
const (
	DefaultPerSecond = 10
	DefaultPerDay    = 10000
)

// SandboxOptions configures a Sandbox. The zero value is a shop seeded from seed 0 with sandboxkit's default
// sizes, at Etsy's default quota.
type SandboxOptions struct {
	// Seed, Orders, Products and Locations size the catalog (sandboxkit defaults when zero); End is the newest
	// time in it (default now). Locations only add up into each product's one stock quantity.
	Seed                        uint64
	Orders, Products, Locations int
	End                         time.Time
	// PerSecond and PerDay are the app's quota (defaults DefaultPerSecond and DefaultPerDay). Unlimited turns
	// the quota off: no rate-limit headers, no 429s.
	PerSecond, PerDay int
	Unlimited         bool
	// TokenTTL is the access tokens' lifetime (default 3600s, as Etsy). Refresh tokens last 90 days and
	// rotate on every refresh.
	TokenTTL time.Duration
	// NoShop makes the merchant an Etsy user without a shop: GET /users/{user_id}/shops answers 404.
	NoShop bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RecordRequests keeps every API exchange for Log.
	RecordRequests bool
}

// RequestLog is one recorded exchange.
type RequestLog struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Form         url.Values // the form of a POST
	Status       int
	Response     http.Header
	Body         []byte
}

// Sandbox simulates one Etsy shop's Open API v3 over seeded data: the OAuth consent page (/oauth/connect,
// PKCE S256 required) and token endpoint (authorization_code and refresh_token grants, rotating refresh
// tokens), the x-api-key and bearer checks with Etsy's error bodies, GET /users/me, /users/{id}/shops, /shops/{id},
// /shops/{id}/receipts (every filter, sort and the limit/offset rules), /shops/{id}/listings/active and
// /listings/{id}/inventory, the per-second and per-day quota with its headers and 429s, and fault injection.
// Cancellations, refunds and shipments leave a receipt's updated_timestamp alone, as on Etsy.
type Sandbox struct {
	opts    SandboxOptions
	faults  sandboxkit.Faults
	handler http.Handler

	mu        sync.Mutex
	shop      sbShop
	receipts  []*sbReceipt
	listings  []*sbListing
	keystring string
	secret    string
	auth      *sandboxkit.AuthServer
	password  string
	second    *sandboxkit.Bucket
	day       *sandboxkit.Bucket
	throttled int64
	log       []RequestLog
}

// NewSandbox builds a sandbox. Its keystring, shared secret and tokens are random, so two sandboxes never
// accept each other's credentials.
func NewSandbox(opts SandboxOptions) *Sandbox {
	if opts.PerSecond <= 0 {
		opts.PerSecond = DefaultPerSecond
	}
	if opts.PerDay <= 0 {
		opts.PerDay = DefaultPerDay
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.End.IsZero() {
		opts.End = opts.Now().UTC().Truncate(time.Second)
	}
	s := &Sandbox{opts: opts, keystring: randomToken(12), secret: randomToken(5), password: randomToken(8)}
	s.shop, s.receipts, s.listings = seed(opts)
	// Etsy's tokens are {user_id}.{token}; codes are spent by any attempt and PKCE is mandatory.
	s.auth = sandboxkit.NewAuthServer(sandboxkit.AuthServerOptions{ClientID: s.keystring, ClientSecret: s.secret,
		Username: sandboxUser, Password: s.password, AccessTTL: opts.TokenTTL, RefreshTTL: RefreshTTL, Rotate: true,
		RequirePKCE: true, TokenPrefix: strconv.FormatInt(s.shop.UserID, 10) + ".", Now: opts.Now})
	if opts.Unlimited {
		s.second, s.day = sandboxkit.Unlimited(), sandboxkit.Unlimited()
	} else {
		s.second = sandboxkit.NewBucket(float64(opts.PerSecond), float64(opts.PerSecond))
		s.day = sandboxkit.NewBucket(float64(opts.PerDay), float64(opts.PerDay)/86400)
		s.second.Now, s.day.Now = opts.Now, opts.Now
	}
	s.handler = s.faults.Wrap(http.HandlerFunc(s.serve), func(w http.ResponseWriter, status int) {
		writeJSON(w, status, map[string]any{"error": http.StatusText(status)})
	})
	return s
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// sandboxUser is the shop owner's login on the consent page.
const sandboxUser = "shop-owner@example.com"

// ServeHTTP serves the API.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Keystring and SharedSecret are the app's keys.
func (s *Sandbox) Keystring() string    { return s.keystring }
func (s *Sandbox) SharedSecret() string { return s.secret }

// MintRefreshToken issues a new grant for the shop owner without the consent page, as a token minted outside
// the operator, and returns its refresh token. Each grant rotates on its own.
func (s *Sandbox) MintRefreshToken() string {
	return s.auth.Mint(Scopes, s.subject()).RefreshToken
}

func (s *Sandbox) subject() map[string]string {
	return map[string]string{"user_id": strconv.FormatInt(s.shop.UserID, 10)}
}

// Auth is the sandbox's authorization server.
func (s *Sandbox) Auth() *sandboxkit.AuthServer { return s.auth }

// AppCredentials is the Secret data of an OAuth integration: the app's keystring and shared secret.
func (s *Sandbox) AppCredentials() map[string][]byte {
	return map[string][]byte{CredentialKeystring: []byte(s.keystring), CredentialSharedSecret: []byte(s.secret)}
}

// RegisterRedirect adds a callback URL to the app, as on etsy.com/developers/your-apps.
func (s *Sandbox) RegisterRedirect(callbackURL string) { s.auth.RegisterRedirect(callbackURL) }

// Login is the shop owner's Etsy login on the consent page.
func (s *Sandbox) Login() (username, password string) { return sandboxUser, s.password }

// ShopID is the shop's ID.
func (s *Sandbox) ShopID() int64 { return s.shop.ID }

// FailNext makes the next n requests answer with the HTTP status; ResetNext drops the next n connections.
func (s *Sandbox) FailNext(n, status int) { s.faults.FailNext(n, status) }
func (s *Sandbox) ResetNext(n int)        { s.faults.ResetNext(n) }

// Requests counts the requests received, token requests included.
func (s *Sandbox) Requests() int64 { return s.faults.Requests() }

// Throttled counts the 429s sent; Refreshes the refresh grants answered.
func (s *Sandbox) Throttled() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}
func (s *Sandbox) Refreshes() int64 {
	_, n, _ := s.auth.Counts()
	return int64(n)
}

// Log returns the recorded exchanges.
func (s *Sandbox) Log() []RequestLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestLog(nil), s.log...)
}

// ExpireAccessTokens makes every access token issued so far expired.
func (s *Sandbox) ExpireAccessTokens() { s.auth.ExpireAccessTokens() }

// RevokeGrant revokes every grant, as when the owner removes the app under Account settings > Apps.
func (s *Sandbox) RevokeGrant() { s.auth.RevokeAll() }

// Drain spends n requests of this second's quota, as another client of the same app would.
func (s *Sandbox) Drain(n int) {
	for i := 0; i < n; i++ {
		s.second.Take(1)
	}
}

// SandboxCounts are the sizes of the data as the connector sees it.
type SandboxCounts struct {
	Receipts, Transactions, ActiveListings, Products int
}

// Counts returns the current sizes: Products counts the inventory products of active listings.
func (s *Sandbox) Counts() SandboxCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := SandboxCounts{Receipts: len(s.receipts)}
	for _, r := range s.receipts {
		c.Transactions += len(r.Lines)
	}
	for _, l := range s.listings {
		if l.State == "active" {
			c.ActiveListings++
			c.Products += len(l.Products)
		}
	}
	return c
}

// Receipt is a receipt as tests see it.
type Receipt struct {
	ID, Created, Updated int64
	Status               string
	Paid, Shipped        bool
	TotalCents           int64
	Currency             string
	Lines                []sbLine
}

// Receipts returns every receipt by ID.
func (s *Sandbox) Receipts() []Receipt {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Receipt, 0, len(s.receipts))
	for _, r := range s.receipts {
		out = append(out, Receipt{ID: r.ID, Created: r.Created, Updated: r.Updated, Status: r.Status, Paid: r.Paid,
			Shipped: r.Shipped, TotalCents: r.subtotal() + r.Shipping + r.Tax, Currency: r.Currency,
			Lines: append([]sbLine(nil), r.Lines...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Listing is an active listing with its products, as tests see it.
type Listing struct {
	ID       int64
	Title    string
	Updated  int64
	Products []sbProduct
}

// ActiveListings returns the active listings in Etsy's order.
func (s *Sandbox) ActiveListings() []Listing {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Listing
	for _, l := range s.activeLocked() {
		out = append(out, Listing{ID: l.ID, Title: l.Title, Updated: l.Updated, Products: append([]sbProduct(nil), l.Products...)})
	}
	return out
}

func (s *Sandbox) now() time.Time { return s.opts.Now().UTC() }

func (s *Sandbox) receiptLocked(id int64) *sbReceipt {
	for _, r := range s.receipts {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// TouchReceipt changes a receipt the way Etsy timestamps (a seller message): updated_timestamp becomes now.
func (s *Sandbox) TouchReceipt(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.receiptLocked(id)
	if r == nil {
		return false
	}
	r.Updated = s.now().Unix()
	r.MessageSeller = fmt.Sprintf("Updated at %d", r.Updated)
	r.rendered = nil
	return true
}

// CancelReceipt cancels a receipt. As on Etsy, updated_timestamp does not move.
func (s *Sandbox) CancelReceipt(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.receiptLocked(id)
	if r == nil {
		return false
	}
	r.Status, r.CancelledAt, r.rendered = "canceled", s.now().Unix(), nil
	return true
}

// ShipReceipt marks a receipt shipped. As on Etsy, updated_timestamp does not move.
func (s *Sandbox) ShipReceipt(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.receiptLocked(id)
	if r == nil {
		return false
	}
	r.Status, r.Shipped, r.ShippedAt, r.rendered = "completed", true, s.now().Unix(), nil
	return true
}

// SetQuantity sets a product's stock, which moves its listing's updated_timestamp.
func (s *Sandbox) SetQuantity(productID int64, qty int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listings {
		for i := range l.Products {
			if l.Products[i].ID == productID {
				l.Products[i].Quantity = qty
				l.Updated = s.now().Unix()
				return true
			}
		}
	}
	return false
}

// SetListingState changes a listing's state (active, inactive, sold_out, draft, expired).
func (s *Sandbox) SetListingState(listingID int64, state string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listings {
		if l.ID == listingID {
			l.State, l.Updated = state, s.now().Unix()
			return true
		}
	}
	return false
}

func (s *Sandbox) activeLocked() []*sbListing {
	var out []*sbListing
	for _, l := range s.listings {
		if l.State == "active" {
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Created != out[j].Created {
			return out[i].Created < out[j].Created
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// ---- HTTP ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type recorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body = append(r.body, b...)
	return r.ResponseWriter.Write(b)
}

func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) {
	if !s.opts.RecordRequests {
		s.route(w, r)
		return
	}
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.route(rec, r)
	s.mu.Lock()
	s.log = append(s.log, RequestLog{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(),
		Form: r.PostForm, Status: rec.status, Response: w.Header().Clone(), Body: rec.body})
	s.mu.Unlock()
}

func (s *Sandbox) route(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case tokenPath:
		s.serveToken(w, r)
		return
	case authPath:
		s.serveConsent(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, apiPrefix+"/") {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "Resource not found"})
		return
	}
	if !s.checkKey(w, r) || !s.throttle(w) || !s.checkBearer(w, r) {
		return
	}
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "Method not allowed"})
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, apiPrefix+"/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "users" && parts[1] == "me":
		me := map[string]any{"user_id": s.shop.UserID, "shop_id": s.shop.ID}
		if s.opts.NoShop {
			me["shop_id"] = nil
		}
		writeJSON(w, http.StatusOK, me)
	case len(parts) == 3 && parts[0] == "users" && parts[2] == "shops":
		s.serveUserShops(w, parts[1])
	case len(parts) == 2 && parts[0] == "shops":
		if s.checkShop(w, parts[1]) {
			s.mu.Lock()
			active, sold := len(s.activeLocked()), len(s.receipts)
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, s.shop.render(active, sold))
		}
	case len(parts) == 3 && parts[0] == "shops" && parts[2] == "receipts":
		if s.checkShop(w, parts[1]) {
			s.serveReceipts(w, r.URL.Query())
		}
	case len(parts) == 4 && parts[0] == "shops" && parts[2] == "listings" && parts[3] == "active":
		if s.checkShop(w, parts[1]) {
			s.serveActiveListings(w, r.URL.Query())
		}
	case len(parts) == 3 && parts[0] == "listings" && parts[2] == "inventory":
		s.serveInventory(w, parts[1])
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "Resource not found"})
	}
}

// serveConsent is https://www.etsy.com/oauth/connect: the shop owner logs in and grants the scopes. Etsy
// requires response_type=code, a registered redirect_uri, scope, state and an S256 code_challenge.
func (s *Sandbox) serveConsent(w http.ResponseWriter, r *http.Request) {
	validate := func(q url.Values) error {
		if q.Get("response_type") != "code" {
			return fmt.Errorf("response_type must be code")
		}
		if err := s.auth.CheckAuthorize(q.Get("client_id"), q.Get("redirect_uri"), q.Get("code_challenge"), q.Get("code_challenge_method")); err != nil {
			return err
		}
		if q.Get("state") == "" {
			return fmt.Errorf("state is required")
		}
		scopes := strings.Fields(q.Get("scope"))
		if len(scopes) == 0 {
			return fmt.Errorf("scope is required")
		}
		for _, sc := range scopes {
			if !knownScopes[sc] {
				return fmt.Errorf("unknown scope %q", sc)
			}
		}
		return nil
	}
	approve := func(q url.Values) (string, error) {
		code := s.auth.IssueCode(q.Get("client_id"), q.Get("redirect_uri"), q.Get("code_challenge"), q.Get("scope"), s.subject())
		return sandboxkit.AppendQuery(q.Get("redirect_uri"), url.Values{"code": {code}, "state": {q.Get("state")}})
	}
	deny := func(q url.Values) (string, error) {
		return sandboxkit.AppendQuery(q.Get("redirect_uri"), url.Values{"error": {"access_denied"},
			"error_description": {"The user denied the request"}, "state": {q.Get("state")}})
	}
	s.auth.Consent(w, r, "Etsy", validate, approve, deny)
}

// knownScopes are Etsy's OAuth scopes.
var knownScopes = map[string]bool{"address_r": true, "address_w": true, "billing_r": true, "cart_r": true, "cart_w": true,
	"email_r": true, "favorites_r": true, "favorites_w": true, "feedback_r": true, "listings_d": true, "listings_r": true,
	"listings_w": true, "profile_r": true, "profile_w": true, "recommend_r": true, "recommend_w": true, "shops_r": true,
	"shops_w": true, "transactions_r": true, "transactions_w": true}

// tokenAnswer is the token endpoint's answer.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// serveToken is POST /v3/public/oauth/token: the authorization_code grant (client_id, redirect_uri, code,
// code_verifier) and the refresh_token grant (client_id, refresh_token), which rotates the refresh token.
func (s *Sandbox) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "Method not allowed"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: "malformed body"})
		return
	}
	f := r.PostForm
	if f.Get("client_id") != s.keystring {
		writeJSON(w, http.StatusUnauthorized, oauthError{Error: "invalid_client", Description: "client_id is invalid"})
		return
	}
	var g sandboxkit.Grant
	var oe *sandboxkit.OAuthError
	switch f.Get("grant_type") {
	case "authorization_code":
		for _, p := range []string{"code", "redirect_uri", "code_verifier"} {
			if f.Get(p) == "" {
				writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: p + " is required"})
				return
			}
		}
		g, oe = s.auth.Redeem(f.Get("code"), f.Get("client_id"), f.Get("redirect_uri"), f.Get("code_verifier"))
	case "refresh_token":
		if f.Get("refresh_token") == "" {
			writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: "refresh_token is required"})
			return
		}
		g, oe = s.auth.Refresh(f.Get("refresh_token"), f.Get("client_id"))
	default:
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "unsupported_grant_type", Description: "grant_type must be authorization_code or refresh_token"})
		return
	}
	if oe != nil {
		oe.Write(w)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenAnswer{AccessToken: g.AccessToken, TokenType: "Bearer", ExpiresIn: g.ExpiresIn(s.now()),
		RefreshToken: g.RefreshToken})
}

// serveUserShops is GET /users/{user_id}/shops (getShopByOwnerUserId): the user's one shop, or 404.
func (s *Sandbox) serveUserShops(w http.ResponseWriter, raw string) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		badRequest(w, fmt.Errorf("Expected int >= 1 for 'user_id', got %q.", raw))
		return
	}
	if id != s.shop.UserID || s.opts.NoShop {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("Could not find a shop for user with user_id = %d", id)})
		return
	}
	s.mu.Lock()
	active, sold := len(s.activeLocked()), len(s.receipts)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.shop.render(active, sold))
}

// checkKey enforces x-api-key: keystring:shared_secret, with Etsy's 403 bodies.
func (s *Sandbox) checkKey(w http.ResponseWriter, r *http.Request) bool {
	key := r.Header.Get("x-api-key")
	ks, secret, hasSecret := strings.Cut(key, ":")
	switch {
	case key == "":
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "Missing x-api-key header."})
	case !hasSecret:
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "Shared secret is required in x-api-key header."})
	case ks != s.keystring || secret != s.secret:
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "Invalid API key"})
	default:
		return true
	}
	return false
}

// throttle takes one request from the per-second and per-day quota, always sending the quota headers; over
// either, it answers 429 with retry-after.
func (s *Sandbox) throttle(w http.ResponseWriter) bool {
	if s.opts.Unlimited {
		return true
	}
	okSecond, waitSecond := s.second.Take(1)
	okDay, waitDay := true, time.Duration(0)
	if okSecond {
		if okDay, waitDay = s.day.Take(1); !okDay {
			s.second.Take(-1)
		}
	}
	h := w.Header()
	h.Set(headerLimitPerSecond, strconv.Itoa(s.opts.PerSecond))
	h.Set(headerRemainingThisSecond, strconv.Itoa(int(math.Max(0, math.Floor(s.second.Remaining())))))
	h.Set(headerLimitPerDay, strconv.Itoa(s.opts.PerDay))
	h.Set(headerRemainingToday, strconv.Itoa(int(math.Max(0, math.Floor(s.day.Remaining())))))
	if okSecond && okDay {
		return true
	}
	wait := max(waitSecond, waitDay)
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	s.mu.Lock()
	s.throttled++
	s.mu.Unlock()
	msg := "You have exceeded your quota of requests per second."
	if !okDay {
		msg = "You have exceeded your quota of requests per day."
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": msg})
	return false
}

// checkBearer enforces the OAuth access token, with Etsy's 401 bodies.
func (s *Sandbox) checkBearer(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		writeJSON(w, http.StatusUnauthorized, oauthError{Error: "invalid_token", Description: "access token is missing"})
		return false
	}
	// Only live access tokens of the authorization server pass: expired, revoked and unknown ones get
	// Etsy's 401 invalid_token.
	if _, live := s.auth.Access(token); !live {
		writeJSON(w, http.StatusUnauthorized, oauthError{Error: "invalid_token", Description: "access token is invalid"})
		return false
	}
	return true
}

func (s *Sandbox) checkShop(w http.ResponseWriter, raw string) bool {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf("Expected int >= 1 for 'shop_id', got %q.", raw)})
		return false
	}
	if id != s.shop.ID {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("Could not find a shop with shop_id = %d", id)})
		return false
	}
	return true
}

func intParam(q url.Values, name string, def, lo, hi int64) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("invalid value for parameter %q: expected an integer from %d to %d, got %q", name, lo, hi, v)
	}
	return n, nil
}

func boolParam(q url.Values, name string) (*bool, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, fmt.Errorf("invalid value for parameter %q: expected a boolean, got %q", name, v)
	}
	return &b, nil
}

func badRequest(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
}

// page parses limit (1-100, default 25) and offset.
func page(q url.Values) (limit, offset int64, err error) {
	if limit, err = intParam(q, "limit", 25, 1, maxPageSize); err != nil {
		return 0, 0, err
	}
	offset, err = intParam(q, "offset", 0, 0, math.MaxInt32)
	return limit, offset, err
}

func (s *Sandbox) serveReceipts(w http.ResponseWriter, q url.Values) {
	limit, offset, err := page(q)
	if err != nil {
		badRequest(w, err)
		return
	}
	bounds := map[string]int64{}
	for _, name := range []string{"min_created", "max_created", "min_last_modified", "max_last_modified"} {
		v, err := intParam(q, name, 0, minTimestamp, math.MaxInt64)
		if err != nil {
			badRequest(w, err)
			return
		}
		bounds[name] = v
	}
	flags := map[string]*bool{}
	for _, name := range []string{"was_paid", "was_shipped", "was_delivered", "was_canceled"} {
		b, err := boolParam(q, name)
		if err != nil {
			badRequest(w, err)
			return
		}
		flags[name] = b
	}
	sortOn := q.Get("sort_on")
	switch sortOn {
	case "":
		sortOn = "created"
	case "created", "updated", "receipt_id":
	default:
		badRequest(w, fmt.Errorf("invalid value for parameter \"sort_on\": %q is not one of created, updated, receipt_id", sortOn))
		return
	}
	desc := true
	switch q.Get("sort_order") {
	case "", "desc", "descending", "down":
	case "asc", "ascending", "up":
		desc = false
	default:
		badRequest(w, fmt.Errorf("invalid value for parameter \"sort_order\": %q", q.Get("sort_order")))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().Unix()
	match := func(r *sbReceipt) bool {
		in := func(v int64, lo, hi string) bool {
			return (bounds[lo] == 0 || v >= bounds[lo]) && (bounds[hi] == 0 || v <= bounds[hi])
		}
		is := func(name string, v bool) bool { return flags[name] == nil || *flags[name] == v }
		delivered := r.Shipped && r.ShippedAt < now-5*86400
		return in(r.Created, "min_created", "max_created") && in(r.Updated, "min_last_modified", "max_last_modified") &&
			is("was_paid", r.Paid) && is("was_shipped", r.Shipped) && is("was_delivered", delivered) &&
			is("was_canceled", r.Status == "canceled")
	}
	var hits []*sbReceipt
	for _, r := range s.receipts {
		if match(r) {
			hits = append(hits, r)
		}
	}
	key := func(r *sbReceipt) int64 {
		switch sortOn {
		case "updated":
			return r.Updated
		case "receipt_id":
			return r.ID
		}
		return r.Created
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if key(a) != key(b) {
			return (key(a) < key(b)) != desc
		}
		return (a.ID < b.ID) != desc
	})
	// Receipts are rendered once and kept until they change: the JSON of a page is mostly theirs.
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"count":%d,"results":[`, len(hits))
	for i := offset; i < int64(len(hits)) && i < offset+limit; i++ {
		if i > offset {
			b.WriteByte(',')
		}
		b.Write(hits[i].json(s.shop))
	}
	b.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

func (s *Sandbox) serveActiveListings(w http.ResponseWriter, q url.Values) {
	limit, offset, err := page(q)
	if err != nil {
		badRequest(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	active := s.activeLocked()
	results := []any{}
	for i := offset; i < int64(len(active)) && i < offset+limit; i++ {
		results = append(results, active[i].render(s.shop))
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(active), "results": results})
}

func (s *Sandbox) serveInventory(w http.ResponseWriter, raw string) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		badRequest(w, fmt.Errorf("Expected int >= 1 for 'listing_id', got %q.", raw))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listings {
		if l.ID == id {
			writeJSON(w, http.StatusOK, l.renderInventory(s.shop.Currency))
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("Could not find a Listing with listing_id = %d", id)})
}
