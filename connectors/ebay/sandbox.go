package ebay

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// RateLimit is the sandbox's short-term throttle: a token bucket of Burst requests refilled at PerSecond.
// eBay publishes daily quotas per API and answers bursts above its undocumented short-term limit with HTTP 429
// and errorId 2001; the bucket stands in for that limit.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// DefaultRateLimit is the sandbox's throttle unless told otherwise: 10 requests a second, bursts of 10.
var DefaultRateLimit = RateLimit{PerSecond: 10, Burst: 10}

// SandboxOptions configure a Sandbox. Zero values take the defaults.
type SandboxOptions struct {
	// Seed, Orders (default 3000), Products (default 200) and Locations (default 4) size the seller's data.
	Seed                        uint64
	Orders, Products, Locations int
	// End is the newest modification time in the seeded data (default now).
	End time.Time
	// RateLimit is the throttle (default DefaultRateLimit); Unlimited turns it off.
	RateLimit RateLimit
	Unlimited bool
	// AccessTokenTTL is how long an access token lives (default two hours, as on eBay).
	AccessTokenTTL time.Duration
	// Now is the sandbox's clock (default time.Now).
	Now func() time.Time
}

// seededHistory is how far back the seeded orders go: inside getOrders' two-year window, with a week to spare
// so that a sandbox kept running does not age its oldest orders out.
const seededHistory = 2*365*24*time.Hour - 7*24*time.Hour

// Sandbox simulates the parts of eBay's REST APIs the connector uses: the OAuth token endpoint (refresh_token
// grant), Sell Fulfillment getOrders and Sell Inventory getInventoryItems and getInventoryLocations. It enforces
// what eBay enforces: client credentials and refresh tokens with eBay's OAuth error bodies, bearer access tokens
// that expire (401, errorId 1001) and scopes (403, errorId 1100), the getOrders filter syntax and date format
// with its two-year window and limit of 200 (400 with eBay's errorIds), page-number offsets for inventory items,
// and a request throttle answered with 429 and errorId 2001. Orders still awaiting payment are not listed, as
// on eBay.
type Sandbox struct {
	clientID, clientSecret, refreshToken, ruName string
	tokenTTL                                     time.Duration
	now                                          func() time.Time
	auth                                         *sandboxkit.AuthServer

	bucket  *sandboxkit.Bucket
	faults  sandboxkit.Faults
	handler http.Handler

	mu     sync.Mutex
	data   *sandboxData
	scopes []string
	// granted are the scopes of each access token issued.
	granted   map[string][]string
	acceptURL string
	log       []LoggedRequest

	throttled, tokenRequests atomic.Int64
}

// LoggedRequest is a request the sandbox received, for tests that check what the client sends. The
// Authorization header is reduced to its scheme.
type LoggedRequest struct {
	Method   string
	Path     string
	RawQuery string
	Query    url.Values
	Auth     string
	Header   http.Header
}

