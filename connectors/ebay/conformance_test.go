package ebay

// The shared specs folder has no eBay contracts: eBay's OpenAPI files carry the eBay API License Agreement, so
// ../shared/specs/ebay holds only a README saying so. These tests hold the sandbox and the client against the
// public reference pages instead, written down below as property tables and value formats:
//
//   - Sell Fulfillment getOrders, https://developer.ebay.com/api-docs/sell/fulfillment/resources/order/methods/getOrders
//     and its types OrderSearchPagedCollection, Order, LineItem, Amount, PricingSummary, CancelStatus, Buyer,
//     PaymentSummary, FulfillmentStartInstruction, ErrorDetailV3;
//   - Sell Inventory getInventoryItems and getInventoryLocations,
//     https://developer.ebay.com/api-docs/sell/inventory/resources/inventory_item/methods/getInventoryItems and
//     .../location/methods/getInventoryLocations, types InventoryItems, InventoryItemWithSkuLocaleGroupid,
//     LocationResponse, InventoryLocationResponse;
//   - OAuth, https://developer.ebay.com/api-docs/static/oauth-refresh-token-request.html;
//
// and against the eBay facts of ../shared/platforms/commerce-apis.md, which the tests read.

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

// kind is a JSON value kind as the OpenAPI types name them.
type kind string

const (
	kString  kind = "string"
	kInteger kind = "integer"
	kBoolean kind = "boolean"
	kArray   kind = "array"
	kObject  kind = "object"
)

// schema is a documented type: its properties and their kinds, the nested types, and what must be present.
type schema struct {
	props    map[string]kind
	nested   map[string]*schema // for objects, and for the items of arrays
	required []string
}

