package amazon

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// SandboxOptions configure a Sandbox.
type SandboxOptions struct {
	// Seed, Orders, Products and Locations size the seller's data (sandboxkit defaults when zero). Each
	// location becomes a marketplace (Marketplaces, in order, at most 14) with its FBA network.
	Seed                        uint64
	Orders, Products, Locations int
	// Unlimited turns every operation's token bucket off.
	Unlimited bool
	// Limits override the per-operation usage plans (default DefaultRates, as Amazon documents them).
	Limits map[Operation]Rate
	// TokenTTL is the lifetime of the LWA access tokens it grants (default one hour, as Amazon's).
	TokenTTL time.Duration
	// ItemsPerPage is how many items one getOrderItems page holds before a NextToken (default 10).
	ItemsPerPage int
}

// Sandbox simulates the SP-API endpoints the connector uses, and the LWA token endpoint, over a seeded
// catalog. It enforces LWA auth with expiring access tokens (403 Unauthorized in SP-API's error shape), one
// token bucket per operation (429 QuotaExceeded, no rate header on it), the two-minute rule on
// LastUpdatedBefore, the two-year limit on orders and the 18-month limit on startDateTime (400 InvalidInput),
// page size maxima, NextTokens that only work URL-encoded, and FBA nextTokens that expire after 30 seconds.
type Sandbox struct {
	opts          SandboxOptions
	applicationID string
	clientID      string
	clientSecret  string
	sellerID      string
	refreshToken  string
	secret        []byte
	auth          *sandboxkit.AuthServer

	mu      sync.RWMutex
	cat     *sandboxkit.Catalog
	markets []Marketplace
	// byOrderID indexes the catalog's orders by AmazonOrderId.
	byOrderID map[string]int

	buckets map[Operation]*sandboxkit.Bucket
	ops     sync.Map // Operation -> *atomic.Int64
	faults  sandboxkit.Faults
	handler http.Handler
	// Now is the sandbox's clock (default time.Now); tests move it to expire tokens.
	Now func() time.Time
}

// sandboxEndLag is how far before now the sandbox's newest order changed: orders of the last two minutes are
// not yet visible to a query Amazon accepts.
const sandboxEndLag = 3 * time.Minute

// unlimitedPlan is the usage plan an Unlimited sandbox reports: a rate so high that a client which adopts
// the reported plan does not wait.
const unlimitedPlan = "100000"

// NewSandbox builds a sandbox over a generated catalog.
func NewSandbox(opts SandboxOptions) *Sandbox {
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.ItemsPerPage == 0 {
		opts.ItemsPerPage = 10
	}
	locations := opts.Locations
	if locations == 0 {
		locations = 3
	}
	locations = min(locations, len(Marketplaces))
	cat := sandboxkit.Generate(sandboxkit.Options{
		Seed: opts.Seed, Orders: opts.Orders, Products: opts.Products, Locations: locations,
		// Amazon returns two years of orders; the catalog stays inside them.
		History: MaxHistory - 48*time.Hour,
		End:     time.Now().UTC().Add(-sandboxEndLag).Truncate(time.Second),
	})
	s := &Sandbox{
		opts:          opts,
		applicationID: "amzn1.sp.solution.sandbox-" + strconv.FormatUint(opts.Seed, 16),
		clientID:      "amzn1.application-oa2-client.sandbox0000000000000000000000",
		clientSecret:  "amzn1.oa2-cs.v1.sandboxsecret" + strconv.FormatUint(opts.Seed, 16),
		sellerID:      "A3SANDBOX" + strings.ToUpper(strconv.FormatUint(opts.Seed+1000, 36)),
		secret:        randomBytes(16),
		cat:           cat,
		markets:       Marketplaces[:len(cat.Locations)],
		buckets:       map[Operation]*sandboxkit.Bucket{},
	}
	// Login with Amazon: one-hour access tokens, a refresh token that neither rotates nor expires, codes that
	// live five minutes.
	s.auth = sandboxkit.NewAuthServer(sandboxkit.AuthServerOptions{
		ClientID: s.clientID, ClientSecret: s.clientSecret,
		Username: "seller@sandbox.example", Password: "sandbox-seller-password",
		AccessTTL: opts.TokenTTL, CodeTTL: 5 * time.Minute, TokenPrefix: "Atza|IwEB",
		Now: func() time.Time { return s.now() },
	})
	// The self-authorised app's refresh token, as Seller Central shows it once.
	s.refreshToken = s.auth.Mint("", map[string]string{"selling_partner_id": s.sellerID}).RefreshToken
	s.byOrderID = make(map[string]int, len(cat.Orders))
	for i := range cat.Orders {
		mi, _ := s.orderMarket(&cat.Orders[i])
		s.byOrderID[amazonOrderID(&cat.Orders[i], mi)] = i
	}
	rates := DefaultRates()
	for op, r := range opts.Limits {
		rates[op] = r
	}
	for op, r := range rates {
		if opts.Unlimited {
			s.buckets[op] = sandboxkit.Unlimited()
		} else {
			b := sandboxkit.NewBucket(float64(r.Burst), r.PerSecond)
			b.Now = s.now
			s.buckets[op] = b
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/o2/token", s.serveToken)
	mux.HandleFunc(consentPath, s.serveConsent)
	mux.HandleFunc("GET /orders/v0/orders", s.api(OpGetOrders, s.serveGetOrders))
	mux.HandleFunc("GET /orders/v0/orders/{orderId}/orderItems", s.api(OpGetOrderItems, s.serveGetOrderItems))
	mux.HandleFunc("GET /orders/2026-01-01/orders", s.api(OpSearchOrders, s.serveSearchOrders))
	mux.HandleFunc("GET /fba/inventory/v1/summaries", s.api(OpGetInventorySummaries, s.serveInventorySummaries))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, "NotFound", "Resource not found.")
	})
	s.handler = s.faults.Wrap(mux, func(w http.ResponseWriter, status int) {
		switch status {
		case http.StatusTooManyRequests:
			writeErrors(w, status, "QuotaExceeded", "You exceeded your quota for the requested resource.")
		case http.StatusServiceUnavailable:
			writeErrors(w, status, "ServiceUnavailable", "Service is temporarily unavailable.")
		default:
			writeErrors(w, status, "InternalFailure", "We encountered an internal error. Please try again.")
		}
	})
	return s
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func (s *Sandbox) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ServeHTTP serves the SP-API and LWA endpoints.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Faults injects failures in front of the sandbox.
func (s *Sandbox) Faults() *sandboxkit.Faults { return &s.faults }

