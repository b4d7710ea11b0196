package shopify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

const (
	maxPageSize = 250
	// DefaultSandboxToken is the access token a Sandbox accepts when SandboxOptions.AccessToken is empty.
	DefaultSandboxToken = "shpat_sandbox0000000000000000000000"
	// invalidTokenBody is Shopify's 401 body for a missing or wrong access token.
	invalidTokenBody = `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`
)

// Rate-limit plans for SandboxOptions. Shopify's documentation has changed these numbers over time (older pages
// say 1000-point buckets restoring 50/100/500 points per second; current pages give restore rates of
// 100/200/1000/2000), which is why the connector reads maximumAvailable and restoreRate from every response.
var (
	PlanStandard = RateLimit{MaximumAvailable: 1000, RestoreRate: 50}
	PlanAdvanced = RateLimit{MaximumAvailable: 2000, RestoreRate: 100}
	PlanPlus     = RateLimit{MaximumAvailable: 10000, RestoreRate: 500}
)

// RateLimit is a calculated-query-cost leaky bucket.
type RateLimit struct {
	MaximumAvailable float64
	RestoreRate      float64 // points per second
}

// SandboxOptions configures a Sandbox. The zero value is a Standard-plan shop seeded from seed 0.
type SandboxOptions struct {
	// AccessToken is the X-Shopify-Access-Token the sandbox accepts (default DefaultSandboxToken).
	AccessToken string
	// ShopName and ShopDomain describe the shop (defaults "Tether Sandbox", "tether-sandbox.myshopify.com").
	ShopName   string
	ShopDomain string
	// RateLimit is the bucket (default PlanStandard). Unlimited turns throttling off, for benchmarks; the
	// per-query cost ceiling still applies.
	RateLimit RateLimit
	Unlimited bool
	// MaxQueryCost is the single-query cost ceiling (default 1000, as Shopify).
	MaxQueryCost int
	// BulkPollsToComplete is how many polls of a bulk operation it takes to finish (default 2), and
	// BulkRunTime how long it runs at most regardless of polling (default 2s).
	BulkPollsToComplete int
	BulkRunTime         time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Seed is the data the sandbox starts with.
	Seed SeedOptions
	// RecordRequests keeps every GraphQL request and response for Log.
	RecordRequests bool
}

// RequestLog is one recorded GraphQL exchange.
type RequestLog struct {
	Query     string
	Variables map[string]any
	Status    int
	Response  []byte
	// Bulk is true for the inner query of a bulkOperationRunQuery, recorded as its own entry with its JSONL in
	// Response.
	Bulk bool
}

// Sandbox simulates one shop's Shopify Admin GraphQL API over seeded data: the operations the connector
// uses, the access-token check, the calculated-query-cost bucket, Relay cursors, the updated_at search filter,
// bulk operations with their JSONL results, and fault injection. It is an http.Handler: serve it with
// httptest.NewServer or net/http and point Connection.Endpoint at it.
type Sandbox struct {
	opts SandboxOptions

	mu        sync.Mutex
	st        *store
	seedOpts  SeedOptions
	rnd       *rand.Rand
	available float64
	refilled  time.Time
	jobs      map[int64]*bulkJob
	lastJob   *bulkJob
	nextJob   int64

	failNext     []int
	resetNext    int
	failNextBulk int

	requests  int64
	throttled int64
	ops       map[string]int64
	log       []RequestLog

	// auth is the app's authorization server: install page, token endpoint, uninstall.
	auth *sandboxkit.AuthServer
}