var (
	amountSchema = &schema{props: map[string]kind{"convertedFromCurrency": kString, "convertedFromValue": kString,
		"currency": kString, "value": kString}, required: []string{"currency", "value"}}
	addressSchema = &schema{props: map[string]kind{"addressLine1": kString, "addressLine2": kString, "city": kString,
		"countryCode": kString, "county": kString, "postalCode": kString, "stateOrProvince": kString}}
	lineItemSchema = &schema{
		props: map[string]kind{"appliedPromotions": kArray, "deliveryCost": kObject, "discountedLineItemCost": kObject,
			"ebayCollectAndRemitTaxes": kArray, "ebayCollectedCharges": kObject, "giftDetails": kObject, "itemLocation": kObject,
			"legacyItemId": kString, "legacyVariationId": kString, "lineItemCost": kObject,
			"lineItemFulfillmentInstructions": kObject, "lineItemFulfillmentStatus": kString, "lineItemId": kString,
			"linkedOrderLineItems": kArray, "listingMarketplaceId": kString, "properties": kObject,
			"purchaseMarketplaceId": kString, "quantity": kInteger, "refunds": kArray, "sku": kString, "soldFormat": kString,
			"taxes": kArray, "title": kString, "total": kObject, "variationAspects": kArray},
		nested: map[string]*schema{
			"lineItemCost": amountSchema, "total": amountSchema, "discountedLineItemCost": amountSchema,
			"deliveryCost": {props: map[string]kind{"discountAmount": kObject, "handlingCost": kObject, "importCharges": kObject,
				"shippingCost": kObject, "shippingIntermediationFee": kObject}, nested: map[string]*schema{"shippingCost": amountSchema}},
			"properties": {props: map[string]kind{"buyerProtection": kBoolean, "fromBestOffer": kBoolean, "soldViaAdCampaign": kBoolean}},
		},
		required: []string{"lineItemId", "legacyItemId", "quantity", "lineItemCost", "title", "lineItemFulfillmentStatus"},
	}
	orderSchema = &schema{
		props: map[string]kind{"buyer": kObject, "buyerCheckoutNotes": kString, "cancelStatus": kObject, "creationDate": kString,
			"ebayCollectAndRemitTax": kBoolean, "fulfillmentHrefs": kArray, "fulfillmentStartInstructions": kArray,
			"lastModifiedDate": kString, "legacyOrderId": kString, "lineItems": kArray, "orderFulfillmentStatus": kString,
			"orderId": kString, "orderPaymentStatus": kString, "paymentSummary": kObject, "pricingSummary": kObject,
			"program": kObject, "salesRecordReference": kString, "sellerId": kString, "totalFeeBasisAmount": kObject,
			"totalMarketplaceFee": kObject},
		nested: map[string]*schema{
			"lineItems": lineItemSchema,
			"buyer": {props: map[string]kind{"buyerRegistrationAddress": kObject, "taxAddress": kObject, "taxIdentifier": kObject,
				"username": kString}, nested: map[string]*schema{"taxAddress": {props: map[string]kind{"city": kString,
				"countryCode": kString, "postalCode": kString, "stateOrProvince": kString}}}},
			"pricingSummary": {props: map[string]kind{"adjustment": kObject, "deliveryCost": kObject, "deliveryDiscount": kObject,
				"fee": kObject, "priceDiscount": kObject, "priceSubtotal": kObject, "tax": kObject, "total": kObject},
				nested: map[string]*schema{"priceSubtotal": amountSchema, "deliveryCost": amountSchema, "tax": amountSchema,
					"total": amountSchema}, required: []string{"total"}},
			"cancelStatus": {props: map[string]kind{"cancelledDate": kString, "cancelRequests": kArray, "cancelState": kString},
				required: []string{"cancelState"}},
			"paymentSummary": {props: map[string]kind{"payments": kArray, "refunds": kArray, "totalDueSeller": kObject},
				nested: map[string]*schema{"totalDueSeller": amountSchema, "payments": {props: map[string]kind{"amount": kObject,
					"paymentDate": kString, "paymentHolds": kArray, "paymentMethod": kString, "paymentReferenceId": kString,
					"paymentStatus": kString}, nested: map[string]*schema{"amount": amountSchema}}}},
			"fulfillmentStartInstructions": {props: map[string]kind{"appointment": kObject, "ebaySupportedFulfillment": kBoolean,
				"finalDestinationAddress": kObject, "fulfillmentInstructionsType": kString, "maxEstimatedDeliveryDate": kString,
				"minEstimatedDeliveryDate": kString, "pickupStep": kObject, "shippingStep": kObject},
				nested: map[string]*schema{"shippingStep": {props: map[string]kind{"shippingCarrierCode": kString,
					"shippingServiceCode": kString, "shipTo": kObject, "shipToReferenceId": kString},
					nested: map[string]*schema{"shipTo": {props: map[string]kind{"companyName": kString, "contactAddress": kObject,
						"email": kString, "fullName": kString, "primaryPhone": kObject},
						nested: map[string]*schema{"contactAddress": addressSchema}}}}}},
			"totalFeeBasisAmount": amountSchema, "totalMarketplaceFee": amountSchema,
		},
		required: []string{"orderId", "creationDate", "lastModifiedDate", "orderFulfillmentStatus", "orderPaymentStatus",
			"pricingSummary", "cancelStatus", "lineItems"},
	}
	ordersPageSchema = &schema{
		props: map[string]kind{"href": kString, "limit": kInteger, "next": kString, "offset": kInteger, "orders": kArray,
			"prev": kString, "total": kInteger, "warnings": kArray},
		nested:   map[string]*schema{"orders": orderSchema},
		required: []string{"href", "limit", "offset", "orders", "total"},
	}
	inventoryItemSchema = &schema{
		props: map[string]kind{"availability": kObject, "condition": kString, "conditionDescription": kString,
			"conditionDescriptors": kArray, "groupIds": kArray, "inventoryItemGroupKeys": kArray, "locale": kString,
			"packageWeightAndSize": kObject, "product": kObject, "sku": kString},
		nested: map[string]*schema{
			"product": {props: map[string]kind{"aspects": kObject /* typed string in the contract; its example is an object */, "brand": kString,
				"description": kString, "ean": kArray, "epid": kString, "imageUrls": kArray, "isbn": kArray, "mpn": kString,
				"subtitle": kString, "title": kString, "upc": kArray, "videoIds": kArray}},
			"availability": {props: map[string]kind{"pickupAtLocationAvailability": kArray, "shipToLocationAvailability": kObject},
				nested: map[string]*schema{"shipToLocationAvailability": {props: map[string]kind{"allocationByFormat": kObject,
					"availabilityDistributions": kArray, "quantity": kInteger},
					nested: map[string]*schema{"availabilityDistributions": {props: map[string]kind{"fulfillmentTime": kObject,
						"merchantLocationKey": kString, "quantity": kInteger},
						nested: map[string]*schema{"fulfillmentTime": {props: map[string]kind{"unit": kString, "value": kInteger}}}}}}}},
		},
		required: []string{"sku", "availability"},
	}
	inventoryPageSchema = &schema{
		props: map[string]kind{"href": kString, "inventoryItems": kArray, "limit": kInteger, "next": kString, "prev": kString,
			"size": kInteger, "total": kInteger},
		nested:   map[string]*schema{"inventoryItems": inventoryItemSchema},
		required: []string{"href", "limit", "size", "total", "inventoryItems"},
	}
	locationsPageSchema = &schema{
		props: map[string]kind{"href": kString, "limit": kInteger, "next": kString, "offset": kInteger, "prev": kString,
			"total": kInteger, "locations": kArray},
		nested: map[string]*schema{"locations": {
			props: map[string]kind{"location": kObject, "locationAdditionalInformation": kString, "locationInstructions": kString,
				"locationTypes": kArray, "locationWebUrl": kString, "merchantLocationKey": kString, "merchantLocationStatus": kString,
				"name": kString, "operatingHours": kArray, "phone": kString, "specialHours": kArray, "timeZoneId": kString},
			nested: map[string]*schema{"location": {props: map[string]kind{"address": kObject, "geoCoordinates": kObject, "locationId": kString},
				nested: map[string]*schema{"address": {props: map[string]kind{"addressLine1": kString, "addressLine2": kString,
					"city": kString, "country": kString, "county": kString, "postalCode": kString, "stateOrProvince": kString}}}}},
			required: []string{"merchantLocationKey", "merchantLocationStatus", "location"},
		}},
		required: []string{"href", "limit", "offset", "total", "locations"},
	}
	errorSchema = &schema{
		props: map[string]kind{"errors": kArray, "warnings": kArray},
		nested: map[string]*schema{"errors": {props: map[string]kind{"category": kString, "domain": kString, "errorId": kInteger,
			"inputRefIds": kArray, "longMessage": kString, "message": kString, "outputRefIds": kArray, "parameters": kArray,
			"subdomain": kString}, required: []string{"errorId", "domain", "category", "message"}}},
		required: []string{"errors"},
	}
)