// Requests counts the requests received, token grants included.
func (s *Sandbox) Requests() int64 { return s.faults.Requests() }

// OperationCounts counts the requests that reached each operation (after auth, before throttling).
func (s *Sandbox) OperationCounts() map[Operation]int64 {
	out := map[Operation]int64{}
	s.ops.Range(func(k, v any) bool {
		out[k.(Operation)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// ClientID, ClientSecret and RefreshToken are the LWA credentials the sandbox accepts; RefreshToken is the
// self-authorised app's.
func (s *Sandbox) ClientID() string     { return s.clientID }
func (s *Sandbox) ClientSecret() string { return s.clientSecret }
func (s *Sandbox) RefreshToken() string { return s.refreshToken }

// ApplicationID is the registered SP-API app's ID, which the consent URL names.
func (s *Sandbox) ApplicationID() string { return s.applicationID }

// SellingPartnerID is the seller's ID, which the consent callback reports.
func (s *Sandbox) SellingPartnerID() string { return s.sellerID }

// Auth is the sandbox's Login with Amazon authorization server.
func (s *Sandbox) Auth() *sandboxkit.AuthServer { return s.auth }

// MarketplaceIDs are the seller's marketplaces.
func (s *Sandbox) MarketplaceIDs() []string {
	out := make([]string, len(s.markets))
	for i, m := range s.markets {
		out[i] = m.ID
	}
	return out
}

// Revoke makes every refresh and access token invalid, as when the seller removes the app's authorisation in
// Seller Central.
func (s *Sandbox) Revoke() { s.auth.RevokeAll() }

// Catalog returns the data the sandbox serves. Callers must not modify it.
func (s *Sandbox) Catalog() *sandboxkit.Catalog {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cat
}

// TouchOrder changes an order: its status moves on and its LastUpdateDate becomes the newest time a query
// may see (two minutes and a little before now; Amazon's window lags that much).
func (s *Sandbox) TouchOrder(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.cat.Orders[i]
	t := s.now().UTC().Add(-sandboxEndLag).Truncate(time.Second)
	if !t.After(o.UpdatedAt) {
		t = o.UpdatedAt.Add(time.Second)
	}
	o.UpdatedAt = t
	switch o.Status {
	case "pending":
		o.Status = "paid"
	case "paid", "partially_fulfilled":
		o.Status = "fulfilled"
	}
}

// --- LWA ---

// serveConsent is Seller Central's consent page: it checks the application ID and that redirect_uri is one
// of the app's registered OAuth redirect URIs, logs the seller in and, on consent, sends the browser to
// redirect_uri with state, selling_partner_id and spapi_oauth_code.
func (s *Sandbox) serveConsent(w http.ResponseWriter, r *http.Request) {
	s.auth.Consent(w, r, "Seller Central", func(q url.Values) error {
		switch {
		case q.Get("application_id") != s.applicationID:
			return fmt.Errorf("application_id is not a registered application")
		case q.Get("state") == "":
			return fmt.Errorf("state is missing")
		case q.Get("version") != "" && q.Get("version") != "beta":
			return fmt.Errorf("version must be beta when given")
		case !s.auth.RedirectRegistered(q.Get("redirect_uri")):
			return fmt.Errorf("redirect_uri is not one of the application's OAuth redirect URIs")
		}
		return nil
	}, func(q url.Values) (string, error) {
		code := s.auth.IssueCode(s.clientID, q.Get("redirect_uri"), "", "", map[string]string{"selling_partner_id": s.sellerID})
		return sandboxkit.AppendQuery(q.Get("redirect_uri"), url.Values{
			"state": {q.Get("state")}, "selling_partner_id": {s.sellerID}, "spapi_oauth_code": {code}})
	}, func(q url.Values) (string, error) {
		return sandboxkit.AppendQuery(q.Get("redirect_uri"), url.Values{"state": {q.Get("state")}, "error": {"access_denied"},
			"error_description": {"The selling partner declined to authorize the application."}})
	})
}

// serveToken is the LWA token endpoint: the authorization_code and refresh_token grants with the client
// credentials in the form, and LWA's error answers.
func (s *Sandbox) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The request is missing a required parameter or is otherwise malformed.")
		return
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	if grant != "refresh_token" && grant != "authorization_code" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
		return
	}
	if !s.auth.CheckClient(f.Get("client_id"), f.Get("client_secret")) {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	var (
		g     sandboxkit.Grant
		oerr  *sandboxkit.OAuthError
		param = "refresh_token"
	)
	if grant == "authorization_code" {
		param = "code"
		for _, p := range []string{"code", "redirect_uri"} {
			if f.Get(p) == "" {
				writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The request is missing a required parameter : "+p)
				return
			}
		}
		g, oerr = s.auth.Redeem(f.Get("code"), f.Get("client_id"), f.Get("redirect_uri"), "")
	} else {
		g, oerr = s.auth.Refresh(f.Get("refresh_token"), f.Get("client_id"))
	}
	if oerr != nil {
		if oerr.Code == "invalid_grant" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "The request has an invalid grant parameter : "+param)
		} else {
			writeOAuthError(w, oerr.Status, oerr.Code, oerr.Description)
		}
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": g.AccessToken, "refresh_token": g.RefreshToken,
		"token_type": "bearer", "expires_in": g.ExpiresIn(s.now())})
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error_description": desc, "error": code})
}

