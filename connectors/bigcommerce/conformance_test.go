package bigcommerce

// Conformance of the sandbox's responses and of the connector's requests with BigCommerce's published API.
//
// ../shared/specs/bigcommerce holds one official example, a GET /v2/orders response from
// bigcommerce/bigcommerce-api-ruby (MIT); its field set, value types, RFC 2822 dates and four-decimal money
// strings are checked below. BigCommerce's OpenAPI files (bigcommerce/docs reference/orders.v2.oas2.yml,
// catalog/products_catalog.v3.yml, inventory.v3.yml, locations.v3.yml, at 24f580ca6d29) carry no licence and
// are not vendored: the v3 property names and types asserted here were read from them, and the protocol facts
// (pagination metadata, page-size maxima, filters and their formats, rate-limit headers, 204 for an empty v2
// list) follow section 3 of ../shared/platforms/commerce-apis.md.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

var (
	money4Pattern = regexp.MustCompile(`^-?\d+\.\d{4}$`)
	v3DatePattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)
)

// get fetches a sandbox path with the sandbox's token and decodes the JSON body.
func (e *env) get(t *testing.T, path string) (int, http.Header, any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/stores/"+e.sb.StoreHash()+path, nil)
	req.Header.Set("X-Auth-Token", e.sb.AccessToken())
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("GET %s: HTTP %d, body is not JSON: %s", path, resp.StatusCode, body)
		}
	}
	return resp.StatusCode, resp.Header, v
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// sameShape checks that got has every field of want with the same JSON type (a null in want admits any
// type), and the value formats of dates and money strings.
func sameShape(t *testing.T, path string, want, got map[string]any) {
	t.Helper()
	for k, wv := range want {
		gv, ok := got[k]
		p := path + "." + k
		if !ok {
			t.Errorf("%s: missing (the official example has it)", p)
			continue
		}
		if wv != nil && jsonKind(wv) != jsonKind(gv) {
			t.Errorf("%s: %s, the official example has a %s", p, jsonKind(gv), jsonKind(wv))
			continue
		}
		switch w := wv.(type) {
		case map[string]any:
			sameShape(t, p, w, gv.(map[string]any))
		case string:
			g := gv.(string)
			if _, err := time.Parse(time.RFC1123Z, w); err == nil && g != "" {
				if _, err := time.Parse(time.RFC1123Z, g); err != nil {
					t.Errorf("%s = %q, not an RFC 2822 date like the example's %q", p, g, w)
				}
			}
			if money4Pattern.MatchString(w) && !money4Pattern.MatchString(g) {
				t.Errorf("%s = %q, not a four-decimal money string like the example's %q", p, g, w)
			}
		}
	}
}

func TestConformanceV2OrdersMatchTheOfficialExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(connectortest.SpecsDir(t, "bigcommerce"), "legacy-v2-orders-list.fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fixture []map[string]any
	if err := json.Unmarshal(raw, &fixture); err != nil || len(fixture) == 0 {
		t.Fatalf("fixture: %v", err)
	}
	e := newEnv(t, SandboxOptions{})
	status, _, body := e.get(t, "/v2/orders?limit=20")
	list, ok := body.([]any)
	if status != http.StatusOK || !ok || len(list) != 20 {
		t.Fatalf("GET /v2/orders: HTTP %d, %T of %d, want a bare array of 20", status, body, len(list))
	}
	for i, o := range list {
		sameShape(t, fmt.Sprintf("orders[%d]", i), fixture[0], o.(map[string]any))
	}
	// The sub-resource reference names the path the connector reads lines from.
	first := list[0].(map[string]any)
	if res := first["products"].(map[string]any)["resource"]; res != fmt.Sprintf("/orders/%v/products", first["id"]) {
		t.Errorf("products.resource = %v", res)
	}
}