func kindOf(v any) kind {
	switch x := v.(type) {
	case string:
		return kString
	case bool:
		return kBoolean
	case []any:
		return kArray
	case map[string]any:
		return kObject
	case float64:
		if x == float64(int64(x)) {
			return kInteger
		}
	}
	return "other"
}

// validate checks a decoded value against a documented type: no undocumented property, every property of its
// documented kind, the required ones present. It returns the problems with their JSON paths.
func (s *schema) validate(path string, v any) []string {
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{path + ": not an object"}
	}
	var probs []string
	for _, r := range s.required {
		if _, ok := obj[r]; !ok {
			probs = append(probs, path+"."+r+": required, missing")
		}
	}
	for k, val := range obj {
		want, ok := s.props[k]
		if !ok {
			probs = append(probs, path+"."+k+": not a documented property")
			continue
		}
		if got := kindOf(val); got != want {
			probs = append(probs, path+"."+k+": "+string(got)+", documented as "+string(want))
			continue
		}
		n := s.nested[k]
		if n == nil {
			continue
		}
		if arr, ok := val.([]any); ok {
			for _, item := range arr {
				probs = append(probs, n.validate(path+"."+k+"[]", item)...)
			}
		} else {
			probs = append(probs, n.validate(path+"."+k, val)...)
		}
	}
	return probs
}

