package etsy

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

// The shared specs hold no Etsy files: the etsy/open-api repository has no licence, so its OpenAPI document
// was not copied (see ../shared/specs/etsy/README.md). These tests follow the public document it names,
// https://www.etsy.com/openapi/generated/oas/3.0.0.json (Open API v3 3.0.0, read 2026): the property
// names and JSON types below are transcribed from its ShopReceipt, ShopReceiptTransaction, Money,
// ShopListing, ListingInventory, ListingInventoryProduct, ListingInventoryProductOffering and
// ListingPropertyValue schemas and its getShopReceipts, findAllActiveListingsByShop and getListingInventory
// parameters. The wire facts not in the OpenAPI document (quota headers, token rotation) are checked
// against ../shared/platforms/commerce-apis.md.

// JSON types as the OpenAPI document gives them; a leading "?" means the property is nullable.
const (
	tInt    = "integer"
	tNum    = "number"
	tStr    = "string"
	tBool   = "boolean"
	tArr    = "array"
	tMoney  = "Money"
	tObject = "object"
)

var moneySchema = map[string]string{"amount": tInt, "divisor": tInt, "currency_code": tStr}

var receiptSchema = map[string]string{
	"receipt_id": tInt, "receipt_type": tInt, "seller_user_id": tInt, "seller_email": "?" + tStr,
	"buyer_user_id": tInt, "buyer_email": "?" + tStr, "name": tStr, "first_line": "?" + tStr,
	"second_line": "?" + tStr, "city": "?" + tStr, "state": "?" + tStr, "zip": "?" + tStr, "status": tStr,
	"formatted_address": "?" + tStr, "country_iso": "?" + tStr, "payment_method": tStr,
	"payment_email": "?" + tStr, "message_from_seller": "?" + tStr, "message_from_buyer": "?" + tStr,
	"message_from_payment": "?" + tStr, "is_paid": tBool, "is_shipped": tBool, "create_timestamp": tInt,
	"created_timestamp": tInt, "update_timestamp": tInt, "updated_timestamp": tInt, "is_gift": tBool,
	"gift_message": tStr, "gift_sender": tStr, "grandtotal": tMoney, "subtotal": tMoney, "total_price": tMoney,
	"total_shipping_cost": tMoney, "total_tax_cost": tMoney, "total_vat_cost": tMoney, "discount_amt": tMoney,
	"gift_wrap_price": tMoney, "shipments": tArr, "transactions": tArr, "refunds": tArr,
}

var receiptStatuses = map[string]bool{"paid": true, "completed": true, "open": true, "payment processing": true,
	"canceled": true, "fully refunded": true, "partially refunded": true}

var transactionSchema = map[string]string{
	"transaction_id": tInt, "title": "?" + tStr, "description": "?" + tStr, "seller_user_id": tInt,
	"buyer_user_id": tInt, "create_timestamp": tInt, "created_timestamp": tInt, "paid_timestamp": "?" + tInt,
	"shipped_timestamp": "?" + tInt, "quantity": tInt, "listing_image_id": "?" + tInt, "receipt_id": tInt,
	"is_digital": tBool, "file_data": tStr, "listing_id": "?" + tInt, "transaction_type": tStr,
	"product_id": "?" + tInt, "sku": "?" + tStr, "price": tMoney, "shipping_cost": tMoney, "variations": tArr,
	"product_data": tArr, "shipping_profile_id": "?" + tInt, "min_processing_days": "?" + tInt,
	"max_processing_days": "?" + tInt, "shipping_method": "?" + tStr, "shipping_upgrade": "?" + tStr,
	"expected_ship_date": "?" + tInt, "buyer_coupon": tNum, "shop_coupon": tNum,
}

var shipmentSchema = map[string]string{"receipt_shipping_id": "?" + tInt, "shipment_notification_timestamp": tInt,
	"carrier_name": tStr, "tracking_code": tStr}

var refundSchema = map[string]string{"amount": tMoney, "created_timestamp": tInt, "reason": "?" + tStr,
	"note_from_issuer": "?" + tStr, "status": "?" + tStr}

