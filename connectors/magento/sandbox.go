package magento

import (
	"bytes"
	"crypto/hmac"
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

// RateLimit is a request-rate rule in front of the store. Magento core has no rate limit; Adobe Commerce on
// cloud infrastructure can rate-limit at Fastly/the WAF, answering 429 with a Retry-After.
type RateLimit struct {
	PerSecond float64 // sustained requests per second
	Burst     float64 // requests allowed at once
}

// DefaultRateLimit is the sandbox's rule unless told otherwise: 10 requests per second with bursts of 20, a
// typical edge rate-limit rule for an API client (it is not a Magento constant: a store sets its own).
var DefaultRateLimit = RateLimit{PerSecond: 10, Burst: 20}

// SandboxOptions configure a Sandbox. Zero values take defaults.
type SandboxOptions struct {
	// Seed, Orders, Products and Locations size the sandboxkit catalog (defaults: 3000 orders, 200 products,
	// 4 locations).
	Seed                        uint64
	Orders, Products, Locations int
	// End is the newest modification time in the data (default now).
	End time.Time
	// The integration's credentials (defaults: fixed sandbox values).
	AccessToken, ConsumerKey, ConsumerSecret, AccessTokenSecret string
	// BearerDisabled makes the store refuse the access token as a bearer token, as Magento 2.4.4+ does unless
	// oauth/consumer/enable_integration_as_bearer is set: only OAuth-signed requests pass.
	BearerDisabled bool
	// RateLimit is the WAF's rule (default DefaultRateLimit); Unlimited turns it off.
	RateLimit RateLimit
	Unlimited bool
	// MaxPageSize is webapi/validation/maximum_page_size (default 300); DefaultPageSize applies when a request
	// gives none (default 20).
	MaxPageSize, DefaultPageSize int
	// RecordRequests keeps every request and response, for conformance tests.
	RecordRequests bool
}

// RequestLog is one recorded exchange.
type RequestLog struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Status int
	Body   []byte
}

// Sandbox simulates a Magento 2.4 store's REST API for orders, products and MSI inventory. It enforces
// authentication (bearer integration tokens and OAuth 1.0a signatures, with Magento's 401 body), the
// searchCriteria grammar (filter groups ORed inside and ANDed across, sort orders, the page-size limit, the
// UTC "YYYY-MM-DD HH:MM:SS" date format, fields= partial responses), Magento's answer to a page past the end
// (the last page again), and an optional WAF rate limit with 429 and Retry-After.
type Sandbox struct {
	opts    SandboxOptions
	faults  sandboxkit.Faults
	bucket  *sandboxkit.Bucket
	handler http.Handler
	catalog *sandboxkit.Catalog

	mu   sync.RWMutex
	data *storeData

	nonceMu sync.Mutex
	nonces  map[string]int64

	logMu sync.Mutex
	log   []RequestLog

	throttled atomic.Int64
}

// NewSandbox builds a sandbox over a generated catalog.
func NewSandbox(opts SandboxOptions) *Sandbox {
	if opts.AccessToken == "" {
		opts.AccessToken = "sandbox-integration-access-token-0123456789"
	}
	if opts.ConsumerKey == "" {
		opts.ConsumerKey = "sandbox-consumer-key-0123456789abcdef"
	}
	if opts.ConsumerSecret == "" {
		opts.ConsumerSecret = "sandbox-consumer-secret-0123456789abcdef"
	}
	if opts.AccessTokenSecret == "" {
		opts.AccessTokenSecret = "sandbox-access-token-secret-0123456789"
	}
	if opts.RateLimit == (RateLimit{}) {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.MaxPageSize == 0 {
		opts.MaxPageSize = 300
	}
	if opts.DefaultPageSize == 0 {
		opts.DefaultPageSize = 20
	}
	cat := sandboxkit.Generate(sandboxkit.Options{
		Seed: opts.Seed, Orders: opts.Orders, Products: opts.Products, Locations: opts.Locations, End: opts.End,
	})
	s := &Sandbox{opts: opts, catalog: cat, data: renderStore(cat), nonces: map[string]int64{}}
	if opts.Unlimited {
		s.bucket = sandboxkit.Unlimited()
	} else {
		s.bucket = sandboxkit.NewBucket(opts.RateLimit.Burst, opts.RateLimit.PerSecond)
	}
	s.handler = s.faults.Wrap(http.HandlerFunc(s.serve), faultBody)
	return s
}

// ServeHTTP serves the REST API.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.opts.RecordRequests {
		s.handler.ServeHTTP(w, r)
		return
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.handler.ServeHTTP(rec, r)
	s.logMu.Lock()
	s.log = append(s.log, RequestLog{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(),
		Status: rec.status, Body: rec.body.Bytes()})
	s.logMu.Unlock()
}