// NewSandbox builds a sandbox and seeds it with opts.Seed.
func NewSandbox(opts SandboxOptions) *Sandbox {
	if opts.AccessToken == "" {
		opts.AccessToken = DefaultSandboxToken
	}
	if opts.ShopName == "" {
		opts.ShopName = "Tether Sandbox"
	}
	if opts.ShopDomain == "" {
		opts.ShopDomain = "tether-sandbox.myshopify.com"
	}
	if opts.RateLimit.MaximumAvailable <= 0 || opts.RateLimit.RestoreRate <= 0 {
		opts.RateLimit = PlanStandard
	}
	if opts.MaxQueryCost <= 0 {
		opts.MaxQueryCost = 1000
	}
	if opts.BulkPollsToComplete <= 0 {
		opts.BulkPollsToComplete = 2
	}
	if opts.BulkRunTime <= 0 {
		opts.BulkRunTime = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sandbox{opts: opts, ops: map[string]int64{}, jobs: map[int64]*bulkJob{}, auth: newSandboxAuth(opts.Now)}
	s.Seed(opts.Seed)
	s.available = opts.RateLimit.MaximumAvailable
	s.refilled = opts.Now()
	return s
}

// Seed replaces the shop's data with freshly seeded data. Bulk operations are forgotten.
func (s *Sandbox) Seed(opts SeedOptions) {
	opts = opts.withDefaults()
	st := seedStore(opts)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
	s.seedOpts = opts
	s.rnd = rand.New(rand.NewPCG(opts.Seed+1, 0xadd0))
	s.jobs = map[int64]*bulkJob{}
	s.lastJob = nil
}

// AccessToken is the token the sandbox accepts.
func (s *Sandbox) AccessToken() string { return s.opts.AccessToken }

// ShopDomain is the shop's myshopify domain.
func (s *Sandbox) ShopDomain() string { return s.opts.ShopDomain }

func (s *Sandbox) now() time.Time { return s.opts.Now().UTC() }

// ---- data access and mutation ----

// SandboxCounts are the sizes of the seeded data.
type SandboxCounts struct {
	Orders, LineItems, Products, Variants, Locations, InventoryLevels int
}

// Counts returns the current data sizes.
func (s *Sandbox) Counts() SandboxCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := SandboxCounts{Orders: len(s.st.orders), Products: len(s.st.products), Variants: len(s.st.variants),
		Locations: len(s.st.locations), InventoryLevels: len(s.st.levels)}
	for _, o := range s.st.orders {
		c.LineItems += len(o.Lines)
	}
	return c
}

// Orders returns a copy of every order, by ID.
func (s *Sandbox) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, len(s.st.orders))
	for i, o := range s.st.orders {
		out[i] = o.snapshot()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Products returns a copy of every product with its variants.
func (s *Sandbox) Products() []Product {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Product, len(s.st.products))
	for i, p := range s.st.products {
		out[i] = p.snapshot()
	}
	return out
}

// Locations returns a copy of every location.
func (s *Sandbox) Locations() []Location {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Location, len(s.st.locations))
	for i, l := range s.st.locations {
		out[i] = l.Location
	}
	return out
}

// InventoryLevels returns a copy of every inventory level.
func (s *Sandbox) InventoryLevels() []InventoryLevel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]InventoryLevel, len(s.st.levels))
	for i, l := range s.st.levels {
		out[i] = l.InventoryLevel
		out[i].SKU = l.item.variant.SKU
	}
	return out
}

// TouchOrder records a change to an order (as an edit or a fulfilment would), moving its updatedAt forward,
// and returns the new updatedAt. ok is false when there is no such order.
func (s *Sandbox) TouchOrder(id int64) (updatedAt time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.st.orders {
		if o.ID == id {
			o.UpdatedAt = s.st.tick(s.now())
			return o.UpdatedAt, true
		}
	}
	return time.Time{}, false
}

// CancelOrder cancels an order, moving its updatedAt forward.
func (s *Sandbox) CancelOrder(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.st.orders {
		if o.ID == id {
			t := s.st.tick(s.now())
			o.UpdatedAt, o.CancelledAt = t, &t
			o.FinancialStatus, o.FulfillmentStatus = "REFUNDED", "UNFULFILLED"
			return true
		}
	}
	return false
}