// --- SP-API plumbing ---

// api wraps an operation's handler with SP-API's checks: the access token, then the operation's bucket.
func (s *Sandbox) api(op Operation, h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RequestId", hex.EncodeToString(randomBytes(8)))
		token := r.Header.Get("x-amz-access-token")
		if _, ok := s.auth.Access(token); !ok {
			// SP-API answers a missing or unknown token with 403 Unauthorized, and says so when one has lapsed.
			details := ""
			if strings.HasPrefix(token, "Atza|") {
				details = "The access token you provided has expired."
			}
			writeErrorsDetails(w, http.StatusForbidden, "Unauthorized", "Access to requested resource is denied.", details)
			return
		}
		c, _ := s.ops.LoadOrStore(op, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
		b := s.buckets[op]
		if ok, _ := b.Take(1); !ok {
			writeErrors(w, http.StatusTooManyRequests, "QuotaExceeded", "You exceeded your quota for the requested resource.")
			return
		}
		plan := unlimitedPlan
		if !b.Disabled() {
			plan = strconv.FormatFloat(b.Rate, 'f', -1, 64)
		}
		w.Header().Set("x-amzn-RateLimit-Limit", plan)
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErrors(w http.ResponseWriter, status int, code, message string) {
	writeErrorsDetails(w, status, code, message, "")
}

func writeErrorsDetails(w http.ResponseWriter, status int, code, message, details string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{"code": code, "message": message, "details": details}}})
}

func invalidInput(w http.ResponseWriter, message string) {
	writeErrors(w, http.StatusBadRequest, "InvalidInput", message)
}