// listingSchema lists the ShopListing properties; the sandbox renders a subset (converted_price,
// readiness_state_id and suggested_title are conditional).
var listingSchema = map[string]string{
	"listing_id": tInt, "user_id": tInt, "shop_id": tInt, "title": tStr, "description": tStr, "state": tStr,
	"creation_timestamp": tInt, "created_timestamp": tInt, "ending_timestamp": tInt,
	"original_creation_timestamp": tInt, "last_modified_timestamp": tInt, "updated_timestamp": tInt,
	"state_timestamp": "?" + tInt, "quantity": tInt, "shop_section_id": "?" + tInt, "featured_rank": tInt,
	"url": tStr, "num_favorers": tInt, "non_taxable": tBool, "is_taxable": tBool, "is_customizable": tBool,
	"is_personalizable": tBool, "listing_type": tStr, "tags": tArr, "materials": tArr,
	"shipping_profile_id": "?" + tInt, "return_policy_id": "?" + tInt, "processing_min": "?" + tInt,
	"processing_max": "?" + tInt, "who_made": "?" + tStr, "when_made": "?" + tStr, "is_supply": "?" + tBool,
	"item_weight": "?" + tNum, "item_weight_unit": "?" + tStr, "item_length": "?" + tNum, "item_width": "?" + tNum,
	"item_height": "?" + tNum, "item_dimensions_unit": "?" + tStr, "is_private": tBool, "style": tArr,
	"file_data": "?" + tStr, "has_variations": tBool, "should_auto_renew": tBool, "language": "?" + tStr,
	"price": tMoney, "converted_price": tMoney, "taxonomy_id": "?" + tInt, "readiness_state_id": "?" + tInt,
	"suggested_title": "?" + tStr,
}

var inventorySchema = map[string]string{"products": tArr, "price_on_property": tArr, "quantity_on_property": tArr,
	"sku_on_property": tArr, "readiness_state_on_property": tArr, "listing": tObject}

var inventoryProductSchema = map[string]string{"product_id": tInt, "sku": tStr, "is_deleted": tBool,
	"offerings": tArr, "property_values": tArr}

var offeringSchema = map[string]string{"offering_id": tInt, "quantity": tInt, "is_enabled": tBool,
	"is_deleted": tBool, "price": tMoney, "readiness_state_id": "?" + tInt}

var propertyValueSchema = map[string]string{"property_id": tInt, "property_name": "?" + tStr, "scale_id": "?" + tInt,
	"scale_name": "?" + tStr, "value_ids": tArr, "values": tArr}

// Query parameters the OpenAPI document defines per operation, with their checks.
var (
	timestampParam = func(v string) bool { n, err := strconv.ParseInt(v, 10, 64); return err == nil && n >= minTimestamp }
	boolParamOK    = func(v string) bool { _, err := strconv.ParseBool(v); return err == nil }
	limitParam     = func(v string) bool { n, err := strconv.Atoi(v); return err == nil && n >= 1 && n <= 100 }
	offsetParam    = func(v string) bool { n, err := strconv.Atoi(v); return err == nil && n >= 0 }
	enumParam      = func(vals ...string) func(string) bool {
		return func(v string) bool {
			for _, x := range vals {
				if v == x {
					return true
				}
			}
			return false
		}
	}
	receiptParams = map[string]func(string) bool{
		"min_created": timestampParam, "max_created": timestampParam, "min_last_modified": timestampParam,
		"max_last_modified": timestampParam, "limit": limitParam, "offset": offsetParam,
		"sort_on": enumParam("created", "updated", "receipt_id"), "sort_order": enumParam("asc", "ascending", "desc", "descending", "up", "down"),
		"was_paid": boolParamOK, "was_shipped": boolParamOK, "was_delivered": boolParamOK, "was_canceled": boolParamOK, "legacy": boolParamOK,
	}
	listingParams = map[string]func(string) bool{"limit": limitParam, "offset": offsetParam,
		"sort_on": enumParam("created", "price", "updated", "score"), "sort_order": enumParam("asc", "ascending", "desc", "descending", "up", "down"),
		"keywords": func(string) bool { return true }, "legacy": boolParamOK}
	inventoryParams = map[string]func(string) bool{"show_deleted": boolParamOK, "includes": enumParam("Listing"), "legacy": boolParamOK}
)

// jsonType is the OpenAPI type of a decoded JSON value.
func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return tBool
	case string:
		return tStr
	case float64:
		if x == float64(int64(x)) {
			return tInt
		}
		return tNum
	case []any:
		return tArr
	case map[string]any:
		return tObject
	}
	return "unknown"
}

// checkObject holds an object against a schema: every property it has is in the schema with its type, and,
// when exact, it has every property of the schema.
func checkObject(t *testing.T, what string, obj map[string]any, schema map[string]string, exact bool) {
	t.Helper()
	for k, v := range obj {
		want, ok := schema[k]
		if !ok {
			t.Errorf("%s: property %q is not in the OpenAPI schema", what, k)
			continue
		}
		nullable := strings.HasPrefix(want, "?")
		want = strings.TrimPrefix(want, "?")
		got := jsonType(v)
		switch {
		case got == "null" && nullable:
		case want == tMoney:
			m, ok := v.(map[string]any)
			if !ok {
				t.Errorf("%s.%s: %v is not a Money object", what, k, v)
				continue
			}
			checkObject(t, what+"."+k, m, moneySchema, true)
		case want == tNum && got == tInt:
		case got != want:
			t.Errorf("%s.%s: %s %v, want %s", what, k, got, v, schema[k])
		}
	}
	if exact {
		for k := range schema {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s: property %q of the OpenAPI schema is missing", what, k)
			}
		}
	}
}