// Value formats of the documented fields.
var (
	timestampRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
	moneyRe     = regexp.MustCompile(`^-?\d+\.\d{2}$`)
	currencyRe  = regexp.MustCompile(`^[A-Z]{3}$`)
	orderIDRe   = regexp.MustCompile(`^\d{2}-\d{5}-\d{5}$`)
	digitsRe    = regexp.MustCompile(`^\d+$`)
	enums       = map[string][]string{
		"orderFulfillmentStatus":    {"FULFILLED", "IN_PROGRESS", "NOT_STARTED"},
		"orderPaymentStatus":        {"FAILED", "FULLY_REFUNDED", "PAID", "PARTIALLY_REFUNDED", "PENDING"},
		"cancelState":               {"CANCELED", "IN_PROGRESS", "NONE_REQUESTED"},
		"lineItemFulfillmentStatus": {"FULFILLED", "IN_PROGRESS", "NOT_STARTED"},
		"soldFormat":                {"AUCTION", "FIXED_PRICE", "OTHER", "SECOND_CHANCE_OFFER"},
		"merchantLocationStatus":    {"DISABLED", "ENABLED"},
		"unit":                      {"BUSINESS_DAY", "DAY", "HOUR", "MINUTE", "MONTH", "SECOND", "WEEK", "YEAR"},
	}
)

// checkFormats walks a value and checks the formats of the fields it knows by name.
func checkFormats(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		_, isAmount := x["currency"]
		for k, val := range x {
			p := path + "." + k
			s, _ := val.(string)
			switch {
			case k == "creationDate" || k == "lastModifiedDate" || k == "cancelledDate" || k == "paymentDate":
				if !timestampRe.MatchString(s) {
					t.Errorf("%s = %q, want UTC with milliseconds and Z", p, s)
				}
			case isAmount && k == "value":
				if !moneyRe.MatchString(s) {
					t.Errorf("%s = %q, want a decimal string", p, s)
				}
			case isAmount && k == "currency":
				if !currencyRe.MatchString(s) {
					t.Errorf("%s = %q, want an ISO 4217 code", p, s)
				}
			case k == "orderId":
				if !orderIDRe.MatchString(s) {
					t.Errorf("%s = %q, want an order ID like 12-34567-89012", p, s)
				}
			case k == "lineItemId" || k == "legacyItemId" || k == "legacyVariationId":
				if !digitsRe.MatchString(s) {
					t.Errorf("%s = %q, want digits", p, s)
				}
			case enums[k] != nil:
				if !slices.Contains(enums[k], s) {
					t.Errorf("%s = %q, want one of %v", p, s, enums[k])
				}
			}
			checkFormats(t, p, val)
		}
	case []any:
		for _, item := range x {
			checkFormats(t, path+"[]", item)
		}
	}
}

// getJSON fetches path from the sandbox with a valid token and decodes the body.
func getJSON(t *testing.T, e *env, c *Connector, path string) (int, map[string]any) {
	t.Helper()
	tok, err := c.tokens.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode, body
}

