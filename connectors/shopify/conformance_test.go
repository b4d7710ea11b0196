package shopify

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

// requireSpec returns the path of the first of candidates under the shared specs folder that exists, failing
// in CI and skipping elsewhere when none does.
func requireSpec(t *testing.T, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		p := filepath.Join(connectortest.SpecsRoot(), c)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return connectortest.SpecsDir(t, candidates[0])
}

var (
	schemaOnce sync.Once
	schema     *ast.Schema
	schemaErr  error
)

// loadSchema loads the official Admin API 2025-01 schema (SDL, gzipped) once.
func loadSchema(t *testing.T) *ast.Schema {
	t.Helper()
	path := requireSpec(t, "shopify/admin-graphql/admin-2025-01.schema.graphql.gz", "shopify/admin-2025-01.schema.graphql.gz")
	schemaOnce.Do(func() {
		f, err := os.Open(path)
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			schemaErr = err
			return
		}
		sdl, err := io.ReadAll(zr)
		if err != nil {
			schemaErr = err
			return
		}
		schema, schemaErr = gqlparser.LoadSchema(&ast.Source{Name: "admin-2025-01.schema.graphql", Input: string(sdl)})
	})
	if schemaErr != nil {
		t.Fatalf("load schema: %v", schemaErr)
	}
	return schema
}

// recordedTraffic runs every read path of the connector against a recording sandbox: Check, paginated reads
// of all four entities with nested line-item and variant pages, bulk reads of orders and products, and a
// throttled request.
func recordedTraffic(t *testing.T) []RequestLog {
	t.Helper()
	e := newEnv(t, SandboxOptions{RecordRequests: true, RateLimit: RateLimit{MaximumAvailable: 1000, RestoreRate: 50000}})
	c := pagedConnector(t, e)
	ctx := context.Background()
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory} {
		e.sb.Drain(1000)
		connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity})
	}
	b := e.connector(t, e.sb.AccessToken())
	for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts} {
		connectortest.ReadAll(t, b, connectors.ReadRequest{Entity: entity})
		connectortest.ReadAll(t, b, connectors.ReadRequest{Entity: entity, Since: time.Now().Add(-24 * time.Hour)})
	}
	if e.sb.Throttled() == 0 {
		t.Error("no request was throttled; the THROTTLED response shape is not covered")
	}
	return e.sb.Log()
}

func TestConformance(t *testing.T) {
	s := loadSchema(t)
	log := recordedTraffic(t)

	seen := map[string]bool{}
	bulkSeen := 0
	for _, ex := range log {
		doc, errs := gqlparser.LoadQuery(s, ex.Query)
		if len(errs) > 0 {
			// (a) every document the client sends, and every bulk query inside a mutation, is valid 2025-01.
			t.Errorf("query does not validate against the 2025-01 schema: %v\n%s", errs, ex.Query)
			continue
		}
		seen[ex.Query] = true
		if ex.Bulk {
			// (c) bulk result lines.
			bulkSeen++
			checkBulkLines(t, s, doc, ex.Response)
			continue
		}
		// (b) the sandbox's responses.
		checkResponse(t, s, doc, ex)
	}
	if len(seen) < 10 || bulkSeen < 2 {
		t.Errorf("traffic covered %d distinct documents and %d bulk queries; expected every read path", len(seen), bulkSeen)
	}
}

