package walmart

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

// The conformance tests hold the sandbox's JSON against Walmart's official Marketplace XML schemas and mock
// responses in ../shared/specs/walmart (walmartlabs/partnerapi_sdk_dotnet, Apache-2.0): element names,
// required elements, enumerations and value formats. The JSON API renders the same documents as JSON, with
// two documented differences the tests allow for: xsd:dateTime values are epoch milliseconds (see
// commerce-apis.md, "orderDate(epoch ms)"), and elements of the current API newer than the 2016-era schemas
// (listed in jsonOnly) may appear. The client's requests are held against the wire facts in
// shared/platforms/commerce-apis.md §7, since the specs folder has no OpenAPI for requests.

// readSpec reads a spec file without the UTF-8 byte order mark 52 of Walmart's files start with.
func readSpec(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(connectortest.SpecsDir(t, "walmart", rel))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimPrefix(b, []byte("\uFEFF"))
}

type xsdSchema struct {
	Includes []struct {
		Location string `xml:"schemaLocation,attr"`
	} `xml:"include"`
	Complex []xsdComplex `xml:"complexType"`
	Simple  []xsdSimple  `xml:"simpleType"`
}

type xsdComplex struct {
	Name     string     `xml:"name,attr"`
	Sequence *xsdGroup  `xml:"sequence"`
	Choice   *xsdGroup  `xml:"choice"`
	All      *xsdGroup  `xml:"all"`
	Elements []xsdField `xml:"-"`
}

type xsdGroup struct {
	Elements []xsdField `xml:"element"`
	Choices  []xsdGroup `xml:"choice"`
}

type xsdField struct {
	Name      string      `xml:"name,attr"`
	Type      string      `xml:"type,attr"`
	MinOccurs string      `xml:"minOccurs,attr"`
	MaxOccurs string      `xml:"maxOccurs,attr"`
	Simple    *xsdSimple  `xml:"simpleType"`
	Complex   *xsdComplex `xml:"complexType"`
	optional  bool
}

type xsdSimple struct {
	Name        string `xml:"name,attr"`
	Restriction struct {
		Base  string `xml:"base,attr"`
		Enums []struct {
			Value string `xml:"value,attr"`
		} `xml:"enumeration"`
		FractionDigits *struct {
			Value string `xml:"value,attr"`
		} `xml:"fractionDigits"`
	} `xml:"restriction"`
}

// schema is a set of XSD files with their includes: named complex and simple types.
type schema struct {
	complex map[string]*xsdComplex
	simple  map[string]*xsdSimple
}

func loadSchema(t *testing.T, rels ...string) *schema {
	t.Helper()
	s := &schema{complex: map[string]*xsdComplex{}, simple: map[string]*xsdSimple{}}
	seen := map[string]bool{}
	var load func(rel string, required bool)
	load = func(rel string, required bool) {
		if seen[rel] {
			return
		}
		seen[rel] = true
		if !required {
			if _, err := os.Stat(filepath.Join(connectortest.SpecsRoot(), "walmart", rel)); err != nil {
				return // an include missing upstream (SOURCES.md lists them)
			}
		}
		var doc xsdSchema
		if err := xml.Unmarshal(readSpec(t, rel), &doc); err != nil {
			t.Fatalf("parse %s: %v", rel, err)
		}
		for i := range doc.Complex {
			c := &doc.Complex[i]
			c.Elements = flatten(c)
			s.complex[c.Name] = c
		}
		for i := range doc.Simple {
			s.simple[doc.Simple[i].Name] = &doc.Simple[i]
		}
		for _, inc := range doc.Includes {
			load(filepath.Join(filepath.Dir(rel), inc.Location), false)
		}
	}
	for _, r := range rels {
		load(r, true)
	}
	return s
}

// flatten lists a complex type's elements; those inside a choice are optional.
func flatten(c *xsdComplex) []xsdField {
	var out []xsdField
	var walk func(g *xsdGroup, inChoice bool)
	walk = func(g *xsdGroup, inChoice bool) {
		if g == nil {
			return
		}
		for _, e := range g.Elements {
			e.optional = inChoice || e.MinOccurs == "0"
			out = append(out, e)
		}
		for i := range g.Choices {
			walk(&g.Choices[i], true)
		}
	}
	walk(c.Sequence, false)
	walk(c.Choice, true)
	walk(c.All, false)
	return out
}