// AddOrders places n new orders now and returns them.
func (s *Sandbox) AddOrders(n int) []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	var variants []*sbVariant
	for _, p := range s.st.products {
		variants = append(variants, p.variants...)
	}
	out := make([]Order, 0, n)
	for i := 0; i < n && len(variants) > 0; i++ {
		t := s.st.tick(s.now())
		o := &sbOrder{Order{ID: s.st.id("Order"), Number: s.st.nextOrder, CreatedAt: t, UpdatedAt: t,
			FinancialStatus: "PAID", FulfillmentStatus: "UNFULFILLED", Currency: "USD"}}
		s.st.nextOrder++
		for l := 0; l < 1+s.rnd.IntN(3); l++ {
			v := variants[s.rnd.IntN(len(variants))]
			o.Lines = append(o.Lines, LineItem{ID: s.st.id("LineItem"), VariantID: v.ID, SKU: v.SKU,
				Title: v.product.Title, Quantity: 1 + s.rnd.IntN(2), UnitPriceCents: v.PriceCents})
		}
		s.st.orders = append(s.st.orders, o)
		out = append(out, o.snapshot())
	}
	return out
}

// SetVariantPrice changes a variant's price; like Shopify, the change also moves the product's updatedAt.
func (s *Sandbox) SetVariantPrice(variantID, priceCents int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.st.variants[variantID]
	if !ok {
		return false
	}
	t := s.st.tick(s.now())
	v.PriceCents, v.UpdatedAt, v.product.UpdatedAt = priceCents, t, t
	return true
}

// RenameProduct changes a product's title, moving its updatedAt (its variants' stay).
func (s *Sandbox) RenameProduct(productID int64, title string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.st.products {
		if p.ID == productID {
			p.Title, p.UpdatedAt = title, s.st.tick(s.now())
			return true
		}
	}
	return false
}

// SetAvailable sets the available quantity of an inventory item at a location (on hand follows), moving the
// level's updatedAt.
func (s *Sandbox) SetAvailable(inventoryItemID, locationID int64, available int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.st.levels {
		if l.item.ID == inventoryItemID && l.location.ID == locationID {
			l.Available, l.OnHand, l.UpdatedAt = available, available+l.Committed, s.st.tick(s.now())
			return true
		}
	}
	return false
}

// ---- faults and counters ----

// FailNext makes the next n requests fail with the HTTP status (500, 502, 503, 429 ...). A 429 carries
// Retry-After: 1.
func (s *Sandbox) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.failNext = append(s.failNext, status)
	}
}

// ResetNext makes the next n requests drop the connection without a response.
func (s *Sandbox) ResetNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetNext += n
}

// FailNextBulk makes the next n bulk operations end FAILED (errorCode INTERNAL_SERVER_ERROR) with partial data.
func (s *Sandbox) FailNextBulk(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNextBulk += n
}

// ExpireBulkOperations marks every finished bulk operation EXPIRED: its result URL stops working.
func (s *Sandbox) ExpireBulkOperations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.status == "COMPLETED" || j.status == "FAILED" {
			j.status = "EXPIRED"
		}
	}
}

// ForgetBulkOperations deletes every bulk operation, as if their IDs were never issued.
func (s *Sandbox) ForgetBulkOperations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs = map[int64]*bulkJob{}
	s.lastJob = nil
}

// SetRateLimit changes the bucket; unlimited turns throttling off. The bucket starts full.
func (s *Sandbox) SetRateLimit(rl RateLimit, unlimited bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.RateLimit, s.opts.Unlimited = rl, unlimited
	s.available, s.refilled = rl.MaximumAvailable, s.now()
}

// Drain takes points out of the cost bucket, as another client of the same app and shop would.
func (s *Sandbox) Drain(points float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refill(s.now())
	s.available = max(0, s.available-points)
}

// Requests is the number of HTTP requests received (GraphQL and bulk result downloads, rejected ones too).
func (s *Sandbox) Requests() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Throttled is the number of requests answered THROTTLED.
func (s *Sandbox) Throttled() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// OperationCounts counts requests per operation: the root field names of each GraphQL document
// ("orders", "node", "bulkOperationRunQuery" ...), "bulkResult" for JSONL downloads, and "unauthorized",
// "fault" and "invalid" for requests rejected before execution.
func (s *Sandbox) OperationCounts() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.ops))
	for k, v := range s.ops {
		out[k] = v
	}
	return out
}