func checkResponse(t *testing.T, s *ast.Schema, doc *ast.QueryDocument, ex RequestLog) {
	t.Helper()
	var resp struct {
		Data       map[string]any `json:"data"`
		Errors     []gqlError     `json:"errors"`
		Extensions struct {
			Cost *struct {
				RequestedQueryCost *float64 `json:"requestedQueryCost"`
				ActualQueryCost    any      `json:"actualQueryCost"`
				ThrottleStatus     struct {
					MaximumAvailable, CurrentlyAvailable, RestoreRate *float64
				} `json:"throttleStatus"`
			} `json:"cost"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(ex.Response, &resp); err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	cost := resp.Extensions.Cost
	if cost == nil || cost.RequestedQueryCost == nil || cost.ThrottleStatus.MaximumAvailable == nil ||
		cost.ThrottleStatus.CurrentlyAvailable == nil || cost.ThrottleStatus.RestoreRate == nil {
		t.Errorf("response without a complete extensions.cost: %s", ex.Response)
	}
	if len(resp.Errors) > 0 {
		if resp.Errors[0].Extensions["code"] != "THROTTLED" || resp.Data != nil || cost == nil || cost.ActualQueryCost != nil {
			t.Errorf("unexpected errors response: %s", ex.Response)
		}
		return
	}
	op := doc.Operations[0]
	root := s.Query
	if op.Operation == ast.Mutation {
		root = s.Mutation
	}
	w := walker{t: t, s: s, doc: doc}
	w.object("data", root, op.SelectionSet, resp.Data)
}

// walker checks JSON values against a validated selection set and the schema.
type walker struct {
	t   *testing.T
	s   *ast.Schema
	doc *ast.QueryDocument
}

type selected struct {
	field       *ast.Field
	conditional bool // from a fragment whose type may not apply
}

func (w walker) fields(def *ast.Definition, set ast.SelectionSet, conditional bool, out map[string]selected) {
	for _, sel := range set {
		switch f := sel.(type) {
		case *ast.Field:
			key := f.Alias
			if key == "" {
				key = f.Name
			}
			out[key] = selected{f, conditional}
		case *ast.InlineFragment:
			w.fields(def, f.SelectionSet, conditional || (f.TypeCondition != "" && f.TypeCondition != def.Name), out)
		case *ast.FragmentSpread:
			w.fields(def, f.Definition.SelectionSet, conditional || f.Definition.TypeCondition != def.Name, out)
		}
	}
}

func (w walker) object(path string, def *ast.Definition, set ast.SelectionSet, m map[string]any) {
	if tn, ok := m["__typename"].(string); ok && w.s.Types[tn] != nil {
		def = w.s.Types[tn]
	}
	sel := map[string]selected{}
	w.fields(def, set, false, sel)
	for key, v := range m {
		f, ok := sel[key]
		if !ok {
			w.t.Errorf("%s.%s: returned but not selected", path, key)
			continue
		}
		if f.field.Definition == nil {
			w.t.Errorf("%s.%s: no schema definition", path, key)
			continue
		}
		w.value(path+"."+key, f.field.Definition.Type, f.field.SelectionSet, v)
	}
	for key, f := range sel {
		if _, ok := m[key]; !ok && !f.conditional {
			w.t.Errorf("%s.%s: selected but missing", path, key)
		}
	}
}

var (
	decimalRe = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	uintRe    = regexp.MustCompile(`^[0-9]+$`)
	gidRe     = regexp.MustCompile(`^gid://shopify/[A-Za-z]+/[0-9]+(\?.*)?$`)
)

func (w walker) value(path string, typ *ast.Type, set ast.SelectionSet, v any) {
	if v == nil {
		if typ.NonNull {
			w.t.Errorf("%s: null for non-null %s", path, typ)
		}
		return
	}
	if typ.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			w.t.Errorf("%s: %T for list %s", path, v, typ)
			return
		}
		for i, it := range list {
			w.value(path+"["+itoa(i)+"]", typ.Elem, set, it)
		}
		return
	}
	def := w.s.Types[typ.NamedType]
	switch def.Kind {
	case ast.Object, ast.Interface, ast.Union:
		m, ok := v.(map[string]any)
		if !ok {
			w.t.Errorf("%s: %T for object %s", path, v, def.Name)
			return
		}
		w.object(path, def, set, m)
	case ast.Enum:
		s, ok := v.(string)
		if !ok || def.EnumValues.ForName(s) == nil {
			w.t.Errorf("%s: %v is not a %s value", path, v, def.Name)
		}
	case ast.Scalar:
		if msg := checkScalar(def.Name, v); msg != "" {
			w.t.Errorf("%s: %s", path, msg)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// checkScalar checks a JSON value's type and format against the scalar it stands for.
func checkScalar(name string, v any) string {
	switch name {
	case "Int":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) {
			return "Int must be an integral number, got " + typeName(v)
		}
	case "Float":
		if _, ok := v.(float64); !ok {
			return "Float must be a number, got " + typeName(v)
		}
	case "Boolean":
		if _, ok := v.(bool); !ok {
			return "Boolean must be a bool, got " + typeName(v)
		}
	case "JSON":
	default:
		s, ok := v.(string)
		if !ok {
			return name + " must be a string, got " + typeName(v)
		}
		switch name {
		case "DateTime":
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return "DateTime " + s + " is not ISO 8601"
			}
		case "Decimal", "Money":
			if !decimalRe.MatchString(s) {
				return name + " " + s + " is not a decimal string"
			}
		case "UnsignedInt64":
			if !uintRe.MatchString(s) {
				return "UnsignedInt64 " + s + " is not digits"
			}
		case "URL":
			if u, err := url.Parse(s); err != nil || !u.IsAbs() {
				return "URL " + s + " is not absolute"
			}
		case "ID":
			if !gidRe.MatchString(s) {
				return "ID " + s + " is not a Shopify GID"
			}
		}
	}
	return ""
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	return "null"
}

// checkBulkLines checks a bulk result: root lines against the root connection's node selection (minus its
// nested connections), child lines (with __parentId naming an earlier line) against the nested connection
// whose node type their GID names.
func checkBulkLines(t *testing.T, s *ast.Schema, doc *ast.QueryDocument, jsonl []byte) {
	t.Helper()
	w := walker{t: t, s: s, doc: doc}
	rootField := doc.Operations[0].SelectionSet[0].(*ast.Field)
	rootNode := connectionNode(rootField)
	if rootNode == nil {
		t.Fatalf("bulk query root %s has no edges.node", rootField.Name)
	}
	children := map[string]*ast.Field{} // node type -> node field
	var plain ast.SelectionSet
	for _, sel := range rootNode.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			if n := connectionNode(f); n != nil {
				children[n.Definition.Type.NamedType] = n
				continue
			}
		}
		plain = append(plain, sel)
	}
	ids := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(jsonl))
	sc.Buffer(nil, 16<<20)
	n := 0
	for sc.Scan() {
		n++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bulk line %d: %v", n, err)
		}
		path := "bulk line " + itoa(n)
		if parent, ok := m["__parentId"].(string); ok {
			delete(m, "__parentId")
			if !ids[parent] {
				t.Errorf("%s: __parentId %s does not name an earlier line", path, parent)
			}
			id, _ := m["id"].(string)
			kind := strings.Split(strings.TrimPrefix(id, "gid://shopify/"), "/")[0]
			f := children[kind]
			if f == nil {
				t.Errorf("%s: child of unexpected type %s", path, kind)
				continue
			}
			w.object(path, s.Types[kind], f.SelectionSet, m)
			continue
		}
		w.object(path, s.Types[rootNode.Definition.Type.NamedType], plain, m)
		if id, ok := m["id"].(string); ok {
			ids[id] = true
		}
	}
	if n == 0 {
		t.Error("empty bulk result")
	}
}