// jsonOnly are elements of the current JSON API that the 2016-era schemas do not declare, by complex type.
var jsonOnly = map[string][]string{
	"Order":           {"shipNode"},
	"fulfillmentType": {"pickUpDateTime"},
	"refundType":      {"refundId"},
	"MPItemView":      {"lifecycleStatus", "variantGroupId", "variantGroupInfo"},
}

var epochMillis = regexp.MustCompile(`^1[0-9]{12}$`)

// conform checks a JSON value (decoded with UseNumber) against an XSD type and reports every mismatch.
func (s *schema) conform(path string, v any, field xsdField, errs *[]string) {
	bad := func(format string, args ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, args...)) }
	if field.MaxOccurs == "unbounded" {
		list, ok := v.([]any)
		if !ok {
			bad("want a JSON array (maxOccurs unbounded), got %T", v)
			return
		}
		one := field
		one.MaxOccurs = ""
		for i, x := range list {
			s.conform(fmt.Sprintf("%s[%d]", path, i), x, one, errs)
		}
		return
	}
	typ := strings.TrimPrefix(strings.TrimPrefix(field.Type, "xsd:"), "xs:")
	var ct *xsdComplex
	if field.Complex != nil {
		ct = field.Complex
		ct.Elements = flatten(ct)
	} else {
		ct = s.complex[field.Type]
	}
	if ct != nil {
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want an object of type %s, got %T", field.Type, v)
			return
		}
		declared := map[string]xsdField{}
		for _, e := range ct.Elements {
			declared[e.Name] = e
			if _, ok := obj[e.Name]; !ok && !e.optional {
				bad("required element %q of %s is missing", e.Name, ct.Name)
			}
		}
		extra := map[string]bool{}
		for _, k := range jsonOnly[ct.Name] {
			extra[k] = true
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e, ok := declared[k]
			switch {
			case ok:
				s.conform(path+"."+k, obj[k], e, errs)
			case !extra[k]:
				bad("element %q is not declared by %s", k, ct.Name)
			}
		}
		return
	}
	simple := field.Simple
	if simple == nil {
		simple = s.simple[field.Type]
	}
	if simple != nil {
		typ = strings.TrimPrefix(simple.Restriction.Base, "xsd:")
		if len(simple.Restriction.Enums) > 0 {
			str, _ := v.(string)
			for _, e := range simple.Restriction.Enums {
				if e.Value == str {
					return
				}
			}
			bad("%v is not one of the %d values of %s", v, len(simple.Restriction.Enums), simple.Name)
			return
		}
	}
	switch typ {
	case "string", "":
		if _, ok := v.(string); !ok {
			bad("want a string, got %T %v", v, v)
		}
	case "dateTime":
		if n, ok := v.(json.Number); !ok || !epochMillis.MatchString(n.String()) {
			bad("xsd:dateTime as JSON should be epoch milliseconds, got %v", v)
		}
	case "int", "integer", "long":
		if n, ok := v.(json.Number); !ok || strings.ContainsAny(n.String(), ".eE") {
			bad("want an integer, got %v", v)
		}
	case "decimal", "float", "double":
		n, ok := v.(json.Number)
		if !ok {
			bad("want a number, got %T %v", v, v)
			return
		}
		if simple != nil && simple.Restriction.FractionDigits != nil {
			max, _ := strconv.Atoi(simple.Restriction.FractionDigits.Value)
			if _, frac, _ := strings.Cut(n.String(), "."); len(frac) > max {
				bad("%s has more than %d fraction digits", n, max)
			}
		}
	}
}