func TestConformanceSandboxResponsesMatchTheReference(t *testing.T) {
	connectortest.SpecsDir(t, "..", "specs/ebay/README.md")
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, nil)
	since := ordersFilter(time.Now().AddDate(-1, 0, 0))
	cases := []struct {
		name   string
		path   string
		schema *schema
		status int
	}{
		{"getOrders first page", ordersPath + "?filter=" + since + "&limit=200", ordersPageSchema, 200},
		{"getOrders middle page", ordersPath + "?filter=" + since + "&limit=50&offset=50", ordersPageSchema, 200},
		{"getOrders default window", ordersPath, ordersPageSchema, 200},
		{"getInventoryItems", inventoryItemsPath + "?limit=100&offset=1", inventoryPageSchema, 200},
		{"getInventoryLocations", locationsPath + "?limit=2&offset=1", locationsPageSchema, 200},
		{"getOrders limit over 200", ordersPath + "?limit=500", errorSchema, 400},
		{"getOrders bad date", ordersPath + "?filter=lastmodifieddate:%5B2025-01-01..%5D", errorSchema, 400},
		{"getInventoryItems limit over 200", inventoryItemsPath + "?limit=201", errorSchema, 400},
		{"unknown resource", "/sell/fulfillment/v1/nothing", errorSchema, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := getJSON(t, e, c, tc.path)
			if status != tc.status {
				t.Fatalf("HTTP %d, want %d: %v", status, tc.status, body)
			}
			for _, p := range tc.schema.validate("$", body) {
				t.Error(p)
			}
			checkFormats(t, "$", body)
		})
	}
	// Orders as a whole: every status and the cancelled and multi-variation shapes appear and conform.
	_, body := getJSON(t, e, c, ordersPath+"?filter="+since+"&limit=200")
	seen := map[string]bool{}
	for _, o := range body["orders"].([]any) {
		om := o.(map[string]any)
		seen[om["orderFulfillmentStatus"].(string)] = true
		seen[om["cancelStatus"].(map[string]any)["cancelState"].(string)] = true
		if reqs := om["cancelStatus"].(map[string]any)["cancelRequests"].([]any); len(reqs) != 0 {
			t.Errorf("order %s: getOrders returned cancelRequests; eBay always returns it empty", om["orderId"])
		}
	}
	for _, want := range []string{"FULFILLED", "IN_PROGRESS", "NOT_STARTED", "CANCELED", "NONE_REQUESTED"} {
		if !seen[want] {
			t.Errorf("no order with %s in a page of 200", want)
		}
	}
}

func TestConformanceErrorShapes(t *testing.T) {
	connectortest.SpecsDir(t, "..", "specs/ebay/README.md")
	cases := []struct {
		name                  string
		rl                    RateLimit
		header                string
		status, errorID       int
		domain, category, msg string
	}{
		{"invalid access token", RateLimit{}, "Bearer nope", 401, 1001, "OAuth", "REQUEST", "Invalid access token"},
		{"throttled", RateLimit{PerSecond: 0.001, Burst: 1}, "", 429, 2001, "ACCESS", "REQUEST", "Too many requests"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, SandboxOptions{RateLimit: tc.rl})
			if tc.rl.PerSecond > 0 {
				// The first request takes the only token of the bucket.
				if err := e.connector(t, nil).Check(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+ordersPath, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.status {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tc.status)
			}
			for _, p := range errorSchema.validate("$", body) {
				t.Error(p)
			}
			e0 := body["errors"].([]any)[0].(map[string]any)
			if e0["errorId"] != float64(tc.errorID) || e0["domain"] != tc.domain || e0["category"] != tc.category || e0["message"] != tc.msg {
				t.Errorf("error = %v", e0)
			}
		})
	}
}

