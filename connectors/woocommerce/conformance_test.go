package woocommerce

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

// The conformance tests hold the sandbox's responses and the connector's requests against WooCommerce's
// official REST API documentation, extracted into ../shared/specs/woocommerce (woocommerce-rest-api-docs at
// 13d61967, Apache-2.0): the property tables of Order, Product and Product variation, the documented JSON
// response examples, the list endpoints' parameter tables and the GET /wp-json/wc/v3 index with every route's
// arguments.

type propertyRow struct {
	Attribute   string `json:"attribute"`
	Parameter   string `json:"parameter"` // in the "Available parameters" tables
	Type        string `json:"type"`
	Description string `json:"description"`
	WriteOnly   bool   `json:"write_only"`
}

type docExample struct {
	Heading  string          `json:"heading"`
	Endpoint string          `json:"endpoint"`
	Kind     string          `json:"kind"`
	Body     json.RawMessage `json:"body"`
}

type docFile struct {
	Files []struct {
		PropertyTables map[string][]propertyRow `json:"property_tables"`
		Examples       []docExample             `json:"examples"`
	} `json:"files"`
}

func loadDoc(t *testing.T, name string) (map[string][]propertyRow, []docExample) {
	t.Helper()
	b, err := os.ReadFile(connectortest.SpecsDir(t, "woocommerce", name))
	if err != nil {
		t.Fatal(err)
	}
	var d docFile
	if err := json.Unmarshal(b, &d); err != nil || len(d.Files) == 0 {
		t.Fatalf("%s: %v", name, err)
	}
	return d.Files[0].PropertyTables, d.Files[0].Examples
}

// listExample is the first element of the documented "List all …" response.
func listExample(t *testing.T, examples []docExample, heading string) map[string]any {
	t.Helper()
	for _, e := range examples {
		if e.Heading == heading && e.Kind == "response" {
			var list []map[string]any
			if err := json.Unmarshal(e.Body, &list); err != nil || len(list) == 0 {
				t.Fatalf("%s example: %v", heading, err)
			}
			return list[0]
		}
	}
	t.Fatalf("no %q response example", heading)
	return nil
}