// sandboxGet fetches a sandbox response as JSON decoded with UseNumber.
func sandboxGet(t *testing.T, e *env, pathAndQuery string, status int) any {
	t.Helper()
	body := rawGet(t, e, pathAndQuery, status, nil)
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// xmlPaths lists the element paths (local names) of an XML document below its root's children.
func xmlPaths(t *testing.T, doc []byte, under string) map[string]string {
	t.Helper()
	out := map[string]string{}
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var stack []string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch x := tok.(type) {
		case xml.StartElement:
			stack = append(stack, x.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(x)
		case xml.EndElement:
			p := strings.Join(stack, "/")
			if i := strings.Index(p, under+"/"); i >= 0 {
				rel := p[i+len(under)+1:]
				if _, ok := out[rel]; !ok {
					out[rel] = strings.TrimSpace(text.String())
				}
			}
			stack = stack[:len(stack)-1]
			text.Reset()
		}
	}
	return out
}

// jsonPaths lists the paths of a JSON value the way xmlPaths does (arrays are transparent).
func jsonPaths(v any, prefix string, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			p := k
			if prefix != "" {
				p = prefix + "/" + k
			}
			out[p] = c
			jsonPaths(c, p, out)
		}
	case []any:
		for _, c := range x {
			jsonPaths(c, prefix, out)
		}
	}
}

func ordersEnv(t *testing.T) *env {
	return newEnv(t, SandboxOptions{Unlimited: true, WFSEvery: 4})
}

func TestConformanceOrdersMatchPurchaseOrderV33Schema(t *testing.T) {
	s := loadSchema(t, "xsd/V3/Order/PurchaseOrderV3.3.xsd")
	e := ordersEnv(t)
	since := url.QueryEscape(time.Now().AddDate(0, 0, -179).UTC().Format(walmartTime))
	var errs []string
	for _, typ := range ShipNodeTypes {
		list := sandboxGet(t, e, "/v3/orders?limit=200&shipNodeType="+typ+"&lastModifiedStartDate="+since, http.StatusOK)
		s.conform("list", list.(map[string]any)["list"], xsdField{Name: "list", Type: "ordersListType"}, &errs)
	}
	if len(errs) > 0 {
		t.Fatalf("%d mismatches with PurchaseOrderV3.3.xsd, first ones:\n%s", len(errs), strings.Join(errs[:min(20, len(errs))], "\n"))
	}
}

func TestConformanceOrdersCarryTheExampleFieldsAndFormats(t *testing.T) {
	example := xmlPaths(t, readSpec(t, "response-examples/v3/allOrders.xml"), "elements/order")
	e := ordersEnv(t)
	since := url.QueryEscape(time.Now().AddDate(0, 0, -179).UTC().Format(walmartTime))
	got := map[string]any{}
	for _, typ := range ShipNodeTypes {
		list := sandboxGet(t, e, "/v3/orders?limit=200&shipNodeType="+typ+"&lastModifiedStartDate="+since, http.StatusOK)
		jsonPaths(list.(map[string]any)["list"].(map[string]any)["elements"].(map[string]any)["order"], "", got)
	}
	// Optional elements of the example the sandbox does not produce: a second address line, the offer ID.
	notRendered := map[string]bool{"shippingInfo/postalAddress/address2": true, "orderLines/orderLine/fulfillment/offerId": true}
	for p := range example {
		if _, ok := got[p]; !ok && !notRendered[p] {
			t.Errorf("the example has %s; no sandbox order does", p)
		}
	}
	formats := []struct {
		path string
		re   string
	}{
		{"purchaseOrderId", `^[0-9]{13}$`},
		{"customerOrderId", `^[0-9]{13}$`},
		{"customerEmailId", `^[0-9A-F]{32}@relay\.walmart\.com$`},
		{"orderLines/orderLine/lineNumber", `^[1-9][0-9]*$`},
		{"orderLines/orderLine/orderLineQuantity/amount", `^[1-9][0-9]*$`},
		{"orderLines/orderLine/charges/charge/chargeAmount/amount", `^-?[0-9]+\.[0-9]{2}$`},
		{"orderLines/orderLine/charges/charge/chargeAmount/currency", `^[A-Z]{3}$`},
		{"shippingInfo/postalAddress/country", `^USA$`},
		{"shippingInfo/phone", `^[0-9]{10}$`},
	}
	for _, f := range formats {
		want := regexp.MustCompile(f.re)
		if !want.MatchString(example[f.path]) {
			t.Fatalf("format %s does not match the example's own %s %q", f.re, f.path, example[f.path])
		}
		if v := fmt.Sprint(got[f.path]); !want.MatchString(v) {
			t.Errorf("sandbox %s = %q, the example's format is %s (%q)", f.path, v, f.re, example[f.path])
		}
	}
	// Dates: the example's xsd:dateTime is, in the JSON API, the epoch milliseconds of the same instant.
	if _, err := time.Parse(time.RFC3339Nano, example["orderDate"]); err != nil {
		t.Fatalf("example orderDate %q: %v", example["orderDate"], err)
	}
	ms, err := got["orderDate"].(json.Number).Int64()
	if err != nil || !epochMillis.MatchString(got["orderDate"].(json.Number).String()) ||
		time.Since(time.UnixMilli(ms)) > MaxHistory || time.UnixMilli(ms).After(time.Now()) {
		t.Errorf("sandbox orderDate %v is not epoch milliseconds within the last 180 days", got["orderDate"])
	}
}