// NewSandbox builds a sandbox over seeded data.
func NewSandbox(opts SandboxOptions) *Sandbox {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	end := opts.End
	if end.IsZero() {
		end = now().UTC().Truncate(time.Second)
	}
	cat := sandboxkit.Generate(sandboxkit.Options{
		Seed: opts.Seed, Orders: opts.Orders, Products: opts.Products, Locations: opts.Locations,
		History: seededHistory, End: end,
	})
	s := &Sandbox{
		clientID:     "AcmeOutf-Tether-PRD-" + hexOf(opts.Seed, 8) + "-" + hexOf(opts.Seed+1, 4),
		clientSecret: "PRD-" + hexOf(opts.Seed+2, 12),
		ruName:       "Acme_Outfitters-AcmeOutf-Tether-" + hexOf(opts.Seed+4, 3),
		scopes:       []string{ScopeFulfillment, ScopeInventory, "https://api.ebay.com/oauth/api_scope"},
		tokenTTL:     opts.AccessTokenTTL,
		now:          now,
		data:         newSandboxData(cat),
		granted:      map[string][]string{},
	}
	if s.tokenTTL <= 0 {
		s.tokenTTL = 2 * time.Hour
	}
	// eBay's user tokens: two-hour access tokens, refresh tokens of about 18 months that do not rotate, codes
	// that live five minutes (eBay says 299 s).
	s.auth = sandboxkit.NewAuthServer(sandboxkit.AuthServerOptions{
		ClientID: s.clientID, ClientSecret: s.clientSecret,
		Username: "acme-outfitters", Password: "sandbox-seller-password",
		AccessTTL: s.tokenTTL, RefreshTTL: refreshTokenTTL, CodeTTL: 299 * time.Second,
		TokenPrefix: "v^1.1#i^1#p^3#f^0#I^3#r^0#t^H4sI", Now: now,
	})
	// The refresh token a seller minted outside the operator (API credentials).
	s.refreshToken = s.auth.Mint(strings.Join(s.scopes, " "), nil).RefreshToken
	switch rl := opts.RateLimit; {
	case opts.Unlimited:
		s.bucket = sandboxkit.Unlimited()
	case rl.PerSecond > 0:
		s.bucket = sandboxkit.NewBucket(float64(max(rl.Burst, 1)), rl.PerSecond)
	default:
		s.bucket = sandboxkit.NewBucket(float64(DefaultRateLimit.Burst), DefaultRateLimit.PerSecond)
	}
	s.bucket.Now = now
	mux := http.NewServeMux()
	mux.HandleFunc("/identity/v1/oauth2/token", s.serveToken)
	mux.HandleFunc(authorizePath, s.serveAuthorize)
	mux.HandleFunc("GET "+ordersPath, s.api(ScopeFulfillment, s.serveOrders))
	mux.HandleFunc("GET "+inventoryItemsPath, s.api(ScopeInventory, s.serveInventoryItems))
	mux.HandleFunc("GET "+locationsPath, s.api(ScopeInventory, s.serveLocations))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, apiError{ErrorID: 2002, Domain: "ACCESS", Category: "REQUEST",
			Message: "Resource not found", LongMessage: "The requested resource was not found: " + r.URL.Path})
	})
	s.handler = s.faults.Wrap(mux, s.faultBody)
	return s
}

func hexOf(seed uint64, n int) string {
	b := make([]byte, n)
	for i := range b {
		seed = seed*6364136223846793005 + 1442695040888963407
		b[i] = byte(seed >> 56)
	}
	return hex.EncodeToString(b)
}

// ServeHTTP serves the eBay API.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// ClientID, ClientSecret and RefreshToken are the credentials the sandbox accepts.
func (s *Sandbox) ClientID() string     { return s.clientID }
func (s *Sandbox) ClientSecret() string { return s.clientSecret }
func (s *Sandbox) RefreshToken() string { return s.refreshToken }

// RuName is the app's redirect URL name.
func (s *Sandbox) RuName() string { return s.ruName }

// SetAcceptURL sets the accept URL the app's RuName maps to, as the developer does on the User Tokens page.
func (s *Sandbox) SetAcceptURL(u string) {
	s.mu.Lock()
	s.acceptURL = u
	s.mu.Unlock()
	s.auth.RegisterRedirect(u)
}

// Auth is the sandbox's authorization server.
func (s *Sandbox) Auth() *sandboxkit.AuthServer { return s.auth }

// Throttled counts the requests answered with 429.
func (s *Sandbox) Throttled() int64 { return s.throttled.Load() }

// TokenRequests counts the requests to the token endpoint.
func (s *Sandbox) TokenRequests() int64 { return s.tokenRequests.Load() }

// Requests counts every request received, faults included.
func (s *Sandbox) Requests() int64 { return s.faults.Requests() }

// FailNext answers the next n requests with the HTTP status and eBay's error body for it.
func (s *Sandbox) FailNext(n, status int) { s.faults.FailNext(n, status) }

// ResetNext drops the connection of the next n requests.
func (s *Sandbox) ResetNext(n int) { s.faults.ResetNext(n) }

// RevokeRefreshToken revokes the seller's consent: refreshes fail with invalid_grant and every access token
// issued from it stops working.
func (s *Sandbox) RevokeRefreshToken() { s.auth.RevokeAll() }

// ExpireAccessTokens makes every issued access token invalid, as if their two hours had passed.
func (s *Sandbox) ExpireAccessTokens() { s.auth.ExpireAccessTokens() }

