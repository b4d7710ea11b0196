package amazon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

// The conformance tests hold the sandbox's responses and the client's requests to Amazon's published
// models (amzn/selling-partner-api-models, in ../shared/specs/amazon-sp-api/models): ordersV0.json,
// orders_2026-01-01.json and fbaInventory.json.

// modelsDir is the folder of the SP-API models in the shared specs, checked by its ordersV0.json.
func modelsDir(t *testing.T) string {
	t.Helper()
	return filepath.Dir(connectortest.SpecsDir(t, "amazon-sp-api", "models", "ordersV0.json"))
}

// swagger is the part of a Swagger 2.0 model the tests read.
type swagger struct {
	Paths       map[string]map[string]json.RawMessage `json:"paths"`
	Definitions map[string]map[string]any             `json:"definitions"`
	// gets are the GET operations by path.
	gets map[string]operation
}

type operation struct {
	OperationID string `json:"operationId"`
	Description string `json:"description"`
	Parameters  []struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
		Type     string `json:"type"`
	} `json:"parameters"`
	Responses map[string]struct {
		Schema   map[string]any            `json:"schema"`
		Examples map[string]map[string]any `json:"examples"`
	} `json:"responses"`
}

func loadModel(t *testing.T, name string) *swagger {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(modelsDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	var s swagger
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s.gets = map[string]operation{}
	for path, methods := range s.Paths {
		if raw, ok := methods["get"]; ok {
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", name, path, err)
			}
			s.gets[path] = op
		}
	}
	return &s
}

func (s *swagger) op(path string) operation { return s.gets[path] }

// conform checks v against schema: property names, required properties, JSON types and date-time formats.
func (s *swagger) conform(schema map[string]any, v any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		return s.conform(s.Definitions[strings.TrimPrefix(ref, "#/definitions/")], v, at)
	}
	var errs []string
	switch schema["type"] {
	case "string":
		str, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want string", at, v)}
		}
		if schema["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", at, str))
			}
		}
		if enum, ok := schema["enum"].([]any); ok && !contains(enum, str) {
			errs = append(errs, fmt.Sprintf("%s: %q is not one of %v", at, str, enum))
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			errs = append(errs, fmt.Sprintf("%s: %v, want integer", at, v))
		}
	case "number":
		if _, ok := v.(float64); !ok {
			errs = append(errs, fmt.Sprintf("%s: %v, want number", at, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			errs = append(errs, fmt.Sprintf("%s: %v, want boolean", at, v))
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want array", at, v)}
		}
		items, _ := schema["items"].(map[string]any)
		for i, el := range list {
			errs = append(errs, s.conform(items, el, fmt.Sprintf("%s[%d]", at, i))...)
		}
	default: // object
		obj, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want object", at, v)}
		}
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asStrings(schema["required"]) {
			if _, ok := obj[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required property %s missing", at, r))
			}
		}
		for k, val := range obj {
			ps, ok := props[k].(map[string]any)
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: property %s is not in the model", at, k))
				continue
			}
			errs = append(errs, s.conform(ps, val, at+"."+k)...)
		}
	}
	return errs
}

func contains(list []any, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// recorder serves the sandbox and keeps every exchange.
type recorder struct {
	sb *Sandbox
	mu sync.Mutex
	ex []exchange
}

type exchange struct {
	req    *http.Request
	status int
	body   []byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rec := httptest.NewRecorder()
	r.sb.ServeHTTP(rec, req)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	r.mu.Lock()
	r.ex = append(r.ex, exchange{req: req, status: rec.Code, body: rec.Body.Bytes()})
	r.mu.Unlock()
}

// recordedRun reads every entity through a recording server, in both orders API versions.
func recordedRun(t *testing.T) []exchange {
	t.Helper()
	rec := &recorder{sb: NewSandbox(SandboxOptions{Seed: 11, Orders: 120, Products: 30, Locations: 2, Unlimited: true, ItemsPerPage: 5})}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	e := &env{sb: rec.sb, srv: srv}
	for _, version := range []string{APIVersionV0, APIVersion20260101} {
		c := e.connector(t, e.credentials(), version)
		if err := c.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataInventory} {
			connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity, Since: longAgo})
			connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity, Since: time.Now().Add(-30 * 24 * time.Hour)})
		}
	}
	return rec.ex
}