// connectionNode returns the edges { node } field under a connection field, or nil.
func connectionNode(f *ast.Field) *ast.Field {
	for _, sel := range f.SelectionSet {
		if e, ok := sel.(*ast.Field); ok && e.Name == "edges" {
			for _, sel := range e.SelectionSet {
				if n, ok := sel.(*ast.Field); ok && n.Name == "node" {
					return n
				}
			}
		}
	}
	return nil
}

// TestSandboxMatchesRESTFixtures compares value formats with Shopify's own REST fixtures: money is a decimal
// string with two places, timestamps are ISO 8601 with an offset, GIDs name the REST id, country codes are two
// letters, SKUs and barcodes are strings.
func TestSandboxMatchesRESTFixtures(t *testing.T) {
	dir := filepath.Dir(requireSpec(t, "shopify/rest-fixtures/orders.json"))
	load := func(name string) map[string]any {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	money := regexp.MustCompile(`^[0-9]+\.[0-9]{2}$`)
	fixtureOrder := load("orders.json")["orders"].([]any)[0].(map[string]any)
	for _, k := range []string{"total_price", "subtotal_price"} {
		if !money.MatchString(fixtureOrder[k].(string)) {
			t.Fatalf("fixture %s = %v: the money pattern is wrong", k, fixtureOrder[k])
		}
	}
	fixtureVariant := load("variant.json")["variant"].(map[string]any)
	fixtureLocation := load("locations.json")["locations"].([]any)[0].(map[string]any)
	for _, ts := range []any{fixtureOrder["created_at"], fixtureVariant["updated_at"], fixtureLocation["updated_at"]} {
		if _, err := time.Parse(time.RFC3339, ts.(string)); err != nil {
			t.Fatalf("fixture timestamp %v: %v", ts, err)
		}
	}

	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.sb.AccessToken())
	c.BulkThreshold = 0
	orders := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	for _, r := range orders.Records[:20] {
		amount := r.Data["totalPriceSet"].(map[string]any)["shopMoney"].(map[string]any)["amount"].(string)
		if !money.MatchString(amount) {
			t.Errorf("order total %q does not look like REST total_price %q", amount, fixtureOrder["total_price"])
		}
		if cur := r.Data["currencyCode"].(string); len(cur) != len(fixtureOrder["currency"].(string)) {
			t.Errorf("currency %q vs fixture %q", cur, fixtureOrder["currency"])
		}
		if !strings.HasPrefix(r.Data["name"].(string), "#") || !strings.HasPrefix(fixtureOrder["name"].(string), "#") {
			t.Errorf("order name %v vs fixture %v", r.Data["name"], fixtureOrder["name"])
		}
		if !regexp.MustCompile(`^gid://shopify/Order/[0-9]+$`).MatchString(r.ID) {
			t.Errorf("order id %s", r.ID)
		}
	}
	products := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts})
	for _, r := range products.Records[:20] {
		if !money.MatchString(r.Data["price"].(string)) || !money.MatchString(fixtureVariant["price"].(string)) {
			t.Errorf("variant price %v vs fixture %v", r.Data["price"], fixtureVariant["price"])
		}
		if _, ok := r.Data["sku"].(string); !ok {
			t.Errorf("sku %v is not a string like fixture %v", r.Data["sku"], fixtureVariant["sku"])
		}
	}
	locs := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations})
	for _, r := range locs.Records {
		cc := r.Data["address"].(map[string]any)["countryCode"].(string)
		if len(cc) != len(fixtureLocation["country_code"].(string)) || strings.ToUpper(cc) != cc {
			t.Errorf("country code %q vs fixture %q", cc, fixtureLocation["country_code"])
		}
		if !uintRe.MatchString(r.Data["legacyResourceId"].(string)) {
			t.Errorf("legacyResourceId %v is not the REST id's digits", r.Data["legacyResourceId"])
		}
	}
}