// SetGrantedScopes changes the scopes the seller consented to.
func (s *Sandbox) SetGrantedScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = scopes
}

// RequestLog returns the API requests received so far (token requests excluded), oldest first, up to the
// last 5000.
func (s *Sandbox) RequestLog() []LoggedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// writeErrors writes eBay's REST error body.
func writeErrors(w http.ResponseWriter, status int, errs ...apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiErrors{Errors: errs})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

var (
	errInvalidToken = apiError{ErrorID: 1001, Domain: "OAuth", Category: "REQUEST", Message: "Invalid access token",
		LongMessage: "Invalid access token. Check the value of the Authorization HTTP request header."}
	errAccessDenied = apiError{ErrorID: 1100, Domain: "ACCESS", Category: "REQUEST", Message: "Access denied",
		LongMessage: "Insufficient permissions to fulfill the request."}
	errTooManyRequests = apiError{ErrorID: 2001, Domain: "ACCESS", Category: "REQUEST", Message: "Too many requests",
		LongMessage: "The request limit has been reached for the resource."}
	errSystem = apiError{ErrorID: 10001, Domain: "API_FULFILLMENT", Category: "APPLICATION", Message: "System error",
		LongMessage: "There was a problem with an eBay internal system or process. Contact eBay developer support for assistance."}
)

// faultBody writes eBay's body for an injected failure.
func (s *Sandbox) faultBody(w http.ResponseWriter, status int) {
	switch {
	case status == http.StatusTooManyRequests:
		s.throttled.Add(1)
		writeErrors(w, status, errTooManyRequests)
	case status == http.StatusUnauthorized:
		writeErrors(w, status, errInvalidToken)
	default:
		writeErrors(w, status, errSystem)
	}
}

// api wraps an API handler with the throttle, the bearer-token check and the scope check.
func (s *Sandbox) api(scope string, next http.HandlerFunc) http.HandlerFunc {
	readWrite := strings.TrimSuffix(scope, ".readonly")
	return func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		if ok, _ := s.bucket.Take(1); !ok {
			s.throttled.Add(1)
			writeErrors(w, http.StatusTooManyRequests, errTooManyRequests)
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		g, live := s.auth.Access(token)
		if !strings.EqualFold(scheme, "Bearer") || !live {
			writeErrors(w, http.StatusUnauthorized, errInvalidToken)
			return
		}
		s.mu.Lock()
		scopes, ok := s.granted[token]
		s.mu.Unlock()
		if !ok {
			scopes = strings.Fields(g.Scope)
		}
		if !slices.Contains(scopes, scope) && !slices.Contains(scopes, readWrite) {
			writeErrors(w, http.StatusForbidden, errAccessDenied)
			return
		}
		next(w, r)
	}
}

func (s *Sandbox) record(r *http.Request) {
	h := r.Header.Clone()
	auth, _, _ := strings.Cut(h.Get("Authorization"), " ")
	h.Del("Authorization")
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.log) >= 5000 {
		s.log = s.log[1:]
	}
	s.log = append(s.log, LoggedRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Query: r.URL.Query(), Auth: auth, Header: h})
}

// refreshTokenTTL is a refresh token's lifetime: refresh_token_expires_in 47304000 seconds (18 months).
const refreshTokenTTL = 47304000 * time.Second