// opFor finds the model operation of a request path.
func opFor(models map[string]*swagger, path string) (*swagger, string, operation, bool) {
	param := regexp.MustCompile(`\\\{[^}]+\\\}`)
	for _, m := range models {
		for p, op := range m.gets {
			re := "^" + param.ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$"
			if ok, _ := regexp.MatchString(re, path); ok {
				return m, p, op, true
			}
		}
	}
	return nil, "", operation{}, false
}

func models(t *testing.T) map[string]*swagger {
	return map[string]*swagger{
		"ordersV0":   loadModel(t, "ordersV0.json"),
		"orders2026": loadModel(t, "orders_2026-01-01.json"),
		"fba":        loadModel(t, "fbaInventory.json"),
	}
}

func TestConformanceResponsesMatchTheModels(t *testing.T) {
	ms := models(t)
	seen := map[string]int{}
	for _, ex := range recordedRun(t) {
		if ex.req.URL.Path == "/auth/o2/token" {
			continue
		}
		m, path, op, ok := opFor(ms, ex.req.URL.Path)
		if !ok {
			t.Errorf("request to %s, which no model describes", ex.req.URL.Path)
			continue
		}
		resp, ok := op.Responses[strconv.Itoa(ex.status)]
		if !ok {
			t.Errorf("%s answered %d, which the model does not list", path, ex.status)
			continue
		}
		var body any
		if err := json.Unmarshal(ex.body, &body); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if errs := m.conform(resp.Schema, body, op.OperationID); len(errs) > 0 {
			t.Errorf("%s response does not match %s:\n%s", op.OperationID, path, strings.Join(errs[:min(len(errs), 10)], "\n"))
		}
		seen[op.OperationID]++
	}
	for _, id := range []string{"getOrders", "getOrderItems", "searchOrders", "getInventorySummaries"} {
		if seen[id] == 0 {
			t.Errorf("no %s response checked", id)
		}
	}
}

func TestConformanceRequestsUseDeclaredParameters(t *testing.T) {
	ms := models(t)
	for _, ex := range recordedRun(t) {
		if ex.req.URL.Path == "/auth/o2/token" {
			if ex.req.Method != http.MethodPost || ex.req.Header.Get("Content-Type") == "" {
				t.Errorf("token request %s %v", ex.req.Method, ex.req.Header)
			}
			continue
		}
		_, path, op, ok := opFor(ms, ex.req.URL.Path)
		if !ok {
			continue
		}
		declared := map[string]bool{}
		for _, p := range op.Parameters {
			if p.In == "query" {
				declared[p.Name] = true
				if p.Required && ex.req.URL.Query().Get(p.Name) == "" {
					t.Errorf("%s: required %s missing", op.OperationID, p.Name)
				}
			}
		}
		for name, vals := range ex.req.URL.Query() {
			if !declared[name] {
				t.Errorf("%s (%s): query parameter %s is not declared", op.OperationID, path, name)
			}
			if strings.HasSuffix(name, "After") || strings.HasSuffix(name, "Before") || name == "startDateTime" {
				if _, err := time.Parse(time.RFC3339, vals[0]); err != nil {
					t.Errorf("%s: %s=%s is not ISO 8601", op.OperationID, name, vals[0])
				}
			}
		}
		if ex.req.Header.Get("x-amz-access-token") == "" || ex.req.Header.Get("User-Agent") == "" {
			t.Errorf("%s: request without x-amz-access-token or User-Agent", op.OperationID)
		}
	}
}