type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) { r.status = status; r.ResponseWriter.WriteHeader(status) }
func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Faults injects failures (5xx, dropped connections, delays).
func (s *Sandbox) Faults() *sandboxkit.Faults { return &s.faults }

// Requests is the number of requests received.
func (s *Sandbox) Requests() int64 { return s.faults.Requests() }

// Throttled is the number of requests answered 429 by the rate limit.
func (s *Sandbox) Throttled() int64 { return s.throttled.Load() }

// Log returns the recorded exchanges (RecordRequests).
func (s *Sandbox) Log() []RequestLog {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]RequestLog(nil), s.log...)
}

// AccessToken, ConsumerKey, ConsumerSecret and AccessTokenSecret are the credentials the sandbox accepts.
func (s *Sandbox) AccessToken() string       { return s.opts.AccessToken }
func (s *Sandbox) ConsumerKey() string       { return s.opts.ConsumerKey }
func (s *Sandbox) ConsumerSecret() string    { return s.opts.ConsumerSecret }
func (s *Sandbox) AccessTokenSecret() string { return s.opts.AccessTokenSecret }

// Catalog is the generated data the store was rendered from.
func (s *Sandbox) Catalog() *sandboxkit.Catalog { return s.catalog }

// Counts are the numbers of the store's objects.
type Counts struct {
	Orders, OrderLines, SKUs, Sources, SourceItems, Products int
}

// Counts counts the store's objects. OrderLines counts a configurable pair once; SKUs counts simple products.
func (s *Sandbox) Counts() Counts {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Counts{Orders: len(s.data.orders), OrderLines: s.data.lines, SKUs: s.data.skus, Sources: len(s.data.sources),
		SourceItems: len(s.data.sourceItems), Products: len(s.data.products)}
}

// TouchOrder moves an order's updated_at to now and adds a status history comment, as an admin's comment or
// a shipment would.
func (s *Sandbox) TouchOrder(entityID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.data.orders {
		if o["entity_id"].(int64) != entityID {
			continue
		}
		now := formatDate(time.Now())
		o["updated_at"] = now
		hist, _ := o["status_histories"].([]any)
		o["status_histories"] = append(append([]any(nil), hist...), map[string]any{
			"comment": "Updated by the sandbox", "created_at": now, "entity_name": "order", "status": o["status"],
			"is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": entityID,
		})
		return true
	}
	return false
}

// OrderIDs lists the orders' entity_ids in ID order.
func (s *Sandbox) OrderIDs() []int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]int64, len(s.data.orders))
	for i, o := range s.data.orders {
		out[i] = o["entity_id"].(int64)
	}
	return out
}

// writeJSON writes a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes Magento's error shape.
func writeError(w http.ResponseWriter, status int, message string, params map[string]any) {
	body := map[string]any{"message": message}
	if params != nil {
		body["parameters"] = params
	}
	writeJSON(w, status, body)
}