func TestConformanceSandboxProtocol(t *testing.T) {
	connectortest.SpecsDir(t, "bigcommerce")
	e := newEnv(t, SandboxOptions{})
	future := escapeQuery(time.Now().Add(48 * time.Hour).UTC().Format(time.RFC1123Z))

	t.Run("v2 lists are bare arrays, at most 250, and 204 when empty", func(t *testing.T) {
		_, _, body := e.get(t, "/v2/orders?limit=1000")
		if n := len(body.([]any)); n != 250 {
			t.Errorf("limit=1000 returned %d orders, want the 250 maximum", n)
		}
		if _, _, body := e.get(t, "/v2/orders"); len(body.([]any)) != 50 {
			t.Errorf("the default page holds %d orders, want 50", len(body.([]any)))
		}
		if status, _, body := e.get(t, "/v2/orders?min_date_modified="+future); status != http.StatusNoContent || body != nil {
			t.Errorf("empty list: HTTP %d %v, want 204 No Content", status, body)
		}
	})

	t.Run("v2 filters by date_modified in RFC 2822 or ISO 8601 and ignores other formats", func(t *testing.T) {
		orders := e.sb.Catalog().Orders
		since := orders[0].UpdatedAt
		want := 0
		for _, o := range orders {
			if !o.UpdatedAt.Before(since) {
				want++
			}
		}
		for _, f := range []string{since.Format(time.RFC1123Z), since.Format("2006-01-02T15:04:05.000-07:00")} {
			_, _, body := e.get(t, "/v2/orders/count?min_date_modified="+escapeQuery(f))
			if n := body.(map[string]any)["count"].(float64); int(n) != want {
				t.Errorf("min_date_modified=%s counts %v, want %d", f, n, want)
			}
		}
		_, _, body := e.get(t, "/v2/orders/count?min_date_modified=2024-13-45")
		if n := body.(map[string]any)["count"].(float64); int(n) != len(orders) {
			t.Errorf("an unreadable min_date_modified counts %v; BigCommerce ignores it and counts all %d", n, len(orders))
		}
	})

	t.Run("v2 sort=date_modified:asc orders by modification", func(t *testing.T) {
		_, _, body := e.get(t, "/v2/orders?sort=date_modified:asc&limit=250")
		var prev time.Time
		for _, o := range body.([]any) {
			d, err := time.Parse(time.RFC1123Z, o.(map[string]any)["date_modified"].(string))
			if err != nil || d.Before(prev) {
				t.Fatalf("date_modified %v after %v: %v", d, prev, err)
			}
			prev = d
		}
	})

	t.Run("v2 order products", func(t *testing.T) {
		_, _, body := e.get(t, "/v2/orders?limit=1")
		id := body.([]any)[0].(map[string]any)["id"]
		_, _, body = e.get(t, fmt.Sprintf("/v2/orders/%v/products", id))
		for _, l := range body.([]any) {
			lm := l.(map[string]any)
			for k, kind := range map[string]string{"id": "number", "order_id": "number", "product_id": "number", "variant_id": "number",
				"name": "string", "sku": "string", "quantity": "number", "base_price": "string", "price_ex_tax": "string",
				"price_inc_tax": "string", "total_inc_tax": "string", "product_options": "array"} {
				if jsonKind(lm[k]) != kind {
					t.Errorf("order product %s is %s, want %s", k, jsonKind(lm[k]), kind)
				}
			}
			if !money4Pattern.MatchString(lm["price_ex_tax"].(string)) {
				t.Errorf("price_ex_tax %q is not a four-decimal money string", lm["price_ex_tax"])
			}
		}
	})

	t.Run("v3 lists carry meta.pagination", func(t *testing.T) {
		for _, path := range []string{"/v3/catalog/products?limit=7&page=2", "/v3/inventory/items?limit=7&page=2", "/v3/inventory/locations?limit=1&page=2"} {
			_, _, body := e.get(t, path)
			m := body.(map[string]any)
			pg := m["meta"].(map[string]any)["pagination"].(map[string]any)
			for _, k := range []string{"total", "count", "per_page", "current_page", "total_pages"} {
				if jsonKind(pg[k]) != "number" {
					t.Errorf("%s: meta.pagination.%s is %s", path, k, jsonKind(pg[k]))
				}
			}
			links := pg["links"].(map[string]any)
			if links["current"] == nil || links["previous"] == nil {
				t.Errorf("%s: links %v lack current or previous", path, links)
			}
			if int(pg["count"].(float64)) != len(m["data"].([]any)) || pg["current_page"].(float64) != 2 {
				t.Errorf("%s: pagination %v does not describe the page", path, pg)
			}
		}
	})

	t.Run("v3 products with variants", func(t *testing.T) {
		_, _, body := e.get(t, "/v3/catalog/products?include=variants&limit=250")
		for _, p := range body.(map[string]any)["data"].([]any) {
			pm := p.(map[string]any)
			for k, kind := range map[string]string{"id": "number", "name": "string", "sku": "string", "price": "number",
				"calculated_price": "number", "date_modified": "string", "date_created": "string", "variants": "array", "inventory_level": "number"} {
				if jsonKind(pm[k]) != kind {
					t.Fatalf("product %s is %s, want %s", k, jsonKind(pm[k]), kind)
				}
			}
			if !v3DatePattern.MatchString(pm["date_modified"].(string)) {
				t.Errorf("date_modified %q is not ISO 8601", pm["date_modified"])
			}
			for _, v := range pm["variants"].([]any) {
				vm := v.(map[string]any)
				for k, kind := range map[string]string{"id": "number", "product_id": "number", "sku": "string",
					"calculated_price": "number", "upc": "string", "option_values": "array", "inventory_level": "number"} {
					if jsonKind(vm[k]) != kind {
						t.Fatalf("variant %s is %s, want %s", k, jsonKind(vm[k]), kind)
					}
				}
				if pr := vm["price"]; pr != nil && jsonKind(pr) != "number" {
					t.Errorf("variant price is %s, want a number or null", jsonKind(pr))
				}
			}
		}
		_, _, body = e.get(t, "/v3/catalog/products?limit=5")
		if _, ok := body.(map[string]any)["data"].([]any)[0].(map[string]any)["variants"]; ok {
			t.Error("variants returned without include=variants")
		}
	})

	t.Run("v3 inventory items and locations", func(t *testing.T) {
		_, _, body := e.get(t, "/v3/inventory/items?limit=1000")
		for _, it := range body.(map[string]any)["data"].([]any) {
			im := it.(map[string]any)
			id := im["identity"].(map[string]any)
			for _, k := range []string{"sku", "variant_id", "product_id"} {
				if id[k] == nil {
					t.Fatalf("identity.%s missing", k)
				}
			}
			for _, l := range im["locations"].([]any) {
				lm := l.(map[string]any)
				for k, kind := range map[string]string{"location_id": "number", "location_code": "string", "location_name": "string",
					"available_to_sell": "number", "total_inventory_onhand": "number", "location_enabled": "boolean", "settings": "object"} {
					if jsonKind(lm[k]) != kind {
						t.Fatalf("inventory location %s is %s, want %s", k, jsonKind(lm[k]), kind)
					}
				}
				safety := lm["settings"].(map[string]any)["safety_stock"].(float64)
				if lm["available_to_sell"].(float64) != lm["total_inventory_onhand"].(float64)-safety {
					t.Errorf("available_to_sell is not on hand less the safety stock: %v", lm)
				}
			}
		}
		_, _, body = e.get(t, "/v3/inventory/locations")
		for _, l := range body.(map[string]any)["data"].([]any) {
			lm := l.(map[string]any)
			for k, kind := range map[string]string{"id": "number", "code": "string", "label": "string", "enabled": "boolean",
				"type_id": "string", "address": "object", "created_at": "string", "updated_at": "string"} {
				if jsonKind(lm[k]) != kind {
					t.Fatalf("location %s is %s, want %s", k, jsonKind(lm[k]), kind)
				}
			}
			if !v3DatePattern.MatchString(lm["updated_at"].(string)) || jsonKind(lm["address"].(map[string]any)["country_code"]) != "string" {
				t.Errorf("location %v: updated_at or address.country_code malformed", lm["id"])
			}
		}
	})
}