func objects(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// recordedTraffic runs every read path against a recording sandbox at a real quota.
func recordedTraffic(t *testing.T) []RequestLog {
	t.Helper()
	e := newEnv(t, SandboxOptions{PerSecond: 1000, PerDay: 100000, RecordRequests: true})
	c := e.connector(t, e.credentials())
	c.ListingPageSize = 10
	ctx := context.Background()
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory} {
		connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity})
	}
	connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: time.Now().Add(-7 * 24 * time.Hour)})
	e.sb.ExpireAccessTokens()
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	return e.sb.Log()
}

func TestConformanceAgainstTheOpenAPIDocument(t *testing.T) {
	readme, err := os.ReadFile(connectortest.SpecsDir(t, "etsy", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "https://www.etsy.com/openapi/generated/oas/3.0.0.json") {
		t.Fatal("specs/etsy/README.md no longer names the OpenAPI document these tests transcribe")
	}
	keyRE := regexp.MustCompile(`^[^:\s]+:[^:\s]+$`)
	bearerRE := regexp.MustCompile(`^Bearer [0-9]+\.\S+$`)
	seen := map[string]int{}
	for _, ex := range recordedTraffic(t) {
		if ex.Method == "POST" {
			seen["token"]++
			if ex.Path != tokenPath || ex.Form.Get("grant_type") != "refresh_token" || ex.Form.Get("client_id") == "" || ex.Form.Get("refresh_token") == "" {
				t.Errorf("token request %s %v", ex.Path, ex.Form)
			}
			continue
		}
		if !keyRE.MatchString(ex.Header.Get("x-api-key")) {
			t.Errorf("%s: x-api-key is not keystring:shared_secret", ex.Path)
		}
		if ex.Status == 401 {
			seen["401"]++
			continue
		}
		if !bearerRE.MatchString(ex.Header.Get("Authorization")) {
			t.Errorf("%s: Authorization is not a Bearer {user_id}.{token}", ex.Path)
		}
		if ex.Status != 200 {
			t.Errorf("%s: HTTP %d %s", ex.Path, ex.Status, ex.Body)
			continue
		}
		for _, h := range []string{headerLimitPerSecond, headerRemainingThisSecond, headerLimitPerDay, headerRemainingToday} {
			if _, err := strconv.Atoi(ex.Response.Get(h)); err != nil {
				t.Errorf("%s: header %s = %q", ex.Path, h, ex.Response.Get(h))
			}
		}
		var body map[string]any
		if err := json.Unmarshal(ex.Body, &body); err != nil {
			t.Fatalf("%s: %v", ex.Path, err)
		}
		var params map[string]func(string) bool
		switch {
		case strings.HasSuffix(ex.Path, "/receipts"):
			seen["receipts"]++
			params = receiptParams
			checkObject(t, "ShopReceipts", body, map[string]string{"count": tInt, "results": tArr}, true)
			for _, r := range objects(body["results"]) {
				checkObject(t, "ShopReceipt", r, receiptSchema, true)
				if !receiptStatuses[r["status"].(string)] {
					t.Errorf("ShopReceipt.status %q is not in the enum", r["status"])
				}
				for _, tx := range objects(r["transactions"]) {
					seen["transaction"]++
					checkObject(t, "ShopReceiptTransaction", tx, transactionSchema, true)
				}
				for _, s := range objects(r["shipments"]) {
					seen["shipment"]++
					checkObject(t, "ShopReceiptShipment", s, shipmentSchema, true)
				}
				for _, rf := range objects(r["refunds"]) {
					seen["refund"]++
					checkObject(t, "ShopRefund", rf, refundSchema, true)
				}
			}
		case strings.HasSuffix(ex.Path, "/listings/active"):
			seen["listings"]++
			params = listingParams
			for _, l := range objects(body["results"]) {
				checkObject(t, "ShopListing", l, listingSchema, false)
			}
		case strings.HasSuffix(ex.Path, "/inventory"):
			seen["inventory"]++
			params = inventoryParams
			checkObject(t, "ListingInventory", body, inventorySchema, false)
			for _, p := range objects(body["products"]) {
				checkObject(t, "ListingInventoryProduct", p, inventoryProductSchema, true)
				for _, o := range objects(p["offerings"]) {
					checkObject(t, "ListingInventoryProductOffering", o, offeringSchema, false)
				}
				for _, pv := range objects(p["property_values"]) {
					checkObject(t, "ListingPropertyValue", pv, propertyValueSchema, true)
				}
			}
		case strings.HasSuffix(ex.Path, "/shops") && strings.Contains(ex.Path, "/users/"):
			seen["userShops"]++
			for _, k := range []string{"shop_id", "shop_name", "user_id"} {
				if _, ok := body[k]; !ok {
					t.Errorf("getShopByOwnerUserId: Shop has no %s", k)
				}
			}
		default:
			seen["shop"]++
			for _, k := range []string{"shop_id", "shop_name", "is_vacation", "updated_timestamp", "shop_location_country_iso", "shipping_from_country_iso"} {
				if _, ok := body[k]; !ok {
					t.Errorf("Shop has no %s", k)
				}
			}
		}
		for name, vals := range ex.Query {
			check, ok := params[name]
			if !ok || len(vals) != 1 || !check(vals[0]) {
				t.Errorf("%s: query parameter %s=%v is not a valid parameter of the operation", ex.Path, name, vals)
			}
		}
	}
	for _, k := range []string{"token", "401", "receipts", "transaction", "shipment", "refund", "listings", "inventory", "userShops", "shop"} {
		if seen[k] == 0 {
			t.Errorf("the traffic has no %s: that shape is not covered", k)
		}
	}
}

// TestConformanceAgainstSharedPlatformFacts holds the sandbox to the Etsy section of the shared platform
// notes, for what the OpenAPI document does not say.
func TestConformanceAgainstSharedPlatformFacts(t *testing.T) {
	raw, err := os.ReadFile(connectortest.SpecsDir(t, "..", "platforms", "commerce-apis.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "## 8. Etsy")
	if start < 0 {
		t.Fatal("commerce-apis.md has no Etsy section")
	}
	section := doc[start:]
	if end := strings.Index(section, "\n---"); end > 0 {
		section = section[:end]
	}
	for _, fact := range []string{"x-api-key: {keystring}:{shared_secret}", tokenPath, "grant_type=refresh_token, client_id, refresh_token",
		"Each refresh issues a new refresh token", "Authorization: Bearer {user_id}.{token}", "min_last_modified={epoch_s}",
		"sort_on=updated", "`updated_timestamp` (epoch seconds)", "`limit` (1–100, default 25)", "`offset`", "`count`",
		strings.ToLower(headerLimitPerSecond), strings.ToLower(headerRemainingThisSecond), strings.ToLower(headerLimitPerDay),
		strings.ToLower(headerRemainingToday), "429 with `retry-after`", "`updated_timestamp` is not bumped", "no multi-location stock"} {
		if !strings.Contains(section, fact) {
			t.Errorf("the Etsy section no longer states %q, which the connector and sandbox rely on", fact)
		}
	}
	m := regexp.MustCompile(`default (\d+) QPS and ([\d,]+) per day`).FindStringSubmatch(section)
	if m == nil || m[1] != strconv.Itoa(DefaultPerSecond) || strings.ReplaceAll(m[2], ",", "") != strconv.Itoa(DefaultPerDay) {
		t.Errorf("quota in the notes %v, sandbox defaults %d/s and %d/day", m, DefaultPerSecond, DefaultPerDay)
	}

	// The facts, live: default and maximum page sizes, the quota headers and 429s with retry-after.
	e := newEnv(t, SandboxOptions{PerSecond: DefaultPerSecond, PerDay: DefaultPerDay})
	c := e.connector(t, e.credentials())
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	var page receiptPage
	path := "/shops/" + strconv.FormatInt(e.sb.ShopID(), 10) + "/receipts"
	if err := c.get(context.Background(), path, nil, &page); err != nil || len(page.Results) != 25 || page.Count != 400 {
		t.Errorf("default page: %d of %d, %v; want 25 of 400", len(page.Results), page.Count, err)
	}
	err = c.get(context.Background(), path, map[string][]string{"limit": {"101"}}, &page)
	if class, _ := connectors.Classify(err); class != connectors.ClassTerminal {
		t.Errorf("limit=101: %v, want a 400", err)
	}
	e.sb.Drain(DefaultPerSecond)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+apiPrefix+path, nil)
	req.Header.Set("x-api-key", c.apiKey)
	req.Header.Set("Authorization", "Bearer "+accessToken(t, c))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(resp)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || resp.Header.Get(headerRemainingThisSecond) != "0" ||
		!strings.Contains(body, `"error"`) {
		t.Errorf("over the per-second quota: HTTP %d, retry-after %q, remaining %q, %s", resp.StatusCode,
			resp.Header.Get("Retry-After"), resp.Header.Get(headerRemainingThisSecond), body)
	}
}