// faultBody answers injected failures the way the layers in front of Magento do.
func faultBody(w http.ResponseWriter, status int) {
	switch {
	case status == http.StatusTooManyRequests:
		writeThrottled(w, 1)
	case status == http.StatusServiceUnavailable:
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<!doctype html><title>Service Unavailable</title><h1>Service Temporarily Unavailable</h1>"))
	case status >= 500:
		writeError(w, status, "Internal Error. Details are available in Magento log file. Report ID: webapi-6650f3c2a1b0e", nil)
	default:
		writeError(w, status, http.StatusText(status), nil)
	}
}

func writeThrottled(w http.ResponseWriter, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte("<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>"))
}

// resource is one list endpoint.
type resource struct {
	acl     string
	items   func(d *storeData) []map[string]any
	idField string            // the default sort, the primary key
	aliases map[string]string // filter/sort field -> item key
	dates   map[string]bool   // fields compared as Magento dates
}

var resources = map[string]*resource{
	"orders": {
		acl: "Magento_Sales::actions_view", items: func(d *storeData) []map[string]any { return d.orders },
		idField: "entity_id", dates: map[string]bool{"created_at": true, "updated_at": true},
	},
	"products": {
		acl: "Magento_Catalog::products", items: func(d *storeData) []map[string]any { return d.products },
		idField: "id", aliases: map[string]string{"entity_id": "id"}, dates: map[string]bool{"created_at": true, "updated_at": true},
	},
	"inventory/sources": {
		acl: "Magento_InventoryApi::source", items: func(d *storeData) []map[string]any { return d.sources },
		idField: "source_code",
	},
	"inventory/source-items": {
		acl: "Magento_InventoryApi::source", items: func(d *storeData) []map[string]any { return d.sourceItems },
		idField: "sku",
	},
}

// restPath matches /rest/V1/<resource> and /rest/<store>/V1/<resource>.
var restPath = regexp.MustCompile(`^/rest(?:/([a-z0-9_]+))?/V1/(.+?)/?$`)

func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.bucket.Take(1); !ok {
		s.throttled.Add(1)
		writeThrottled(w, int(math.Ceil(wait.Seconds())))
		return
	}
	m := restPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeError(w, http.StatusNotFound, "Request does not match any route.", nil)
		return
	}
	if store := m[1]; store != "" && store != "default" && store != "all" {
		writeError(w, http.StatusNotFound, "The store that was requested wasn't found. Verify the store and try again.", nil)
		return
	}
	res := resources[m[2]]
	if res == nil || r.Method != http.MethodGet {
		writeError(w, http.StatusNotFound, "Request does not match any route.", nil)
		return
	}
	if !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, "The consumer isn't authorized to access %resources.", map[string]any{"resources": res.acl})
		return
	}
	sc, errMsg, params := parseCriteria(r.URL.Query(), res, s.opts)
	if errMsg != "" {
		writeError(w, http.StatusBadRequest, errMsg, params)
		return
	}
	s.mu.RLock()
	body := s.list(res, sc)
	if f := r.URL.Query().Get("fields"); f != "" {
		body = applyFields(body, parseFields(f)).(map[string]any)
	}
	out, err := json.Marshal(body)
	s.mu.RUnlock()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Internal Error.", nil)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(out)
}