// pageToken is the state a NextToken carries; tokens are signed so a mangled one (for example one sent
// without URL encoding, its '+' turned into a space) is refused.
type pageToken struct {
	Kind   string   `json:"k"`
	After  int64    `json:"a,omitempty"`
	Before int64    `json:"b,omitempty"`
	Mkts   []string `json:"m,omitempty"`
	// Key is the position after the last record served: a time and an ID, or an offset.
	KeyT   int64  `json:"t,omitempty"`
	KeyID  string `json:"i,omitempty"`
	Offset int    `json:"o,omitempty"`
	Issued int64  `json:"n"`
	Opts   string `json:"x,omitempty"`
}

func (s *Sandbox) encodeToken(t pageToken) string {
	t.Issued = s.now().UnixNano()
	body, _ := json.Marshal(t)
	mac := hmac.New(sha256.New, s.secret)
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(append(body, mac.Sum(nil)[:12]...))
}

func (s *Sandbox) decodeToken(raw, kind string) (pageToken, bool) {
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(b) < 13 {
		return pageToken{}, false
	}
	body, sum := b[:len(b)-12], b[len(b)-12:]
	mac := hmac.New(sha256.New, s.secret)
	mac.Write(body)
	if !hmac.Equal(sum, mac.Sum(nil)[:12]) {
		return pageToken{}, false
	}
	var t pageToken
	if json.Unmarshal(body, &t) != nil || t.Kind != kind {
		return pageToken{}, false
	}
	return t, true
}

// parseTime reads an ISO 8601 date-time the way SP-API accepts it.
func parseTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// csv splits a comma-separated list parameter.
func csv(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *Sandbox) marketIndex(id string) int {
	for i, m := range s.markets {
		if m.ID == id {
			return i
		}
	}
	return -1
}

// checkMarketplaces validates a marketplace list: 1 to max IDs, each one the seller participates in.
func (s *Sandbox) checkMarketplaces(w http.ResponseWriter, param string, ids []string, maxIDs int) bool {
	if len(ids) == 0 {
		invalidInput(w, fmt.Sprintf("Missing required parameter %s.", param))
		return false
	}
	if len(ids) > maxIDs {
		invalidInput(w, fmt.Sprintf("%s accepts at most %d values.", param, maxIDs))
		return false
	}
	for _, id := range ids {
		if s.marketIndex(id) < 0 {
			invalidInput(w, fmt.Sprintf("Invalid %s: %s is not a marketplace the seller participates in.", param, id))
			return false
		}
	}
	return true
}

// --- identifiers and money ---

func (s *Sandbox) orderMarket(o *sandboxkit.Order) (int, Marketplace) {
	for i, l := range s.cat.Locations {
		if l.ID == o.LocationID {
			return i, s.markets[i]
		}
	}
	return 0, s.markets[0]
}

func amazonOrderID(o *sandboxkit.Order, market int) string {
	return fmt.Sprintf("%03d-%07d-%07d", 111+market*100+int(o.ID%7), o.ID%10_000_000, (o.ID*7919)%10_000_000)
}

func orderItemID(lineID int64) string { return fmt.Sprintf("%014d", 52000000000000+lineID) }

func base36(n int64, width int) string {
	s := strings.ToUpper(strconv.FormatInt(n, 36))
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func asin(variantID int64) string  { return "B0" + base36(variantID*7757, 8) }
func fnsku(variantID int64) string { return "X00" + base36(variantID*131, 7) }

func money(currency string, cents int64) map[string]any {
	return map[string]any{"CurrencyCode": currency, "Amount": sandboxkit.Money(cents)}
}

func money2026(currency string, cents int64) map[string]any {
	return map[string]any{"currencyCode": currency, "amount": sandboxkit.Money(cents)}
}

// v0Statuses maps catalog statuses to OrderStatus. A refund does not change an Amazon order's status.
var v0Statuses = map[string]string{
	"pending": "Pending", "paid": "Unshipped", "partially_fulfilled": "PartiallyShipped",
	"fulfilled": "Shipped", "refunded": "Shipped", "cancelled": "Canceled",
}

var statuses2026 = map[string]string{
	"pending": "PENDING", "paid": "UNSHIPPED", "partially_fulfilled": "PARTIALLY_SHIPPED",
	"fulfilled": "SHIPPED", "refunded": "SHIPPED", "cancelled": "CANCELLED",
}

// shipped is how many units of line i of o have shipped.
func shipped(o *sandboxkit.Order, i int) int {
	switch o.Status {
	case "fulfilled", "refunded":
		return o.Lines[i].Quantity
	case "partially_fulfilled":
		if i%2 == 0 {
			return o.Lines[i].Quantity
		}
	}
	return 0
}