func TestConformanceEmptyListIsThe404ErrorOfTheExample(t *testing.T) {
	example := xmlPaths(t, readSpec(t, "response-examples/v3/404_error.xml"), "errors")
	e := ordersEnv(t)
	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(walmartTime))
	body := sandboxGet(t, e, "/v3/orders?shipNodeType=SellerFulfilled&lastModifiedStartDate="+future, http.StatusNotFound)
	got := map[string]any{}
	jsonPaths(body.(map[string]any)["errors"], "", got)
	for p := range example {
		if _, ok := got[p]; !ok {
			t.Errorf("the 404 example has errors/%s; the sandbox's body does not", p)
		}
	}
	if !strings.HasPrefix(fmt.Sprint(got["error/code"]), "CONTENT_NOT_FOUND.") || got["error/info"] != example["error/info"] ||
		got["error/severity"] != example["error/severity"] {
		t.Errorf("sandbox 404 error %v, the example's is %v", got, example)
	}
}

func TestConformanceItemsMatchMPItemViewAndTheItemsExample(t *testing.T) {
	s := loadSchema(t, "xsd/V2/Item/MPItemView.xsd")
	example := xmlPaths(t, readSpec(t, "response-examples/v3/itemsList.xml"), "ItemResponse")
	e := ordersEnv(t)
	body := sandboxGet(t, e, "/v3/items?limit=200", http.StatusOK).(map[string]any)
	var errs []string
	s.conform("ItemResponse", body["ItemResponse"], xsdField{Name: "ItemResponse", Type: "MPItemView", MaxOccurs: "unbounded"}, &errs)
	if len(errs) > 0 {
		t.Fatalf("%d mismatches with MPItemView.xsd:\n%s", len(errs), strings.Join(errs[:min(20, len(errs))], "\n"))
	}
	if _, ok := body["totalItems"].(json.Number); !ok {
		t.Error("items list has no totalItems count, as itemsList.xml has")
	}
	got := map[string]any{}
	jsonPaths(body["ItemResponse"], "", got)
	for p := range example {
		if _, ok := got[p]; !ok && p != "shelf" {
			t.Errorf("the items example has %s; the sandbox's items do not", p)
		}
	}
	for _, f := range []struct{ path, re string }{
		{"wpid", `^[0-9A-Z]{12}$`}, {"gtin", `^[0-9]{14}$`}, {"upc", `^[0-9]{12}$`}, {"mart", `^WALMART_US$`},
		{"price/amount", `^[0-9]+\.[0-9]{2}$`},
	} {
		re := regexp.MustCompile(f.re)
		if !re.MatchString(example[f.path]) {
			t.Fatalf("format %s does not match the example's %s %q", f.re, f.path, example[f.path])
		}
		if v := fmt.Sprint(got[f.path]); !re.MatchString(v) {
			t.Errorf("sandbox item %s = %q, the example's format is %s", f.path, v, f.re)
		}
	}
}