func TestSandboxErrors(t *testing.T) {
	e := newEnv(t, SandboxOptions{RateLimit: PlanStandard})
	post := func(q string) map[string]any {
		t.Helper()
		_, body := e.sb.execute(gqlRequest{Query: q}, "http://sandbox")
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	msg := func(m map[string]any) string {
		errs, _ := m["errors"].([]any)
		if len(errs) == 0 {
			return ""
		}
		return errs[0].(map[string]any)["message"].(string)
	}
	if got := msg(post(`{ orders(first: 1) { edges { node { bogus } } } }`)); got != "Field 'bogus' doesn't exist on type 'Order'" {
		t.Errorf("unknown field: %q", got)
	}
	if got := msg(post(`{ orders(first: 251) { edges { node { id } } } }`)); !strings.Contains(got, "maximum page size (250)") {
		t.Errorf("first > 250: %q", got)
	}
	if got := msg(post(`{ orders { edges { node { id } } } }`)); got != "you must provide one of first or last" {
		t.Errorf("no first: %q", got)
	}
	if got := msg(post(`{ orders(first: 250) { edges { node { id lineItems(first: 250) { edges { node { id } } } } } } }`)); !strings.Contains(got, "exceeds the single query max cost limit (1000)") {
		t.Errorf("max cost: %q", got)
	}
	// The Standard bucket holds 1000 points: two 902-point queries in a row are throttled.
	q := `{ orders(first: 20) { edges { node { id totalPriceSet { shopMoney { amount } } lineItems(first: 10) { edges { node { id variant { id } originalUnitPriceSet { shopMoney { amount } } } } } } } } }`
	post(q)
	e.sb.Drain(500)
	m := post(q)
	if m["errors"].([]any)[0].(map[string]any)["extensions"].(map[string]any)["code"] != "THROTTLED" {
		t.Errorf("not throttled: %v", m)
	}
	// One running bulk operation per shop.
	run := `mutation { bulkOperationRunQuery(query: "{ orders { edges { node { id } } } }") { bulkOperation { id status } userErrors { code message } } }`
	e.sb.SetRateLimit(PlanStandard, true)
	first := post(run)["data"].(map[string]any)["bulkOperationRunQuery"].(map[string]any)
	second := post(run)["data"].(map[string]any)["bulkOperationRunQuery"].(map[string]any)
	if first["bulkOperation"] == nil || second["bulkOperation"] != nil ||
		second["userErrors"].([]any)[0].(map[string]any)["code"] != "OPERATION_IN_PROGRESS" {
		t.Errorf("bulk concurrency: %v / %v", first, second)
	}
	bad := post(`mutation { bulkOperationRunQuery(query: "{ shop { name } }") { userErrors { code message } } }`)
	if ue := bad["data"].(map[string]any)["bulkOperationRunQuery"].(map[string]any)["userErrors"].([]any); len(ue) == 0 {
		t.Errorf("a bulk query without a connection was accepted")
	}
}