// ebaySection is the eBay section of the shared commerce-apis.md.
func ebaySection(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(connectortest.SpecsDir(t, "..", "platforms/commerce-apis.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## 6. eBay")
	if start < 0 {
		t.Fatal("commerce-apis.md has no eBay section")
	}
	end := strings.Index(doc[start+1:], "\n## ")
	if end < 0 {
		return doc[start:]
	}
	return doc[start : start+1+end]
}

func TestConformanceClientRequestsMatchCommerceAPIs(t *testing.T) {
	section := ebaySection(t)
	// The documented getOrders request: path, parameters and the filter's shape.
	m := regexp.MustCompile("`GET (/sell/fulfillment/v1/order)\\?([^`]+)`").FindStringSubmatch(section)
	if m == nil {
		t.Fatal("no getOrders example in commerce-apis.md")
	}
	docPath, docQuery := m[1], m[2]
	docFilter := regexp.MustCompile(`filter=([^&]+)`).FindStringSubmatch(docQuery)[1]
	filterShape := regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`)
	shape := func(f string) string { return filterShape.ReplaceAllString(f, "TS") }

	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, nil)
	mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: time.Now().AddDate(-1, 0, 0)})
	var orderReqs int
	for _, r := range e.sb.RequestLog() {
		if r.Path != docPath {
			continue
		}
		orderReqs++
		f := regexp.MustCompile(`filter=([^&]+)`).FindStringSubmatch(r.RawQuery)
		if f == nil || shape(f[1]) != shape(docFilter) {
			t.Errorf("filter %v, want the shape of %s", f, docFilter)
		}
		for _, p := range []string{"limit", "offset"} {
			if !strings.Contains(docQuery, p+"=") || r.Query.Get(p) == "" {
				t.Errorf("request %s lacks %s (documented: %s)", r.RawQuery, p, docQuery)
			}
		}
		if r.Query.Get("limit") != "200" || r.Auth != "Bearer" || r.Header.Get("Accept") != "application/json" {
			t.Errorf("request %s, auth %s, accept %q", r.RawQuery, r.Auth, r.Header.Get("Accept"))
		}
	}
	if orderReqs == 0 {
		t.Fatal("no getOrders requests")
	}
	if !strings.Contains(section, "`limit` is 1–200") {
		t.Error("commerce-apis.md no longer says limit is 1-200; recheck MaxOrdersPerPage")
	}
	if !strings.Contains(section, "hard limit is 2 years") || MaxHistory != 2*365*24*time.Hour {
		t.Error("the two-year limit and MaxHistory disagree")
	}
	// Inventory and locations live where the section says.
	for _, p := range []string{inventoryItemsPath, locationsPath} {
		if !strings.Contains(section, p) {
			t.Errorf("commerce-apis.md does not name %s", p)
		}
	}
}

func TestConformanceResponsesCarryTheDocumentedFields(t *testing.T) {
	section := ebaySection(t)
	fieldList := func(re string) []string {
		m := regexp.MustCompile(re).FindStringSubmatch(section)
		if m == nil {
			t.Fatalf("commerce-apis.md has no match for %s", re)
		}
		return strings.Split(strings.TrimSuffix(m[1], "[]"), ",")
	}
	page := fieldList("returns `\\{([a-z,\\[\\]]+)\\}`")
	lines := fieldList("`lineItems\\[\\]\\{([A-Za-z,]+)\\}`")

	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, nil)
	_, body := getJSON(t, e, c, ordersPath+"?filter="+ordersFilter(time.Now().AddDate(-1, 0, 0))+"&limit=20&offset=20")
	for _, f := range page {
		f = strings.TrimSuffix(f, "[]")
		if _, ok := body[f]; !ok {
			t.Errorf("a middle page of getOrders has no %s", f)
		}
	}
	for _, o := range body["orders"].([]any) {
		for _, l := range o.(map[string]any)["lineItems"].([]any) {
			for _, f := range lines {
				if _, ok := l.(map[string]any)[f]; !ok {
					t.Errorf("line item without %s: %v", f, l)
				}
			}
		}
	}
	// The token endpoint: user access tokens last expires_in 7200 seconds.
	if !strings.Contains(section, "`expires_in` 7200") {
		t.Error("commerce-apis.md no longer says access tokens last 7200 s")
	}
	tok, err := c.tokens.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ttl := time.Until(tok.Expiry)
	if ttl < 7190*time.Second || ttl > 7200*time.Second {
		t.Errorf("access token lifetime %v, want 7200 s", ttl)
	}
}

func TestSchemaTablesCatchDrift(t *testing.T) {
	drifted := map[string]any{"href": "x", "limit": 1.0, "offset": 0.0, "total": 1.0, "orders": []any{
		map[string]any{"orderId": 5.0, "creationDate": "x", "lastModifiedDate": "x", "orderFulfillmentStatus": "x",
			"orderPaymentStatus": "x", "pricingSummary": map[string]any{"total": map[string]any{"value": 1.5}},
			"cancelStatus": map[string]any{"cancelState": "NONE_REQUESTED"}, "lineItems": []any{}, "orderTotal": "1"}}}
	probs := strings.Join(ordersPageSchema.validate("$", drifted), "\n")
	for _, want := range []string{"$.orders[].orderId: integer, documented as string", "$.orders[].orderTotal: not a documented property",
		"$.orders[].pricingSummary.total.value: other, documented as string", "$.orders[].pricingSummary.total.currency: required, missing"} {
		if !strings.Contains(probs, want) {
			t.Errorf("validator missed %q; found:\n%s", want, probs)
		}
	}
}