func TestConformanceInventoryMatchesInventoryXSDAndExample(t *testing.T) {
	s := loadSchema(t, "xsd/V2/Inventory/Inventory.xsd")
	example := xmlPaths(t, readSpec(t, "response-examples/v2/itemInventory.xml"), "inventory")
	e := ordersEnv(t)
	sku := e.sb.account.items[0].v.SKU
	body := sandboxGet(t, e, "/v3/inventory?sku="+url.QueryEscape(sku), http.StatusOK)
	var errs []string
	s.conform("inventory", body, xsdField{Name: "inventory", Type: "inventory"}, &errs)
	if len(errs) > 0 {
		t.Fatalf("mismatches with Inventory.xsd:\n%s", strings.Join(errs, "\n"))
	}
	got := map[string]any{}
	jsonPaths(body, "", got)
	for p := range example {
		if _, ok := got[p]; !ok {
			t.Errorf("the inventory example has %s; the sandbox's answer does not", p)
		}
	}
	// The multi-node list uses the same quantity shape (unit, amount) per node.
	list := sandboxGet(t, e, "/v3/inventories?limit=5", http.StatusOK)
	nodes := map[string]any{}
	jsonPaths(list, "", nodes)
	for _, p := range []string{"elements/inventories/sku", "elements/inventories/nodes/shipNode",
		"elements/inventories/nodes/availToSellQty/unit", "elements/inventories/nodes/availToSellQty/amount", "meta/nextCursor"} {
		if _, ok := nodes[p]; !ok {
			t.Errorf("inventories answer has no %s", p)
		}
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestConformanceClientRequestsCarryWalmartsHeadersAndParameters holds every request of a full read
// against commerce-apis.md §7: the token call, the four headers, a fresh correlation ID per request, the
// order query parameters and their formats.
func TestConformanceClientRequestsCarryWalmartsHeadersAndParameters(t *testing.T) {
	e := ordersEnv(t)
	c := e.connector(t)
	e.sb.Faults().FailNext(1, http.StatusServiceUnavailable) // a retry must get a new correlation ID too
	for _, entity := range []v1alpha1.DataType{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory} {
		if _, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: entity}, 0); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]bool{}
	log := e.sb.RequestLog()
	for _, r := range log {
		id := r.Header.Get("WM_QOS.CORRELATION_ID")
		if !uuidV4.MatchString(id) || ids[id] {
			t.Fatalf("%s %s: correlation ID %q is not a fresh UUID", r.Method, r.Path, id)
		}
		ids[id] = true
		if r.Header.Get("WM_SVC.NAME") != "Walmart Marketplace" || r.Header.Get("Accept") != "application/json" {
			t.Fatalf("%s %s: headers %v", r.Method, r.Path, r.Header)
		}
		if r.Path == "/v3/token" {
			auth, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Basic ")
			pair, _ := base64.StdEncoding.DecodeString(auth)
			if string(pair) != e.sb.ClientID()+":"+e.sb.ClientSecret() || r.Method != http.MethodPost ||
				r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Fatalf("token request: %s, Authorization for %q, Content-Type %q", r.Method, pair, r.Header.Get("Content-Type"))
			}
			continue
		}
		if r.Method != http.MethodGet || r.Header.Get("WM_SEC.ACCESS_TOKEN") == "" {
			t.Fatalf("%s %s without WM_SEC.ACCESS_TOKEN", r.Method, r.Path)
		}
		q, _ := url.ParseQuery(r.RawQuery)
		switch r.Path {
		case "/v3/orders":
			if n, _ := strconv.Atoi(q.Get("limit")); n < 1 || n > 200 {
				t.Fatalf("orders limit %q", q.Get("limit"))
			}
			if !regexp.MustCompile(`^(SellerFulfilled|WFSFulfilled|3PLFulfilled)$`).MatchString(q.Get("shipNodeType")) {
				t.Fatalf("orders shipNodeType %q", q.Get("shipNodeType"))
			}
			if _, err := time.Parse(time.RFC3339, q.Get("lastModifiedStartDate")); err != nil {
				t.Fatalf("lastModifiedStartDate %q is not ISO 8601", q.Get("lastModifiedStartDate"))
			}
		case "/v3/inventories":
			if n, _ := strconv.Atoi(q.Get("limit")); n < 1 || n > 50 {
				t.Fatalf("inventories limit %q", q.Get("limit"))
			}
		case "/v3/items", "/v3/settings/shipping/shipnodes":
		default:
			t.Fatalf("unexpected request %s %s", r.Method, r.Path)
		}
	}
	if len(log) < 10 {
		t.Fatalf("only %d requests", len(log))
	}
}