var (
	gmtDateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$`)
	moneyRE   = regexp.MustCompile(`^-?\d+\.\d{2}$`)
)

// deviations are where WooCommerce's responses differ from its own property tables, with the evidence.
var deviations = map[string]string{
	// The documented example sends "price": 3 and 12 (numbers); WC_Order_Item_Product::get_price is a float.
	"line_items.price": "number",
	// Variations inheriting their product's stock say "parent" (WC_Product_Variation::get_manage_stock).
	"variation.manage_stock": "boolean|string",
	// The documented variation example sends "shipping_class_id": 0.
	"variation.shipping_class_id": "integer",
	// The documented order example sends "rate_id": 75 in tax_lines.
	"tax_lines.rate_id": "integer",
}

// checkType checks one value against a property table's type. Dates and nullable numbers may be null.
func checkType(t *testing.T, where, typ string, v any) {
	t.Helper()
	if dev, ok := deviations[where]; ok {
		typ = dev
	}
	ok := false
	for _, ty := range strings.Split(typ, "|") {
		switch ty {
		case "integer":
			f, isNum := v.(float64)
			ok = ok || (isNum && f == float64(int64(f))) || (v == nil && strings.HasSuffix(where, "stock_quantity"))
		case "number":
			_, isNum := v.(float64)
			ok = ok || isNum
		case "string":
			_, isStr := v.(string)
			ok = ok || isStr
		case "boolean":
			_, isBool := v.(bool)
			ok = ok || isBool
		case "array":
			_, isArr := v.([]any)
			ok = ok || isArr
		case "object":
			_, isObj := v.(map[string]any)
			ok = ok || isObj || (v == nil && strings.HasSuffix(where, "image"))
		case "date-time":
			s, isStr := v.(string)
			ok = ok || v == nil || (isStr && gmtDateRE.MatchString(s))
		default:
			ok = true
		}
	}
	if !ok {
		t.Errorf("%s = %#v, documented as %s", where, v, typ)
	}
}

// checkObject holds an object against a property table: every documented read field present with its
// documented type, and every field of the documented example present.
func checkObject(t *testing.T, prefix string, obj map[string]any, rows []propertyRow, example map[string]any) {
	t.Helper()
	for _, r := range rows {
		if r.WriteOnly {
			continue
		}
		v, ok := obj[r.Attribute]
		if !ok {
			t.Errorf("%s%s is documented but missing", prefix, r.Attribute)
			continue
		}
		checkType(t, prefix+r.Attribute, r.Type, v)
	}
	for k := range example {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s%s is in the documented example but missing", prefix, k)
		}
	}
}

func asList(v any) []map[string]any {
	var out []map[string]any
	for _, x := range v.([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func getList(t *testing.T, e *env, path string, q url.Values) []map[string]any {
	t.Helper()
	resp, body := e.signedGet(t, path, q, time.Now())
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: HTTP %d %s", path, resp.StatusCode, body)
	}
	var out []map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConformanceOrders(t *testing.T) {
	tables, examples := loadDoc(t, "wc-v3-orders.json")
	ex := listExample(t, examples, "List all orders")
	e := newEnv(t, SandboxOptions{})
	orders := getList(t, e, "/orders", url.Values{"per_page": {"100"}})
	if len(orders) != 100 {
		t.Fatalf("%d orders", len(orders))
	}
	nested := map[string]string{"billing": "Order - Billing properties", "shipping": "Order - Shipping properties"}
	lists := map[string]string{"line_items": "Order - Line items properties", "tax_lines": "Order - Tax lines properties",
		"shipping_lines": "Order - Shipping lines properties", "refunds": "Order - Refunds properties"}
	for _, o := range orders {
		checkObject(t, "", o, tables["Order properties"], ex)
		for field, table := range nested {
			checkObject(t, field+".", o[field].(map[string]any), tables[table], ex[field].(map[string]any))
		}
		for field, table := range lists {
			for _, item := range asList(o[field]) {
				var exItem map[string]any
				if l, _ := ex[field].([]any); len(l) > 0 {
					exItem = l[0].(map[string]any)
				}
				checkObject(t, field+".", item, tables[table], exItem)
			}
		}
		for _, f := range []string{"discount_total", "discount_tax", "shipping_total", "shipping_tax", "cart_tax", "total", "total_tax"} {
			if !moneyRE.MatchString(o[f].(string)) {
				t.Errorf("order %v %s = %q, not a money string like %q", o["id"], f, o[f], ex[f])
			}
		}
		for _, l := range asList(o["line_items"]) {
			for _, f := range []string{"subtotal", "total", "subtotal_tax", "total_tax"} {
				if !moneyRE.MatchString(l[f].(string)) {
					t.Errorf("line %v %s = %q", l["id"], f, l[f])
				}
			}
		}
		created, _ := time.Parse(gmtLayout, o["date_created_gmt"].(string))
		local, _ := time.Parse(gmtLayout, o["date_created"].(string))
		if created.Sub(local) != 5*time.Hour {
			t.Errorf("date_created %s is not date_created_gmt %s in the site's UTC-5", o["date_created"], o["date_created_gmt"])
		}
	}
}

func TestConformanceProductsAndVariations(t *testing.T) {
	ptables, pexamples := loadDoc(t, "wc-v3-products.json")
	vtables, vexamples := loadDoc(t, "wc-v3-product-variations.json")
	pex := listExample(t, pexamples, "List all products")
	vex := listExample(t, vexamples, "List all product variations")
	e := newEnv(t, SandboxOptions{})
	products := getList(t, e, "/products", url.Values{"per_page": {"100"}})
	variable := 0
	for _, p := range products {
		checkObject(t, "", p, ptables["Product properties"], pex)
		checkObject(t, "dimensions.", p["dimensions"].(map[string]any), ptables["Product - Dimensions properties"], nil)
		for _, a := range asList(p["attributes"]) {
			checkObject(t, "attributes.", a, ptables["Product - Attributes properties"], nil)
		}
		for _, c := range asList(p["categories"]) {
			checkObject(t, "categories.", c, ptables["Product - Categories properties"], nil)
		}
		if p["type"] != "variable" {
			continue
		}
		variable++
		for _, v := range getList(t, e, "/products/"+idString(idOf(p))+"/variations", url.Values{"per_page": {"100"}}) {
			checkObject(t, "variation.", v, vtables["Product variation properties"], vex)
			for _, a := range asList(v["attributes"]) {
				checkObject(t, "variation.attributes.", a, vtables["Product variation - Attributes properties"], nil)
			}
			if !moneyRE.MatchString(v["price"].(string)) {
				t.Errorf("variation %v price %q", v["id"], v["price"])
			}
		}
	}
	if variable == 0 {
		t.Fatal("no variable product checked")
	}
}

// routeArgs reads the documented arguments of a route's GET from the API index.
func routeArgs(t *testing.T, route string) map[string]struct {
	Type string   `json:"type"`
	Enum []string `json:"enum"`
} {
	t.Helper()
	b, err := os.ReadFile(connectortest.SpecsDir(t, "woocommerce", "wc-v3-api-index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Body struct {
			Routes map[string]struct {
				Endpoints []struct {
					Methods []string        `json:"methods"`
					Args    json.RawMessage `json:"args"` // an object, or [] when a route has none
				} `json:"endpoints"`
			} `json:"routes"`
		} `json:"body"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	r, ok := idx.Body.Routes[route]
	if !ok {
		t.Fatalf("route %s is not in the API index", route)
	}
	for _, ep := range r.Endpoints {
		for _, m := range ep.Methods {
			if m == "GET" {
				var args map[string]struct {
					Type string   `json:"type"`
					Enum []string `json:"enum"`
				}
				if err := json.Unmarshal(ep.Args, &args); err != nil {
					t.Fatalf("route %s args: %v", route, err)
				}
				return args
			}
		}
	}
	t.Fatalf("route %s has no GET", route)
	return nil
}