// authorized checks the bearer token or the OAuth 1.0a signature, as Magento's integration authentication
// does: the consumer and token must match, the timestamp be within ten minutes and the nonce unused.
func (s *Sandbox) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return !s.opts.BearerDisabled && hmac.Equal([]byte(tok), []byte(s.opts.AccessToken))
	}
	p, ok := parseOAuthHeader(h)
	if !ok || p["oauth_consumer_key"] != s.opts.ConsumerKey || p["oauth_token"] != s.opts.AccessToken {
		return false
	}
	if v, ok := p["oauth_version"]; ok && v != "1.0" {
		return false
	}
	ts, err := strconv.ParseInt(p["oauth_timestamp"], 10, 64)
	if err != nil || math.Abs(float64(time.Now().Unix()-ts)) > 600 || p["oauth_nonce"] == "" {
		return false
	}
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	want, err := oauthSignature(p["oauth_signature_method"], signatureBaseString(r.Method, u, p), s.opts.ConsumerSecret, s.opts.AccessTokenSecret)
	if err != nil || !hmac.Equal([]byte(want), []byte(p["oauth_signature"])) {
		return false
	}
	s.nonceMu.Lock()
	defer s.nonceMu.Unlock()
	if _, seen := s.nonces[p["oauth_nonce"]]; seen {
		return false
	}
	now := time.Now().Unix()
	if len(s.nonces) > 100000 {
		for n, at := range s.nonces {
			if now-at > 600 {
				delete(s.nonces, n)
			}
		}
	}
	s.nonces[p["oauth_nonce"]] = ts
	return true
}

// searchFilter and searchCriteria are a parsed searchCriteria query.
type searchFilter struct{ Field, Value, Condition string }

type searchCriteria struct {
	Groups   [][]searchFilter
	Sorts    [][2]string
	PageSize int
	Page     int
}

// criteriaKey matches a searchCriteria query parameter in Magento's snake_case or the schema's camelCase.
var criteriaKey = regexp.MustCompile(`^searchCriteria\[(?:` +
	`(?:filter_groups|filterGroups)\]\[(\d+)\]\[filters\]\[(\d+)\]\[(field|value|condition_type|conditionType)\]` +
	`|(?:sort_orders|sortOrders)\]\[(\d+)\]\[(field|direction)\]` +
	`|(page_size|pageSize|current_page|currentPage)\])$`)

var conditions = map[string]bool{"eq": true, "neq": true, "gt": true, "gteq": true, "lt": true, "lteq": true,
	"in": true, "nin": true, "like": true, "nlike": true, "null": true, "notnull": true, "from": true, "to": true}

// parseCriteria reads and validates the searchCriteria parameters. It returns Magento's error message and
// parameters for a request Magento rejects.
func parseCriteria(q url.Values, res *resource, opts SandboxOptions) (searchCriteria, string, map[string]any) {
	sc := searchCriteria{PageSize: opts.DefaultPageSize, Page: 1}
	type fkey struct{ g, f int }
	filters := map[fkey]*searchFilter{}
	sorts := map[int]*[2]string{}
	for k, vs := range q {
		if k == "fields" || k == "searchCriteria" {
			continue
		}
		m := criteriaKey.FindStringSubmatch(k)
		if m == nil {
			continue // Magento ignores parameters it does not bind
		}
		v := vs[0]
		switch {
		case m[1] != "":
			g, _ := strconv.Atoi(m[1])
			f, _ := strconv.Atoi(m[2])
			flt := filters[fkey{g, f}]
			if flt == nil {
				flt = &searchFilter{Condition: "eq"}
				filters[fkey{g, f}] = flt
			}
			switch m[3] {
			case "field":
				flt.Field = v
			case "value":
				flt.Value = v
			default:
				flt.Condition = v
			}
		case m[4] != "":
			i, _ := strconv.Atoi(m[4])
			so := sorts[i]
			if so == nil {
				so = &[2]string{"", "ASC"}
				sorts[i] = so
			}
			if m[5] == "field" {
				so[0] = v
			} else {
				so[1] = strings.ToUpper(v)
			}
		default:
			n, err := strconv.Atoi(v)
			if err != nil {
				return sc, "The \"%fieldName\" value's type is invalid. The \"%fieldType\" type was expected. Verify and try again.",
					map[string]any{"fieldName": m[6], "fieldType": "int"}
			}
			if strings.HasPrefix(m[6], "page") {
				sc.PageSize = n
			} else {
				sc.Page = n
			}
		}
	}
	if sc.PageSize > opts.MaxPageSize {
		return sc, "Maximum SearchCriteria pageSize is %max", map[string]any{"max": opts.MaxPageSize}
	}
	if sc.PageSize < 1 {
		return sc, "Minimum SearchCriteria pageSize is %min", map[string]any{"min": 1}
	}
	if sc.Page < 1 {
		sc.Page = 1
	}
	var keys []fkey
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].g != keys[j].g {
			return keys[i].g < keys[j].g
		}
		return keys[i].f < keys[j].f
	})
	groupIndex := map[int]int{}
	for _, k := range keys {
		f := *filters[k]
		if f.Field == "" {
			return sc, "\"%fieldName\" is required. Enter and try again.", map[string]any{"fieldName": "field"}
		}
		if !conditions[f.Condition] {
			return sc, "Invalid condition type: %1", map[string]any{"1": f.Condition}
		}
		if res.dates[f.Field] && f.Condition != "null" && f.Condition != "notnull" {
			for _, v := range strings.Split(f.Value, ",") {
				if !validDate(strings.TrimSpace(v)) {
					return sc, "Invalid date %1 for %2: dates are \"YYYY-MM-DD HH:MM:SS\" in UTC", map[string]any{"1": f.Value, "2": f.Field}
				}
			}
		}
		gi, ok := groupIndex[k.g]
		if !ok {
			gi = len(sc.Groups)
			groupIndex[k.g] = gi
			sc.Groups = append(sc.Groups, nil)
		}
		sc.Groups[gi] = append(sc.Groups[gi], f)
	}
	var sortIdx []int
	for i := range sorts {
		sortIdx = append(sortIdx, i)
	}
	sort.Ints(sortIdx)
	for _, i := range sortIdx {
		so := *sorts[i]
		if so[1] != "ASC" && so[1] != "DESC" {
			return sc, "Sort order direction %1 is not supported", map[string]any{"1": so[1]}
		}
		sc.Sorts = append(sc.Sorts, so)
	}
	return sc, "", nil
}