// ResetCounters zeroes the request counters and the log.
func (s *Sandbox) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.throttled, s.ops, s.log = 0, 0, map[string]int64{}, nil
}

// Log returns the recorded exchanges (SandboxOptions.RecordRequests).
func (s *Sandbox) Log() []RequestLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestLog(nil), s.log...)
}

// ---- HTTP ----

var graphqlPath = regexp.MustCompile(`^/admin/api/([0-9]{4}-[0-9]{2}|unstable)/graphql\.json$`)

// ServeHTTP serves POST /admin/api/{version}/graphql.json, the bulk result files, and the app's OAuth
// endpoints (install page, access token, uninstall).
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.resetNext > 0 {
		s.resetNext--
		s.ops["fault"]++
		panic(http.ErrAbortHandler)
	}
	if len(s.failNext) > 0 {
		status := s.failNext[0]
		s.failNext = s.failNext[1:]
		s.ops["fault"]++
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}`)
			return
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"errors":"Internal Server Error"}`)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/bulk-results/") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.serveBulkResult(w, r)
	case r.Method == http.MethodPost && graphqlPath.MatchString(r.URL.Path):
		s.serveGraphQL(w, r)
	case r.URL.Path == "/admin/oauth/authorize" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		s.serveAuthorize(w, r)
	case r.URL.Path == "/admin/oauth/access_token" && r.Method == http.MethodPost:
		s.serveAccessToken(w, r)
	case r.URL.Path == "/admin/api_permissions/current.json" && r.Method == http.MethodDelete:
		s.serveUninstall(w, r)
	default:
		s.ops["invalid"]++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errors":"Not Found"}`)
	}
}

type gqlRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Sandbox) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	version := graphqlPath.FindStringSubmatch(r.URL.Path)[1]
	w.Header().Set("X-Shopify-API-Version", version)
	if !s.tokenAccepted(r.Header.Get("X-Shopify-Access-Token")) {
		s.ops["unauthorized"]++
		writeJSON(w, http.StatusUnauthorized, []byte(invalidTokenBody))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.ops["invalid"]++
		writeJSON(w, http.StatusBadRequest, []byte(`{"errors":{"query":"Required parameter missing or invalid"}}`))
		return
	}
	var req gqlRequest
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/graphql" {
		req.Query = string(body)
	} else {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil || req.Query == "" {
			s.ops["invalid"]++
			writeJSON(w, http.StatusBadRequest, []byte(`{"errors":{"query":"Required parameter missing or invalid"}}`))
			return
		}
	}
	status, resp := s.execute(req, baseURL(r))
	if s.opts.RecordRequests {
		s.log = append(s.log, RequestLog{Query: req.Query, Variables: req.Variables, Status: status, Response: resp})
	}
	writeJSON(w, status, resp)
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type gqlResult struct {
	Data       any            `json:"data,omitempty"`
	Errors     []*gqlError    `json:"errors,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("shopify sandbox: encode response: %v", err))
	}
	return b
}

// refill tops the bucket up for the time since the last request.
func (s *Sandbox) refill(now time.Time) {
	rl := s.opts.RateLimit
	s.available = min(rl.MaximumAvailable, s.available+now.Sub(s.refilled).Seconds()*rl.RestoreRate)
	s.refilled = now
}

func (s *Sandbox) throttleStatus() map[string]any {
	if s.opts.Unlimited {
		return map[string]any{"maximumAvailable": 1e9, "currentlyAvailable": 1e9, "restoreRate": 1e9}
	}
	return map[string]any{
		"maximumAvailable":   s.opts.RateLimit.MaximumAvailable,
		"currentlyAvailable": int(s.available),
		"restoreRate":        s.opts.RateLimit.RestoreRate,
	}
}

func (s *Sandbox) execute(req gqlRequest, base string) (int, []byte) {
	doc, perr := parser.ParseQuery(&ast.Source{Name: "query", Input: req.Query})
	if perr != nil {
		s.ops["invalid"]++
		e := &gqlError{Message: perr.Error()}
		return http.StatusOK, mustJSON(gqlResult{Errors: []*gqlError{e}})
	}
	var op *ast.OperationDefinition
	switch {
	case req.OperationName != "":
		op = doc.Operations.ForName(req.OperationName)
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	}
	if op == nil {
		s.ops["invalid"]++
		return http.StatusOK, mustJSON(gqlResult{Errors: []*gqlError{{Message: "An operation name is required"}}})
	}
	for _, sel := range op.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			s.ops[f.Name]++
		}
	}
	vars := map[string]any{}
	for k, v := range req.Variables {
		vars[k] = v
	}
	for _, vd := range op.VariableDefinitions {
		if _, ok := vars[vd.Variable]; !ok && vd.DefaultValue != nil {
			if v, err := vd.DefaultValue.Value(nil); err == nil {
				vars[vd.Variable] = v
			}
		} else if !ok && vd.Type.NonNull {
			return http.StatusOK, mustJSON(gqlResult{Errors: []*gqlError{{Message: fmt.Sprintf("Variable $%s of type %s was provided invalid value", vd.Variable, vd.Type.String())}}})
		}
	}
	x := &execution{sb: s, st: s.st, doc: doc, vars: vars, baseURL: base}
	root, src := "QueryRoot", any(queryRoot{})
	switch op.Operation {
	case ast.Mutation:
		root, src = "Mutation", mutationRoot{}
	case ast.Subscription:
		return http.StatusOK, mustJSON(gqlResult{Errors: []*gqlError{{Message: "Subscriptions are not supported"}}})
	}
	requested, err := x.cost(root, op.SelectionSet, nil)
	if err != nil {
		ge, ok := err.(*gqlError)
		if !ok {
			ge = &gqlError{Message: err.Error()}
		}
		return http.StatusOK, mustJSON(gqlResult{Errors: []*gqlError{ge}})
	}
	if root == "Mutation" {
		requested += 10 * len(op.SelectionSet)
	}
	requested = max(requested, 1)
	if requested > s.opts.MaxQueryCost {
		return http.StatusOK, mustJSON(gqlResult{Errors: []*gqlError{{
			Message: fmt.Sprintf("Query cost is %d, which exceeds the single query max cost limit (%d).\n\n"+
				"See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"+
				"cost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\n"+
				"See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n", requested, s.opts.MaxQueryCost),
			Extensions: map[string]any{"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": s.opts.MaxQueryCost},
		}}})
	}
	now := s.now()
	s.refill(now)
	if !s.opts.Unlimited && s.available < float64(requested) {
		s.throttled++
		return http.StatusOK, mustJSON(gqlResult{
			Errors: []*gqlError{{Message: "Throttled", Extensions: map[string]any{
				"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			Extensions: map[string]any{"cost": map[string]any{
				"requestedQueryCost": requested, "actualQueryCost": nil, "throttleStatus": s.throttleStatus()}},
		})
	}
	data := x.execSet(src, op.SelectionSet, nil)
	actual := max(1, min(x.actual, requested))
	if root == "Mutation" {
		actual = requested
	}
	if !s.opts.Unlimited {
		s.available -= float64(actual)
	}
	ext := map[string]any{"cost": map[string]any{
		"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": s.throttleStatus()}}
	if len(x.warnings) > 0 {
		ext["search"] = x.warnings
	}
	return http.StatusOK, mustJSON(gqlResult{Data: data, Errors: x.errors, Extensions: ext})
}

// ---- bulk operations ----

type bulkJob struct {
	id          int64
	query       string
	status      string
	errorCode   string
	createdAt   time.Time
	completedAt time.Time
	polls       int
	need        int
	fail        bool
	data        []byte
	lines       int64
	roots       int64
	sig         string
}

func (j *bulkJob) progress(n int64) int64 {
	switch j.status {
	case "COMPLETED", "EXPIRED":
		return n
	case "FAILED":
		return n / 2
	case "RUNNING":
		return n * int64(j.polls) / int64(j.need+1)
	}
	return 0
}

func (j *bulkJob) path(partial bool) string {
	p := fmt.Sprintf("/bulk-results/%d.jsonl?sig=%s", j.id, j.sig)
	if partial {
		p += "&partial=1"
	}
	return p
}

func (s *Sandbox) currentJob() *bulkJob { return s.lastJob }

// settle finishes a running job whose run time is over.
func (s *Sandbox) settle(j *bulkJob, now time.Time) {
	if (j.status == "CREATED" || j.status == "RUNNING") && now.Sub(j.createdAt) >= s.opts.BulkRunTime {
		s.finish(j, now)
	}
}

func (s *Sandbox) finish(j *bulkJob, now time.Time) {
	j.completedAt = now
	if j.fail {
		j.status, j.errorCode = "FAILED", "INTERNAL_SERVER_ERROR"
		return
	}
	j.status = "COMPLETED"
}

// advance moves a job along on a poll: CREATED, RUNNING, then COMPLETED (or FAILED).
func (s *Sandbox) advance(j *bulkJob, now time.Time) {
	switch j.status {
	case "CREATED":
		j.status = "RUNNING"
		j.polls++
	case "RUNNING":
		j.polls++
		if j.polls >= j.need {
			s.finish(j, now)
		}
	}
	s.settle(j, now)
}

func (s *Sandbox) runBulk(query string) *runPayload {
	now := s.now()
	if j := s.lastJob; j != nil {
		s.settle(j, now)
		if j.status == "CREATED" || j.status == "RUNNING" {
			return &runPayload{errors: []*userError{{message: fmt.Sprintf(
				"A bulk query operation for this app and shop is already in progress: %s.", gid("BulkOperation", j.id)),
				code: "OPERATION_IN_PROGRESS"}}}
		}
	}
	invalid := func(format string, a ...any) *runPayload {
		return &runPayload{errors: []*userError{{field: []any{"query"}, message: fmt.Sprintf(format, a...), code: "INVALID"}}}
	}
	doc, perr := parser.ParseQuery(&ast.Source{Name: "bulk", Input: query})
	if perr != nil {
		return invalid("Invalid bulk query: %s", perr.Error())
	}
	if len(doc.Operations) != 1 || doc.Operations[0].Operation != ast.Query {
		return invalid("Invalid bulk query: the query must contain exactly one query operation.")
	}
	op := doc.Operations[0]
	x := &execution{sb: s, st: s.st, doc: doc, vars: map[string]any{}, bulk: true}
	if _, err := x.cost("QueryRoot", op.SelectionSet, nil); err != nil {
		return invalid("Invalid bulk query: %s", err.Error())
	}
	conns, depth := countConnections(doc, "QueryRoot", op.SelectionSet, 0)
	switch {
	case conns == 0:
		return invalid("Bulk queries must contain at least one connection.")
	case conns > 5:
		return invalid("Bulk queries cannot contain more than 5 connections.")
	case depth > 2:
		return invalid("Bulk queries cannot contain connections with a nesting depth greater than 2.")
	}
	data := x.execSet(queryRoot{}, op.SelectionSet, nil)
	if len(x.errors) > 0 {
		return invalid("Invalid bulk query: %s", x.errors[0].Message)
	}
	s.nextJob++
	j := &bulkJob{id: idBase["BulkOperation"] + s.nextJob, query: query, status: "CREATED", createdAt: now,
		need: s.opts.BulkPollsToComplete}
	mac := hmac.New(sha256.New, []byte(s.opts.AccessToken))
	fmt.Fprintf(mac, "%d", j.id)
	j.sig = hex.EncodeToString(mac.Sum(nil))[:32]
	var buf bytes.Buffer
	for _, k := range sortedKeys(data) {
		bc, ok := data[k].(bulkConn)
		if !ok {
			return invalid("Invalid bulk query: the top-level field %q must be a connection.", k)
		}
		for _, n := range bc.nodes {
			if err := writeBulkNode(&buf, n, "", j); err != nil {
				return invalid("Invalid bulk query: %v", err)
			}
		}
	}
	j.data = buf.Bytes()
	if s.failNextBulk > 0 {
		s.failNextBulk--
		j.fail = true
	}
	s.jobs[j.id] = j
	s.lastJob = j
	if s.opts.RecordRequests {
		s.log = append(s.log, RequestLog{Query: query, Bulk: true, Status: http.StatusOK, Response: j.data})
	}
	return &runPayload{job: j}
}

func countConnections(doc *ast.QueryDocument, typ string, set ast.SelectionSet, depth int) (n, maxDepth int) {
	maxDepth = depth
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			def, ok := types[typ][s.Name]
			if !ok {
				continue
			}
			switch def.kind {
			case kConnection:
				c, d := countConnections(doc, def.typ+"Connection", s.SelectionSet, depth+1)
				n += 1 + c
				maxDepth = max(maxDepth, d)
			case kObject, kList:
				if def.typ != "" {
					c, d := countConnections(doc, def.typ, s.SelectionSet, depth)
					n += c
					maxDepth = max(maxDepth, d)
				}
			}
		case *ast.InlineFragment:
			cond := s.TypeCondition
			if cond == "" {
				cond = typ
			}
			c, d := countConnections(doc, cond, s.SelectionSet, depth)
			n, maxDepth = n+c, max(maxDepth, d)
		case *ast.FragmentSpread:
			if fd := doc.Fragments.ForName(s.Name); fd != nil {
				c, d := countConnections(doc, fd.TypeCondition, fd.SelectionSet, depth)
				n, maxDepth = n+c, max(maxDepth, d)
			}
		}
	}
	return n, maxDepth
}

// writeBulkNode writes one node as a JSONL line, then its nested connections' nodes as lines carrying
// __parentId, the way Shopify's bulk results are laid out.
func writeBulkNode(buf *bytes.Buffer, node map[string]any, parent string, j *bulkJob) error {
	line := make(map[string]any, len(node)+1)
	var children []string
	for k, v := range node {
		if _, ok := v.(bulkConn); ok {
			children = append(children, k)
			continue
		}
		line[k] = v
	}
	if parent != "" {
		line["__parentId"] = parent
	} else {
		j.roots++
	}
	buf.Write(mustJSON(line))
	buf.WriteByte('\n')
	j.lines++
	if len(children) == 0 {
		return nil
	}
	id, _ := node["id"].(string)
	if id == "" {
		return fmt.Errorf("the id field must be selected on objects that have nested connections")
	}
	sort.Strings(children)
	for _, k := range children {
		for _, c := range node[k].(bulkConn).nodes {
			if err := writeBulkNode(buf, c, id, j); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Sandbox) serveBulkResult(w http.ResponseWriter, r *http.Request) {
	s.ops["bulkResult"]++
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/bulk-results/"), ".jsonl")
	id, _ := strconv.ParseInt(name, 10, 64)
	j := s.jobs[id]
	partial := r.URL.Query().Get("partial") == "1"
	if j == nil || !hmac.Equal([]byte(r.URL.Query().Get("sig")), []byte(j.sig)) || j.status == "EXPIRED" ||
		(partial && j.status != "FAILED") || (!partial && j.status != "COMPLETED") {
		w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Access denied.</Message></Error>`)
		return
	}
	data := j.data
	if partial {
		data = halfLines(data)
	}
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(data)
	}
}

func halfLines(data []byte) []byte {
	n := bytes.Count(data, []byte{'\n'}) / 2
	i := 0
	for ; n > 0; n-- {
		i += bytes.IndexByte(data[i:], '\n') + 1
	}
	return data[:i]
}