// documentedParams are the parameter names of a list endpoint's "Available parameters" table.
func documentedParams(t *testing.T, file, table string) map[string]bool {
	tables, _ := loadDoc(t, file)
	out := map[string]bool{}
	for _, r := range tables[table] {
		out[r.Parameter] = true
	}
	if len(out) == 0 || out[""] {
		t.Fatalf("%s: no table %q", file, table)
	}
	return out
}

func TestConformanceClientRequests(t *testing.T) {
	e := newEnv(t, SandboxOptions{RecordRequests: true})
	c := e.connector(t)
	c.PageSize = 60
	ctx := context.Background()
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataInventory, v1alpha1.DataLocations} {
		mustRead(t, c, connectors.ReadRequest{Entity: entity, Since: time.Now().Add(-400 * 24 * time.Hour)})
	}
	type routeDoc struct {
		route, file, table string
	}
	docs := map[string]routeDoc{
		"/orders":     {"/wc/v3/orders", "wc-v3-orders.json", "Available parameters [List all orders]"},
		"/products":   {"/wc/v3/products", "wc-v3-products.json", "Available parameters [List all products]"},
		"/variations": {`/wc/v3/products/(?P<product_id>[\d]+)/variations`, "wc-v3-product-variations.json", "Available parameters [List all product variations]"},
	}
	// WP REST global parameters every route takes.
	globals := map[string]bool{"_fields": true, "_embed": true, "_envelope": true}
	// orderby=modified arrived in WooCommerce 4.x (woocommerce/woocommerce-rest-api#226), after the index example.
	extraEnum := map[string]string{"orderby": "modified"}
	seen := map[string]bool{}
	for _, l := range e.sb.Log() {
		path := strings.TrimPrefix(l.Path, APIPath)
		key := path
		if reVariations.MatchString(path) {
			key = "/variations"
		}
		seen[key] = true
		if l.Method != "GET" || l.Status != 200 {
			t.Errorf("%s %s answered %d", l.Method, l.Path, l.Status)
		}
		for _, p := range []string{"oauth_consumer_key", "oauth_nonce", "oauth_signature", "oauth_signature_method", "oauth_timestamp"} {
			if l.Query.Get(p) == "" {
				t.Errorf("%s: no %s over plain HTTP", l.Path, p)
			}
		}
		if l.Query.Get("oauth_signature_method") != "HMAC-SHA256" || l.Header.Get("Authorization") != "" {
			t.Errorf("%s: signature method %q, Authorization %q", l.Path, l.Query.Get("oauth_signature_method"), l.Header.Get("Authorization"))
		}
		d, ok := docs[key]
		if !ok {
			if key != "/settings/general" {
				t.Errorf("request to an undocumented route %s", l.Path)
			}
			continue
		}
		args := routeArgs(t, d.route)
		params := documentedParams(t, d.file, d.table)
		for name, vs := range l.Query {
			if strings.HasPrefix(name, "oauth_") || globals[name] {
				continue
			}
			arg, inIndex := args[name]
			if !inIndex && !params[name] {
				t.Errorf("%s: parameter %s is not documented for %s", l.Path, name, d.route)
				continue
			}
			v := vs[0]
			if len(arg.Enum) > 0 && !contains(arg.Enum, v) && extraEnum[name] != v {
				t.Errorf("%s: %s=%s is not one of %v", l.Path, name, v, arg.Enum)
			}
			switch {
			case name == "per_page" && (v < "1" || len(v) > 3 || (len(v) == 3 && v != "100")):
				t.Errorf("%s: per_page=%s", l.Path, v)
			case strings.HasPrefix(name, "modified_") && !gmtDateRE.MatchString(v):
				t.Errorf("%s: %s=%s is not an ISO 8601 date", l.Path, name, v)
			}
		}
		if l.Query.Get("modified_after") != "" && l.Query.Get("dates_are_gmt") != "true" {
			t.Errorf("%s: modified_after without dates_are_gmt=true is read in the site's timezone", l.Path)
		}
		if key != "/variations" && l.Query.Get("_fields") == "" && l.Query.Get("orderby") != "modified" {
			t.Errorf("%s: a scan not sorted by modification time (orderby=%s)", l.Path, l.Query.Get("orderby"))
		}
	}
	for _, k := range []string{"/orders", "/products", "/variations", "/settings/general"} {
		if !seen[k] {
			t.Errorf("no request to %s recorded", k)
		}
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// The error bodies the connector classifies have WooCommerce's shape: code, message, data.status.
func TestConformanceErrorShapes(t *testing.T) {
	e := newEnv(t, SandboxOptions{RateLimit: 1, Burst: 1})
	for _, tc := range []struct {
		url    string
		status int
		code   string
	}{
		{e.srv.URL + APIPath + "/orders", 401, "woocommerce_rest_cannot_view"},
		{e.srv.URL + APIPath + "/orders", 429, "rest_too_many_requests"},
	} {
		resp, body := e.rawGet(t, tc.url, nil)
		var got map[string]any
		_ = json.Unmarshal(body, &got)
		data, _ := got["data"].(map[string]any)
		if resp.StatusCode != tc.status || got["code"] != tc.code || got["message"] == "" || data["status"] != float64(tc.status) {
			t.Errorf("HTTP %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.code)
		}
		if tc.status == 429 && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
}