func validDate(v string) bool {
	if _, err := time.Parse(dateLayout, v); err == nil {
		return true
	}
	_, err := time.Parse("2006-01-02", v)
	return err == nil
}

// fieldOf reads a filter or sort field from an item.
func (res *resource) fieldOf(it map[string]any, field string) any {
	if a, ok := res.aliases[field]; ok {
		field = a
	}
	return it[field]
}

// compare orders an item's value against a filter value the way MySQL compares the column: numbers
// numerically, dates and strings as text (Magento's dates sort as text).
func compare(v any, s string) int {
	switch x := v.(type) {
	case int, int64, float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return strings.Compare(fmt.Sprint(x), s)
		}
		a := toFloat(x)
		switch {
		case a < f:
			return -1
		case a > f:
			return 1
		}
		return 0
	case bool:
		b := s == "1" || strings.EqualFold(s, "true")
		switch {
		case x == b:
			return 0
		case !x:
			return -1
		}
		return 1
	case string:
		if len(s) == len("2006-01-02") && len(x) == len(dateLayout) && validDate(s) {
			s += " 00:00:00"
		}
		return strings.Compare(x, s)
	case nil:
		return -1
	}
	return strings.Compare(fmt.Sprint(v), s)
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return strings.Compare(x, y)
	case bool:
		return compare(a, fmt.Sprint(b))
	case nil:
		if b == nil {
			return 0
		}
		return -1
	}
	fa, fb := toFloat(a), toFloat(b)
	switch {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return 0
}