func escapeQuery(s string) string {
	return strings.NewReplacer(" ", "%20", "+", "%2B", ":", "%3A", ",", "%2C").Replace(s)
}

func TestConformanceRateLimitSignals(t *testing.T) {
	connectortest.SpecsDir(t, "bigcommerce")
	e := newEnv(t, SandboxOptions{RateLimit: RateLimit{Quota: 3, Window: time.Minute}})
	for i := 1; i <= 4; i++ {
		status, h, body := e.get(t, "/v3/inventory/locations")
		for _, k := range []string{headerRequestsLeft, headerRequestsQuota, headerTimeResetMs, headerTimeWindowMs} {
			if _, err := strconv.Atoi(h.Get(k)); err != nil {
				t.Errorf("request %d: %s = %q, want an integer", i, k, h.Get(k))
			}
		}
		if left, _ := strconv.Atoi(h.Get(headerRequestsLeft)); i <= 3 && left != 3-i {
			t.Errorf("request %d: %d left, want %d", i, left, 3-i)
		}
		if h.Get(headerRequestsQuota) != "3" || h.Get(headerTimeWindowMs) != "60000" {
			t.Errorf("quota %s window %s, want 3 and 60000", h.Get(headerRequestsQuota), h.Get(headerTimeWindowMs))
		}
		if i == 4 {
			if status != http.StatusTooManyRequests {
				t.Fatalf("request over the quota: HTTP %d, want 429", status)
			}
			if m, ok := body.(map[string]any); !ok || m["status"] != float64(429) || m["title"] == "" {
				t.Errorf("429 body %v, want v3's problem shape", body)
			}
			if reset, _ := strconv.Atoi(h.Get(headerTimeResetMs)); reset <= 0 || reset > 60000 {
				t.Errorf("429 reset in %d ms", reset)
			}
		}
	}
}