// oauthFailure writes the identity API's error body (RFC 6749 section 5.2).
func oauthFailure(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// serveAuthorize is eBay's grant-application-access page, GET /oauth2/authorize?client_id&redirect_uri=RuName&
// response_type=code&scope&state. The RuName must be the app's, and have an accept URL; on consent the browser
// goes to that URL with state, code and expires_in, on denial with error=access_denied.
func (s *Sandbox) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	s.auth.Consent(w, r, "eBay", func(q url.Values) error {
		s.mu.Lock()
		accept, granted := s.acceptURL, s.scopes
		s.mu.Unlock()
		switch {
		case q.Get("client_id") != s.clientID:
			return fmt.Errorf("client_id is not a registered application")
		case q.Get("redirect_uri") != s.ruName:
			return fmt.Errorf("redirect_uri is not one of the application's RuNames")
		case accept == "":
			return fmt.Errorf("the RuName has no auth accepted URL")
		case q.Get("response_type") != "code":
			return fmt.Errorf("response_type must be code")
		case len(strings.Fields(q.Get("scope"))) == 0:
			return fmt.Errorf("scope is missing")
		}
		for _, sc := range strings.Fields(q.Get("scope")) {
			if !slices.Contains(granted, sc) {
				return fmt.Errorf("scope %s is not available to the application", sc)
			}
		}
		return nil
	}, func(q url.Values) (string, error) {
		code := s.auth.IssueCode(s.clientID, s.ruName, "", q.Get("scope"), nil)
		s.mu.Lock()
		accept := s.acceptURL
		s.mu.Unlock()
		return sandboxkit.AppendQuery(accept, url.Values{"state": {q.Get("state")}, "code": {code}, "expires_in": {"299"}})
	}, func(q url.Values) (string, error) {
		s.mu.Lock()
		accept := s.acceptURL
		s.mu.Unlock()
		return sandboxkit.AppendQuery(accept, url.Values{"state": {q.Get("state")}, "error": {"access_denied"}})
	})
}

// serveToken is POST /identity/v1/oauth2/token: the authorization_code and refresh_token grants, with the
// client credentials in Basic auth.
func (s *Sandbox) serveToken(w http.ResponseWriter, r *http.Request) {
	s.tokenRequests.Add(1)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthFailure(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint only accepts POST")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || !s.auth.CheckClient(id, secret) {
		oauthFailure(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		oauthFailure(w, http.StatusBadRequest, "invalid_request", "request is missing a required parameter or malformed")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthFailure(w, http.StatusBadRequest, "invalid_request", "request is missing a required parameter or malformed")
		return
	}
	f := r.PostForm
	switch f.Get("grant_type") {
	case "authorization_code":
		if f.Get("code") == "" || f.Get("redirect_uri") == "" {
			oauthFailure(w, http.StatusBadRequest, "invalid_request", "request is missing a required parameter or malformed")
			return
		}
		g, oerr := s.auth.Redeem(f.Get("code"), id, f.Get("redirect_uri"), "")
		if oerr != nil {
			oauthFailure(w, http.StatusBadRequest, "invalid_grant", "the provided authorization grant code is invalid or was issued to another client")
			return
		}
		s.grant(g.AccessToken, strings.Fields(g.Scope))
		writeJSON(w, map[string]any{
			"access_token": g.AccessToken, "expires_in": g.ExpiresIn(s.now()), "refresh_token": g.RefreshToken,
			"refresh_token_expires_in": g.RefreshExpiresIn(s.now()), "token_type": "User Access Token",
		})
		return
	case "refresh_token":
	case "":
		oauthFailure(w, http.StatusBadRequest, "invalid_request", "request is missing a required parameter or malformed")
		return
	default:
		oauthFailure(w, http.StatusBadRequest, "unsupported_grant_type", "grant type in request is not supported by the authorization server")
		return
	}
	rt := f.Get("refresh_token")
	if rt == "" {
		oauthFailure(w, http.StatusBadRequest, "invalid_request", "request is missing a required parameter or malformed")
		return
	}
	s.mu.Lock()
	scopes := s.scopes
	s.mu.Unlock()
	if req := strings.Fields(f.Get("scope")); len(req) > 0 {
		for _, sc := range req {
			if !slices.Contains(scopes, sc) {
				oauthFailure(w, http.StatusBadRequest, "invalid_scope", "the requested scope is invalid, unknown, malformed, or exceeds the scope granted to the client")
				return
			}
		}
		scopes = req
	}
	g, oerr := s.auth.Refresh(rt, id)
	if oerr != nil {
		oauthFailure(w, http.StatusBadRequest, "invalid_grant", "the provided authorization refresh token is invalid or was issued to another client")
		return
	}
	s.grant(g.AccessToken, scopes)
	writeJSON(w, map[string]any{
		"access_token": g.AccessToken,
		"expires_in":   g.ExpiresIn(s.now()),
		"token_type":   "User Access Token",
	})
}

// grant records the scopes an access token carries.
func (s *Sandbox) grant(token string, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.granted[token] = slices.Clone(scopes)
}