func matches(v any, f searchFilter) bool {
	switch f.Condition {
	case "null":
		return v == nil
	case "notnull":
		return v != nil
	case "in", "nin":
		in := false
		for _, part := range strings.Split(f.Value, ",") {
			if compare(v, strings.TrimSpace(part)) == 0 {
				in = true
				break
			}
		}
		return in == (f.Condition == "in")
	case "like", "nlike":
		pattern := "^" + strings.ReplaceAll(regexp.QuoteMeta(f.Value), "%", ".*") + "$"
		ok, _ := regexp.MatchString("(?i)"+pattern, fmt.Sprint(v))
		return ok == (f.Condition == "like")
	}
	if v == nil {
		return false
	}
	c := compare(v, f.Value)
	switch f.Condition {
	case "eq":
		return c == 0
	case "neq":
		return c != 0
	case "gt":
		return c > 0
	case "gteq", "from":
		return c >= 0
	case "lt":
		return c < 0
	case "lteq", "to":
		return c <= 0
	}
	return false
}

// list runs a search: filter, sort, page. A page past the end is the last page again, as Magento's
// collections clamp currentPage.
func (s *Sandbox) list(res *resource, sc searchCriteria) map[string]any {
	var hits []map[string]any
	for _, it := range res.items(s.data) {
		ok := true
		for _, group := range sc.Groups {
			hit := false
			for _, f := range group {
				if matches(res.fieldOf(it, f.Field), f) {
					hit = true
					break
				}
			}
			if !hit {
				ok = false
				break
			}
		}
		if ok {
			hits = append(hits, it)
		}
	}
	sorts := sc.Sorts
	if len(sorts) == 0 {
		sorts = [][2]string{{res.idField, "ASC"}}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		for _, so := range sorts {
			c := compareValues(res.fieldOf(hits[i], so[0]), res.fieldOf(hits[j], so[0]))
			if so[1] == "DESC" {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	total := len(hits)
	page := sc.Page
	if last := (total + sc.PageSize - 1) / sc.PageSize; page > last && last > 0 {
		page = last
	}
	start := min((page-1)*sc.PageSize, total)
	items := make([]any, 0, min(sc.PageSize, total-start))
	for _, it := range hits[start:min(start+sc.PageSize, total)] {
		items = append(items, it)
	}

	groups := make([]any, len(sc.Groups))
	for i, g := range sc.Groups {
		fs := make([]any, len(g))
		for j, f := range g {
			fs[j] = map[string]any{"field": f.Field, "value": f.Value, "condition_type": f.Condition}
		}
		groups[i] = map[string]any{"filters": fs}
	}
	echo := map[string]any{"filter_groups": groups, "page_size": sc.PageSize, "current_page": sc.Page}
	if len(sc.Sorts) > 0 {
		so := make([]any, len(sc.Sorts))
		for i, x := range sc.Sorts {
			so[i] = map[string]any{"field": x[0], "direction": x[1]}
		}
		echo["sort_orders"] = so
	}
	return map[string]any{"items": items, "search_criteria": echo, "total_count": total}
}

// fieldTree is a parsed fields= selector: "items[id,sku,extension_attributes[links]],total_count".
type fieldTree map[string]fieldTree

func parseFields(s string) fieldTree {
	t, _ := parseFieldList(s, 0)
	return t
}

func parseFieldList(s string, i int) (fieldTree, int) {
	t := fieldTree{}
	name := ""
	for i < len(s) {
		switch c := s[i]; c {
		case ',':
			if name != "" {
				t[strings.TrimSpace(name)] = nil
			}
			name = ""
			i++
		case '[':
			sub, next := parseFieldList(s, i+1)
			t[strings.TrimSpace(name)] = sub
			name = ""
			i = next
		case ']':
			if name != "" {
				t[strings.TrimSpace(name)] = nil
			}
			return t, i + 1
		default:
			name += string(c)
			i++
		}
	}
	if name != "" {
		t[strings.TrimSpace(name)] = nil
	}
	return t, i
}

// applyFields keeps only the selected fields, descending into lists element by element.
func applyFields(v any, t fieldTree) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, sub := range t {
			val, ok := x[k]
			if !ok {
				continue
			}
			if sub != nil {
				val = applyFields(val, sub)
			}
			out[k] = val
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = applyFields(e, t)
		}
		return out
	}
	return v
}