func TestConformanceClientRequests(t *testing.T) {
	connectortest.SpecsDir(t, "bigcommerce")
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.sb.AccessToken())
	smallPages(c)
	since := e.sb.Catalog().Orders[10].UpdatedAt.Add(1500 * time.Millisecond)
	for _, ent := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory} {
		mustRead(t, c, connectors.ReadRequest{Entity: ent, Since: since})
	}
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	prefix := "/stores/" + e.sb.StoreHash() + "/"
	seen := map[string]bool{}
	for _, l := range e.sb.Log() {
		route := strings.TrimPrefix(l.Path, prefix)
		if l.Method != http.MethodGet || l.Header.Get("X-Auth-Token") != e.sb.AccessToken() || l.Header.Get("Accept") != "application/json" {
			t.Errorf("%s %s: X-Auth-Token or Accept: application/json missing", l.Method, route)
		}
		q := l.Query
		limit, _ := strconv.Atoi(q.Get("limit"))
		switch {
		case route == "v2/orders":
			seen[route] = true
			if q.Get("sort") != "date_modified:asc" || limit < 1 || limit > 250 {
				t.Errorf("orders request %v: want sort=date_modified:asc and 1 <= limit <= 250", q)
			}
			if d, err := time.Parse(time.RFC1123Z, q.Get("min_date_modified")); err != nil || d.Before(since.Truncate(time.Second).Add(-time.Second)) {
				t.Errorf("min_date_modified=%q: want an RFC 2822 date no earlier than since less a second (%v)", q.Get("min_date_modified"), err)
			}
		case route == "v2/orders/count":
			seen[route] = true
			if _, err := time.Parse(time.RFC1123Z, q.Get("min_date_modified")); err != nil {
				t.Errorf("count min_date_modified=%q is not RFC 2822", q.Get("min_date_modified"))
			}
		case strings.HasPrefix(route, "v2/orders/") && strings.HasSuffix(route, "/products"):
			seen["v2/orders/{id}/products"] = true
			if limit < 1 || limit > 250 || q.Get("page") == "" {
				t.Errorf("order products request %v: want page and 1 <= limit <= 250", q)
			}
		case route == "v3/catalog/products":
			seen[route] = true
			if !strings.Contains(q.Get("include"), "variants") || q.Get("sort") != "date_modified" || q.Get("direction") != "asc" || limit > 250 {
				t.Errorf("products request %v: want include=variants, sort=date_modified, direction=asc, limit <= 250", q)
			}
			if !v3DatePattern.MatchString(q.Get("date_modified:min")) {
				t.Errorf("date_modified:min=%q is not ISO 8601 with a time", q.Get("date_modified:min"))
			}
		case route == "v3/inventory/items":
			seen[route] = true
			if limit < 1 || limit > 1000 {
				t.Errorf("inventory request limit %d, want 1..1000", limit)
			}
		case route == "v3/inventory/locations", route == "v2/store":
			seen[route] = true
		default:
			t.Errorf("unexpected request %s", route)
		}
	}
	for _, r := range []string{"v2/orders", "v2/orders/count", "v2/orders/{id}/products", "v3/catalog/products", "v3/inventory/items", "v3/inventory/locations", "v2/store"} {
		if !seen[r] {
			t.Errorf("no request to %s", r)
		}
	}
}