// TestConformanceValueFormats compares the sandbox's value formats with the models' examples.
func TestConformanceValueFormats(t *testing.T) {
	ms := models(t)
	v0 := ms["ordersV0"]
	example := v0.op("/orders/v0/orders").Responses["200"].Examples["application/json"]
	exOrder := example["payload"].(map[string]any)["Orders"].([]any)[0].(map[string]any)
	orderID := regexp.MustCompile(`^\d{3}-\d{7}-\d{7}$`)
	dateTime := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	amount := regexp.MustCompile(`^\d+\.\d{2}$`)
	if !orderID.MatchString(exOrder["AmazonOrderId"].(string)) || !dateTime.MatchString(exOrder["PurchaseDate"].(string)) {
		t.Fatalf("the model's example does not have the formats this test assumes: %v", exOrder)
	}
	if errs := v0.conform(map[string]any{"$ref": "#/definitions/Order"}, map[string]any{"Bogus": 1.0}, "probe"); len(errs) < 2 {
		t.Fatalf("the schema check misses an unknown property and missing required ones: %v", errs)
	}
	sb := NewSandbox(SandboxOptions{Seed: 2, Orders: 40, Products: 10, Locations: 2, Unlimited: true})
	for i := range sb.Catalog().Orders {
		o := sb.v0Order(&sb.Catalog().Orders[i])
		if !orderID.MatchString(o["AmazonOrderId"].(string)) || !dateTime.MatchString(o["PurchaseDate"].(string)) || !dateTime.MatchString(o["LastUpdateDate"].(string)) {
			t.Errorf("order %v: ID or date format differs from the model's example", o["AmazonOrderId"])
		}
		if total, ok := o["OrderTotal"].(map[string]any); ok && !amount.MatchString(total["Amount"].(string)) {
			t.Errorf("order %v: amount %v", o["AmazonOrderId"], total["Amount"])
		}
		// Every key of the sandbox's order is a key Amazon's example or model uses.
		props := v0.Definitions["Order"]["properties"].(map[string]any)
		for k := range o {
			if _, ok := props[k]; !ok {
				t.Errorf("order key %s is not in the model", k)
			}
		}
	}
}

// TestConformanceRatesMatchTheModels reads each operation's usage-plan table.
func TestConformanceRatesMatchTheModels(t *testing.T) {
	ms := models(t)
	table := regexp.MustCompile(`\|\s*([0-9.]+)\s*\|\s*([0-9]+)\s*\|`)
	for op, r := range DefaultRates() {
		found := false
		for _, m := range ms {
			for _, o := range m.gets {
				{
					if o.OperationID != string(op) {
						continue
					}
					mm := table.FindStringSubmatch(o.Description)
					if mm == nil {
						t.Fatalf("%s: no usage plan table", op)
					}
					found = true
					if mm[1] != strconv.FormatFloat(r.PerSecond, 'f', -1, 64) || mm[2] != strconv.Itoa(r.Burst) {
						t.Errorf("%s: model says %s/s burst %s, DefaultRates %v", op, mm[1], mm[2], r)
					}
				}
			}
		}
		if !found {
			t.Errorf("%s is in no model", op)
		}
	}
}

// TestConformanceErrorShapes checks the sandbox's error bodies against the models' error schemas.
func TestConformanceErrorShapes(t *testing.T) {
	ms := models(t)
	limits := map[Operation]Rate{OpGetOrders: {PerSecond: 0.001, Burst: 2}}
	e := newEnv(t, SandboxOptions{Seed: 1, Orders: 10, Products: 5, Locations: 1, Limits: limits})
	c := e.connector(t, e.credentials(), "")
	token := accessToken(t, c)
	do := func(tok, query string) (int, any) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER&"+query, nil)
		req.Header.Set("x-amz-access-token", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode == 429 && resp.Header.Get("x-amzn-RateLimit-Limit") != "" {
			t.Error("a 429 carries x-amzn-RateLimit-Limit")
		}
		return resp.StatusCode, body
	}
	after := "LastUpdatedAfter=" + isoTime(time.Now().Add(-time.Hour))
	cases := []struct {
		name, tok, query string
		status           int
		code             string
	}{
		{"unauthorised", "Atza|nope", after, 403, "Unauthorized"},
		{"invalid input", token, "LastUpdatedAfter=yesterday", 400, "InvalidInput"},
		{"ok", token, after, 200, ""},
		{"throttled", token, after, 429, "QuotaExceeded"},
	}
	op := ms["ordersV0"].op("/orders/v0/orders")
	for _, tc := range cases {
		status, body := do(tc.tok, tc.query)
		if status != tc.status {
			t.Errorf("%s: HTTP %d, want %d", tc.name, status, tc.status)
			continue
		}
		if errs := ms["ordersV0"].conform(op.Responses[strconv.Itoa(status)].Schema, body, tc.name); len(errs) > 0 {
			t.Errorf("%s: %v", tc.name, errs)
		}
		if tc.code != "" {
			errsList := body.(map[string]any)["errors"].([]any)
			if got := errsList[0].(map[string]any)["code"]; got != tc.code {
				t.Errorf("%s: code %v, want %s", tc.name, got, tc.code)
			}
		}
	}
	keys := make([]string, 0)
	for k := range op.Responses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "200,400,403,404,429,500,503" {
		t.Errorf("getOrders responses in the model: %v", keys)
	}
}
