package woocommerce

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
	"github.com/tether/integration-operator/internal/mapping"
	"github.com/tether/integration-operator/internal/tether"
)

// newClock is a settable sandbox clock at the current time.
func newClock() *connectortest.Clock { return connectortest.NewClock(time.Now()) }

func TestRegistered(t *testing.T) {
	p := connectortest.Registered(t, v1alpha1.PlatformWooCommerce, v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory)
	if strings.Join(p.CredentialKeys, ",") != "consumerKey,consumerSecret" {
		t.Errorf("CredentialKeys = %v", p.CredentialKeys)
	}
	if _, err := mapping.Compile(p.DefaultMapping, nil); err != nil {
		t.Errorf("DefaultMapping does not compile: %v", err)
	}
	if p.MaxHistory != 0 {
		t.Errorf("MaxHistory = %v; WooCommerce keeps the whole history", p.MaxHistory)
	}
	if p.OAuth != nil {
		t.Error("WooCommerce connects with REST API keys only, but registers an OAuth flow")
	}
}

func TestNewValidatesCredentialsAndConnection(t *testing.T) {
	good := map[string][]byte{CredentialConsumerKey: []byte("ck_1"), CredentialConsumerSecret: []byte("cs_1")}
	cases := []struct {
		name       string
		conn       v1alpha1.Connection
		creds      map[string][]byte
		wantClass  connectors.Class
		wantReason string
		wantIn     string
	}{
		{"no consumer key", v1alpha1.Connection{StoreURL: "https://s.example"}, map[string][]byte{CredentialConsumerSecret: []byte("cs_1")},
			connectors.ClassAuth, "CredentialsNotFound", "consumerKey"},
		{"empty consumer secret", v1alpha1.Connection{StoreURL: "https://s.example"}, map[string][]byte{CredentialConsumerKey: []byte("ck_1"), CredentialConsumerSecret: []byte(" \n")},
			connectors.ClassAuth, "CredentialsNotFound", "consumerSecret"},
		{"no store URL", v1alpha1.Connection{}, good, connectors.ClassTerminal, "InvalidConfiguration", "storeURL"},
		{"not http", v1alpha1.Connection{StoreURL: "ftp://s.example"}, good, connectors.ClassTerminal, "InvalidConfiguration", "http"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(connectors.Config{Connection: tc.conn, Credentials: tc.creds, HTTPClient: http.DefaultClient, Log: logr.Discard()})
			class, reason := connectors.Classify(err)
			if err == nil || class != tc.wantClass || reason != tc.wantReason || !strings.Contains(err.Error(), tc.wantIn) {
				t.Fatalf("err = %v (%v/%s), want %v/%s naming %q", err, class, reason, tc.wantClass, tc.wantReason, tc.wantIn)
			}
		})
	}
}

func TestAPIRootAndAuthScheme(t *testing.T) {
	creds := map[string][]byte{CredentialConsumerKey: []byte("ck_1\n"), CredentialConsumerSecret: []byte("cs_1")}
	cases := []struct {
		conn      v1alpha1.Connection
		wantRoot  string
		wantOAuth bool
	}{
		{v1alpha1.Connection{StoreURL: "https://shop.example.com/"}, "https://shop.example.com/wp-json/wc/v3", false},
		{v1alpha1.Connection{StoreURL: "https://example.com/shop"}, "https://example.com/shop/wp-json/wc/v3", false},
		{v1alpha1.Connection{StoreURL: "http://shop.example.com"}, "http://shop.example.com/wp-json/wc/v3", true},
		{v1alpha1.Connection{StoreURL: "https://shop.example.com", Endpoint: "http://127.0.0.1:8080"}, "http://127.0.0.1:8080/wp-json/wc/v3", true},
		{v1alpha1.Connection{StoreURL: "https://shop.example.com", Endpoint: "https://proxy.example/wp-json/wc/v3/"}, "https://proxy.example/wp-json/wc/v3", false},
	}
	for _, tc := range cases {
		c, err := New(connectors.Config{Connection: tc.conn, Credentials: creds, HTTPClient: http.DefaultClient})
		if err != nil {
			t.Fatal(err)
		}
		if c.api.String() != tc.wantRoot || c.oauth != tc.wantOAuth || c.key != "ck_1" {
			t.Errorf("%+v: root %s oauth %v key %q; want %s %v", tc.conn, c.api, c.oauth, c.key, tc.wantRoot, tc.wantOAuth)
		}
	}
}

func TestAuthRejectedIsClassAuthWithoutTheSecret(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	tlsEnv := newTLSEnv(t)
	const wrong = "cs_wrong_secret_value_0123456789abcdef"
	cases := []struct {
		name string
		c    *Connector
		want string
	}{
		{"oauth wrong secret", e.connectorWith(t, e.sb.ConsumerKey(), wrong), "Invalid signature - provided signature does not match."},
		{"oauth unknown key", e.connectorWith(t, "ck_unknown", wrong), "Consumer key is invalid."},
		{"basic wrong secret", tlsEnv.connectorWith(t, tlsEnv.sb.ConsumerKey(), wrong), "Consumer secret is invalid."},
		{"basic unknown key", tlsEnv.connectorWith(t, "ck_unknown", wrong), "Consumer key is invalid."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for op, err := range map[string]error{
				"check": tc.c.Check(context.Background()),
				"read": func() error {
					_, err := read(t, tc.c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0)
					return err
				}(),
			} {
				class, reason := connectors.Classify(err)
				if class != connectors.ClassAuth || reason != "Unauthorized" {
					t.Errorf("%s: err = %v (%v/%s), want Auth/Unauthorized", op, err, class, reason)
					continue
				}
				if !strings.Contains(err.Error(), "woocommerce_rest_authentication_error") || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: err = %v, want WooCommerce's %q", op, err, tc.want)
				}
				if strings.Contains(err.Error(), wrong) {
					t.Errorf("%s: error exposes the secret: %v", op, err)
				}
			}
			if s := tc.c.Stats(); s.Retries != 0 {
				t.Errorf("an auth failure was retried %d times", s.Retries)
			}
		})
	}
	for name, c := range map[string]*Connector{"oauth": e.connector(t), "basic over https": tlsEnv.connector(t)} {
		if err := c.Check(context.Background()); err != nil {
			t.Errorf("%s: Check with the right key: %v", name, err)
		}
	}
}

// WooCommerce takes Basic auth only over HTTPS; over HTTP the header is ignored and the request is anonymous.
func TestBasicAuthOverPlainHTTPIsAnonymous(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	h := http.Header{}
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(e.sb.ConsumerKey(), e.sb.ConsumerSecret())
	h.Set("Authorization", req.Header.Get("Authorization"))
	resp, body := e.rawGet(t, e.srv.URL+APIPath+"/orders", h)
	want := `{"code":"woocommerce_rest_cannot_view","data":{"status":401},"message":"Sorry, you cannot list resources."}`
	if resp.StatusCode != 401 || string(body) != want {
		t.Fatalf("HTTP %d %s, want 401 %s", resp.StatusCode, body, want)
	}
}

func TestOAuthSignatureTimestampAndNonceEnforced(t *testing.T) {
	clk := newClock()
	e := newEnv(t, SandboxOptions{Now: clk.Now})
	q := url.Values{"per_page": {"1"}}
	if resp, body := e.signedGet(t, "/orders", q, clk.Now()); resp.StatusCode != 200 {
		t.Fatalf("a correctly signed request: HTTP %d %s", resp.StatusCode, body)
	}
	u, _ := url.Parse(e.srv.URL + APIPath + "/orders?per_page=1")
	signURL(http.MethodGet, u, e.sb.ConsumerKey(), e.sb.ConsumerSecret(), clk.Now())
	e.rawGet(t, u.String(), nil)
	tampered := *u
	tq := tampered.Query()
	tq.Set("per_page", "2")
	tampered.RawQuery = tq.Encode()
	cases := []struct {
		name, url, want string
	}{
		{"replayed nonce", u.String(), "Invalid nonce - nonce has already been used."},
		{"tampered parameter", tampered.String(), "Invalid signature - provided signature does not match."},
		{"timestamp 16 minutes old", func() string {
			v, _ := url.Parse(e.srv.URL + APIPath + "/orders")
			signURL(http.MethodGet, v, e.sb.ConsumerKey(), e.sb.ConsumerSecret(), clk.Now().Add(-16*time.Minute))
			return v.String()
		}(), "Invalid timestamp."},
		{"missing parameters", e.srv.URL + APIPath + "/orders?oauth_consumer_key=" + e.sb.ConsumerKey(), "Missing OAuth parameter oauth_timestamp, oauth_nonce, oauth_signature, oauth_signature_method"},
	}
	for _, tc := range cases {
		resp, body := e.rawGet(t, tc.url, nil)
		var got wcError
		_ = json.Unmarshal(body, &got)
		if resp.StatusCode != 401 || got.Message != tc.want || got.Data.Status != 401 {
			t.Errorf("%s: HTTP %d %s, want 401 %q", tc.name, resp.StatusCode, body, tc.want)
		}
	}
	// The connector's clock is 14 minutes off: still inside WooCommerce's window.
	c := e.connector(t)
	c.now = func() time.Time { return clk.Now().Add(14 * time.Minute) }
	if err := c.Check(context.Background()); err != nil {
		t.Errorf("a 14-minute skew: %v", err)
	}
	c.now = func() time.Time { return clk.Now().Add(-20 * time.Minute) }
	c.client.MaxRetries = 1
	err := c.Check(context.Background())
	if _, reason := connectors.Classify(err); reason != "ClockSkew" {
		t.Errorf("a 20-minute skew: %v, want a ClockSkew error", err)
	}
}

func TestOrdersEveryRecordOnceAndEqualToTheStore(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t)
	c.PageSize = 23
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	orders := e.sb.Orders()
	if len(res.records) != len(orders) || len(res.byID) != len(orders) {
		t.Fatalf("read %d records, %d distinct; the store has %d orders", len(res.records), len(res.byID), len(orders))
	}
	if len(res.pages) < len(orders)/23 {
		t.Errorf("only %d pages", len(res.pages))
	}
	for i := 1; i < len(res.records); i++ {
		if res.records[i].UpdatedAt.Before(res.records[i-1].UpdatedAt) {
			t.Fatalf("record %d is older than the one before it: not sorted by modification time", i)
		}
	}
	for _, o := range orders {
		r, ok := res.byID[strconv.FormatInt(o.ID, 10)]
		if !ok {
			t.Fatalf("order %d not read", o.ID)
		}
		if !r.UpdatedAt.Equal(o.UpdatedAt) || r.Data["total"] != o.Total {
			t.Errorf("order %d: UpdatedAt %v total %v, want %v %s", o.ID, r.UpdatedAt, r.Data["total"], o.UpdatedAt, o.Total)
		}
		lines := r.Data["line_items"].([]any)
		if len(lines) != len(o.Lines) {
			t.Fatalf("order %d has %d lines, want %d", o.ID, len(lines), len(o.Lines))
		}
		for i, l := range o.Lines {
			lm := lines[i].(map[string]any)
			if lm["id"] != float64(l.ID) || lm["sku"] != l.SKU || lm["quantity"] != float64(l.Quantity) || lm["product_id"] != float64(l.ProductID) {
				t.Errorf("order %d line %d = %v, want %+v", o.ID, i, lm, l)
			}
		}
	}
}

// applyMapping maps records with DefaultMapping, as the engine does.
func applyMapping(t *testing.T, entity v1alpha1.DataType, recs []connectors.Record) tether.Batch {
	t.Helper()
	m, err := mapping.Compile(DefaultMapping(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b tether.Batch
	if err := m.Apply(entity, recs, &b); err != nil {
		t.Fatalf("mapping %s: %v", entity, err)
	}
	return b
}

func TestProductsOneRecordPerSKUAndMapped(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t)
	c.PageSize = 7
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts})
	skus := e.sb.SKUs()
	if len(res.records) != len(skus) || len(res.byID) != len(skus) {
		t.Fatalf("read %d records (%d distinct), the store has %d SKUs", len(res.records), len(res.byID), len(skus))
	}
	b := applyMapping(t, v1alpha1.DataProducts, res.records)
	mapped := map[string]tether.SKU{}
	for _, s := range b.SKUs {
		mapped[s.ExternalID] = s
	}
	variations := 0
	for _, k := range skus {
		id := strconv.FormatInt(k.ID, 10)
		r, ok := res.byID[id]
		if !ok {
			t.Fatalf("SKU %d not read", k.ID)
		}
		if !r.UpdatedAt.Equal(k.UpdatedAt) {
			t.Errorf("SKU %d UpdatedAt = %v, want %v", k.ID, r.UpdatedAt, k.UpdatedAt)
		}
		got := mapped[id]
		want := tether.SKU{Code: k.SKU, Name: k.Name, ProductID: strconv.FormatInt(k.ProductID, 10), Barcode: k.Barcode, Price: k.Price}
		if got.Code != want.Code || got.Name != want.Name || got.ProductID != want.ProductID || got.Barcode != want.Barcode || got.Price != want.Price {
			t.Errorf("SKU %d mapped to %+v, want %+v", k.ID, got, want)
		}
		if k.Variation {
			variations++
		}
	}
	if variations == 0 || variations == len(skus) {
		t.Fatalf("%d of %d SKUs are variations: the store should have both kinds", variations, len(skus))
	}
}

func TestOrdersMappedWithLinesPointingAtSKUs(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t)
	orders := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	b := applyMapping(t, v1alpha1.DataOrders, orders.records)
	skuIDs := map[string]string{}
	for _, k := range e.sb.SKUs() {
		skuIDs[strconv.FormatInt(k.ID, 10)] = k.SKU
	}
	if len(b.SalesOrders) != len(orders.records) {
		t.Fatalf("%d sales orders from %d records", len(b.SalesOrders), len(orders.records))
	}
	for _, so := range b.SalesOrders {
		r := orders.byID[so.ExternalID]
		created, _ := time.Parse(gmtLayout, r.Data["date_created_gmt"].(string))
		if so.OrderID != so.ExternalID || so.Total != r.Data["total"] || so.Currency != "USD" || !so.OrderedAt.Equal(created) || so.Status == "" {
			t.Errorf("order %s mapped to %+v", so.ExternalID, so)
		}
		for _, l := range so.Lines {
			if code, ok := skuIDs[l.SKUExternalID]; !ok || code != l.SKUCode || l.Quantity <= 0 || l.Price == "" {
				t.Errorf("order %s line %s: SKU %q (code %q), want a SKU read from Products with that code", so.ExternalID, l.ExternalID, l.SKUExternalID, l.SKUCode)
			}
		}
	}
}

func TestInventoryOneLevelPerManagedSKUReadInFull(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t)
	c.PageSize = 9
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory, Since: time.Now()})
	skus := e.sb.SKUs()
	managed, parent := 0, 0
	for _, k := range skus {
		r, ok := res.byID[LevelID(k.ID)]
		if ok != k.Managed {
			t.Fatalf("SKU %d: level read %v, stock managed %v", k.ID, ok, k.Managed)
		}
		if !ok {
			continue
		}
		managed++
		if r.Data["stock_quantity"] != float64(k.Stock) {
			t.Errorf("SKU %d stock %v, want %d", k.ID, r.Data["stock_quantity"], k.Stock)
		}
		if r.Data["stock_managed_by"] == "parent" {
			parent++
		}
	}
	if len(res.records) != managed || managed == 0 || managed == len(skus) || parent == 0 {
		t.Fatalf("%d levels for %d managed SKUs of %d (%d parent-managed): the store should have every stock mode", len(res.records), managed, len(skus), parent)
	}
	// Orders reduce stock without moving date_modified: a full read still sees it.
	var target SandboxSKU
	for _, k := range skus {
		if k.Managed {
			target = k
			break
		}
	}
	e.sb.SetStock(target.ID, 3)
	again := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory, Since: maxUpdated(res)})
	b := applyMapping(t, v1alpha1.DataInventory, again.records)
	for _, l := range b.InventoryLevels {
		if l.SKUExternalID == strconv.FormatInt(target.ID, 10) {
			if l.Available != 3 || l.OnHand != 3 || l.WarehouseExternalID != DefaultLocationID || l.SKUCode != target.SKU {
				t.Errorf("level after the stock change = %+v", l)
			}
			return
		}
	}
	t.Fatalf("no level for SKU %d after its stock changed", target.ID)
}

func TestLocationsOneDefaultWarehouseFromStoreSettings(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	res := mustRead(t, e.connector(t), connectors.ReadRequest{Entity: v1alpha1.DataLocations})
	if len(res.records) != 1 || res.records[0].ID != DefaultLocationID {
		t.Fatalf("records = %+v, want the one default location", res.records)
	}
	b := applyMapping(t, v1alpha1.DataLocations, res.records)
	w := b.Warehouses[0]
	if w.ExternalID != "default" || w.Code != "default" || w.Country != "US" || !w.Active || w.Name == "" {
		t.Errorf("warehouse = %+v", w)
	}
	if city := res.records[0].Data["city"]; city == "" {
		t.Error("no store address from /settings/general")
	}
}

func TestIncrementalReadReturnsOnlyChangedRecords(t *testing.T) {
	clk := newClock()
	e := newEnv(t, SandboxOptions{Now: clk.Now})
	c := e.connector(t)
	all := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	products := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts})
	clk.Advance(time.Minute)
	e.sb.TouchOrders(5)
	var variation SandboxSKU
	for _, k := range e.sb.SKUs() {
		if k.Variation {
			variation = k
			break
		}
	}
	e.sb.TouchVariation(variation.ID)

	changed := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: maxUpdated(all)})
	if len(changed.records) != 5 {
		t.Fatalf("incremental read returned %d orders, want the 5 touched", len(changed.records))
	}
	for _, o := range e.sb.Orders()[:5] {
		if r, ok := changed.byID[strconv.FormatInt(o.ID, 10)]; !ok || !r.UpdatedAt.Equal(clk.Now().UTC().Truncate(time.Second)) {
			t.Errorf("touched order %d: read %v", o.ID, ok)
		}
	}
	pchanged := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts, Since: maxUpdated(products)})
	r, ok := pchanged.byID[strconv.FormatInt(variation.ID, 10)]
	if !ok {
		t.Fatalf("the changed variation %d was not read incrementally (%d records)", variation.ID, len(pchanged.records))
	}
	if len(pchanged.records) > 4 {
		t.Errorf("incremental products read returned %d SKUs; only one product changed", len(pchanged.records))
	}
	if r.Data["price"] == variation.Price {
		t.Errorf("variation price still %v after the change", r.Data["price"])
	}
}

// Without dates_are_gmt=true, WooCommerce reads modified_after in the site's timezone (here UTC-5).
func TestModifiedAfterIsSiteLocalUnlessDatesAreGMT(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	orders := e.sb.Orders()
	sort.Slice(orders, func(i, j int) bool { return orders[i].UpdatedAt.Before(orders[j].UpdatedAt) })
	// Two hours before an order's change: the GMT filter keeps it, the same digits read as UTC-5 do not.
	mid := orders[len(orders)/2].UpdatedAt.Add(-2 * time.Hour)
	count := func(q url.Values) int {
		resp, body := e.signedGet(t, "/orders", q, time.Now())
		if resp.StatusCode != 200 {
			t.Fatalf("HTTP %d %s", resp.StatusCode, body)
		}
		n, _ := strconv.Atoi(resp.Header.Get("X-WP-Total"))
		return n
	}
	want := 0
	for _, o := range orders {
		if o.UpdatedAt.After(mid) {
			want++
		}
	}
	after := mid.UTC().Format(gmtLayout)
	if got := count(url.Values{"modified_after": {after}, "dates_are_gmt": {"true"}}); got != want {
		t.Errorf("GMT filter: X-WP-Total %d, want %d", got, want)
	}
	local := count(url.Values{"modified_after": {after}})
	wantLocal := 0
	for _, o := range orders {
		if o.UpdatedAt.After(mid.Add(5 * time.Hour)) {
			wantLocal++
		}
	}
	if local != wantLocal || local == want {
		t.Errorf("site-local filter: X-WP-Total %d, want %d (the GMT digits read as UTC-5)", local, wantLocal)
	}
}

func TestPageSizeAbove100IsRejectedAndClamped(t *testing.T) {
	e := newEnv(t, SandboxOptions{RecordRequests: true})
	resp, body := e.signedGet(t, "/orders", url.Values{"per_page": {"101"}}, time.Now())
	var got struct {
		Code string `json:"code"`
		Data struct {
			Status int               `json:"status"`
			Params map[string]string `json:"params"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &got)
	if resp.StatusCode != 400 || got.Code != "rest_invalid_param" || got.Data.Params["per_page"] != "per_page must be between 1 (inclusive) and 100 (inclusive)" {
		t.Fatalf("per_page=101: HTTP %d %s", resp.StatusCode, body)
	}
	c := e.connector(t)
	c.PageSize = 500
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.byID) != len(e.sb.Orders()) {
		t.Fatalf("read %d orders", len(res.byID))
	}
	for _, l := range e.sb.Log()[1:] {
		if l.Query.Get("per_page") != "100" || l.Status != 200 {
			t.Errorf("request %s?%v answered %d", l.Path, l.Query, l.Status)
		}
	}
	// A bad request is terminal, not retried.
	resp, _ = e.signedGet(t, "/orders", url.Values{"orderby": {"popularity"}}, time.Now())
	if resp.StatusCode != 400 {
		t.Errorf("orderby=popularity on orders: HTTP %d", resp.StatusCode)
	}
}

func TestPaginationHeaders(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	resp, body := e.signedGet(t, "/orders", url.Values{"per_page": {"50"}, "page": {"2"}}, time.Now())
	var items []any
	_ = json.Unmarshal(body, &items)
	link := resp.Header.Get("Link")
	if resp.Header.Get("X-WP-Total") != "300" || resp.Header.Get("X-WP-TotalPages") != "6" || len(items) != 50 ||
		!strings.Contains(link, `?page=1&per_page=50>; rel="prev"`) || !strings.Contains(link, `?page=3&per_page=50>; rel="next"`) || strings.Contains(link, "oauth_") {
		t.Fatalf("headers %v, %d items", resp.Header, len(items))
	}
	resp, body = e.signedGet(t, "/orders", url.Values{"per_page": {"50"}, "page": {"9"}}, time.Now())
	if resp.StatusCode != 200 || string(body) != "[]" || resp.Header.Get("X-WP-TotalPages") != "6" {
		t.Fatalf("a page past the end: HTTP %d %s", resp.StatusCode, body)
	}
}

func TestRateLimitedClientSlowsAndFinishesExactly(t *testing.T) {
	e := newEnv(t, SandboxOptions{RateLimit: 8, Burst: 2})
	c := e.connector(t)
	c.PageSize = 15
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.records) != len(e.sb.Orders()) || len(res.byID) != len(e.sb.Orders()) {
		t.Fatalf("read %d records (%d distinct) of %d", len(res.records), len(res.byID), len(e.sb.Orders()))
	}
	s := c.Stats()
	if s.RateLimited == 0 || e.sb.Throttled() == 0 {
		t.Fatalf("no 429 seen (stats %+v): the test did not exercise the limit", s)
	}
	if s.Rate > 8*1.1 || s.Rate < pacerFloor {
		t.Errorf("pace after 429s = %.1f req/s, want at most the limit of 8", s.Rate)
	}
	if s.RateLimited > 6 {
		t.Errorf("%d responses were 429: the client did not slow down", s.RateLimited)
	}
	remaining := false
	for _, p := range res.pages {
		remaining = remaining || p.Remaining > 0
	}
	if !remaining {
		t.Error("no page estimated the remaining time once paced")
	}
	t.Logf("stats %+v, sandbox throttled %d", s, e.sb.Throttled())
}

func TestServerErrorsAndResetsAreRetried(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t)
	c.PageSize = 50
	e.sb.Faults().FailNext(2, http.StatusServiceUnavailable)
	e.sb.Faults().ResetNext(1)
	res, err := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 2)
	if err != errCrash {
		t.Fatalf("first pages: %v", err)
	}
	e.sb.Faults().FailNext(1, http.StatusInternalServerError)
	rest := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: res.pages[1].Resume})
	for id, r := range rest.byID {
		res.byID[id] = r
	}
	if len(res.byID) != len(e.sb.Orders()) {
		t.Fatalf("read %d orders of %d", len(res.byID), len(e.sb.Orders()))
	}
	if s := c.Stats(); s.Retries != 4 {
		t.Errorf("retries = %d, want 4 (two 503s, a reset, a 500)", s.Retries)
	}
	e.sb.Faults().FailNext(10, http.StatusBadGateway)
	c.client.MaxRetries = 2
	err = c.Check(context.Background())
	if class, _ := connectors.Classify(err); class != connectors.ClassTransient {
		t.Errorf("persistent 502: %v, want a transient error", err)
	}
}

func TestResumeFromEveryPageReadsTheRestWithoutGaps(t *testing.T) {
	for _, entity := range []v1alpha1.DataType{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataInventory} {
		t.Run(string(entity), func(t *testing.T) {
			e := newEnv(t, SandboxOptions{})
			c := e.connector(t)
			c.PageSize = 17
			full := mustRead(t, c, connectors.ReadRequest{Entity: entity})
			if len(full.pages) < 3 {
				t.Fatalf("only %d pages", len(full.pages))
			}
			for k := range full.pages {
				seen := map[string]int{}
				for _, p := range full.pages[:k+1] {
					for _, r := range p.Records {
						seen[r.ID]++
					}
				}
				rest := mustRead(t, c, connectors.ReadRequest{Entity: entity, Resume: full.pages[k].Resume})
				for _, r := range rest.records {
					seen[r.ID]++
				}
				if len(seen) != len(full.byID) {
					t.Fatalf("resume after page %d: %d records in all, want %d", k+1, len(seen), len(full.byID))
				}
				for id, n := range seen {
					if n != 1 {
						t.Fatalf("resume after page %d: %s read %d times", k+1, id, n)
					}
				}
			}
		})
	}
}

// Page numbers over a fixed query shift when records change during a run: a record read on page 1 and then
// modified leaves the window, and the first record of the old page 2 slides onto page 1 after it was read. The
// modification-time bound in the resume token does not shift.
func TestResumeAfterChangesDuringTheReadSkipsNothing(t *testing.T) {
	clk := newClock()
	e := newEnv(t, SandboxOptions{Now: clk.Now})
	c := e.connector(t)
	c.PageSize = 25
	first, err := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 3)
	if err != errCrash {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	e.sb.TouchOrders(40) // some already read, some not
	e.sb.AddOrders(7)
	rest := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: first.pages[2].Resume})
	got := map[string]connectors.Record{}
	for id, r := range first.byID {
		got[id] = r
	}
	for id, r := range rest.byID {
		got[id] = r
	}
	for _, o := range e.sb.Orders() {
		r, ok := got[strconv.FormatInt(o.ID, 10)]
		if !ok {
			t.Fatalf("order %d was skipped", o.ID)
		}
		if !r.UpdatedAt.Equal(o.UpdatedAt) {
			t.Errorf("order %d: latest read has UpdatedAt %v, the store %v", o.ID, r.UpdatedAt, o.UpdatedAt)
		}
	}
}

// More records than a page share one modification second (a bulk edit): the scan steps pages inside it.
func TestManyRecordsInOneSecondAreReadOnce(t *testing.T) {
	clk := newClock()
	e := newEnv(t, SandboxOptions{Now: clk.Now})
	c := e.connector(t)
	c.PageSize = 20
	all := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	clk.Advance(time.Minute)
	e.sb.TouchOrders(65)
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: maxUpdated(all)})
	if len(res.records) != 65 || len(res.byID) != 65 {
		t.Fatalf("read %d records (%d distinct), want the 65 changed in one second", len(res.records), len(res.byID))
	}
	for k := range res.pages {
		rest := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: res.pages[k].Resume})
		n := len(rest.records)
		for _, p := range res.pages[:k+1] {
			n += len(p.Records)
		}
		if n != 65 {
			t.Fatalf("resume after page %d: %d records in all, want 65", k+1, n)
		}
	}
}

func TestUnusableResumeStartsOverFromSince(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t)
	for _, tok := range []string{"not json", `{"entity":"Products","page":1}`, `{"entity":"Orders","page":0}`, `{"entity":"Orders","page":1,"after":"yesterday"}`} {
		res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: tok})
		if len(res.byID) != len(e.sb.Orders()) {
			t.Errorf("resume %q: read %d orders, want all %d", tok, len(res.byID), len(e.sb.Orders()))
		}
	}
}

func TestStoreWithoutTheRESTRouteIsTerminal(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{StoreURL: e.srv.URL + "/blog"},
		Credentials: map[string][]byte{CredentialConsumerKey: []byte(e.sb.ConsumerKey()), CredentialConsumerSecret: []byte(e.sb.ConsumerSecret())},
		HTTPClient:  e.srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(context.Background())
	if class, reason := connectors.Classify(err); class != connectors.ClassTerminal || reason != v1alpha1.ReasonInvalidConfiguration || !strings.Contains(err.Error(), "rest_no_route") {
		t.Fatalf("err = %v (%v/%s)", err, class, reason)
	}
}

// A network failure's error names the request path, never the signed query that holds the consumer key.
func TestNetworkErrorsDoNotExposeTheKey(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	url := e.srv.URL
	e.srv.Close()
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{StoreURL: url},
		Credentials: map[string][]byte{CredentialConsumerKey: []byte("ck_secretkeyvalue"), CredentialConsumerSecret: []byte("cs_x")},
		HTTPClient:  &http.Client{Timeout: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.SetRetryBackoff(time.Millisecond, time.Millisecond)
	err = c.Check(context.Background())
	if err == nil || strings.Contains(err.Error(), "ck_secretkeyvalue") || strings.Contains(err.Error(), "oauth_signature") {
		t.Fatalf("err = %v", err)
	}
}

// TestKeysInQueryWhenTheAuthorizationHeaderIsStripped: on an HTTPS store whose web server drops the
// Authorization header, Basic auth arrives anonymous; the connector then sends consumer_key/consumer_secret in
// the query string (WooCommerce's documented fallback) and reads everything, switching once.
func TestKeysInQueryWhenTheAuthorizationHeaderIsStripped(t *testing.T) {
	opts := smallStore
	opts.StripAuthorization, opts.RecordRequests = true, true
	sb := NewSandbox(opts)
	e := &env{sb: sb, srv: connectortest.ServeTLS(t, sb)}
	c := e.connector(t)
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.byID) != sb.Counts().Orders {
		t.Fatalf("read %d orders, want %d", len(res.byID), sb.Counts().Orders)
	}
	if !c.keysInQuery.Load() {
		t.Fatal("the connector did not switch to query-string keys")
	}
	log := sb.Log()
	if len(log) < 2 || log[0].Status != 401 || log[0].Query.Has("consumer_key") {
		t.Fatalf("first request: %+v, want the anonymous 401 of a stripped Basic header", log[0])
	}
	for i, r := range log[1:] {
		if r.Status != 200 || r.Query.Get("consumer_key") != sb.ConsumerKey() || r.Query.Get("consumer_secret") != sb.ConsumerSecret() {
			t.Errorf("request %d: HTTP %d, query keys %t", i+1, r.Status, r.Query.Has("consumer_key"))
		}
	}

	// A wrong secret in query mode is still an auth failure that names no secret.
	const wrong = "cs_wrong_secret_value_0123456789abcdef"
	bad := e.connectorWith(t, sb.ConsumerKey(), wrong)
	err := bad.Check(context.Background())
	if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != "Unauthorized" ||
		!strings.Contains(err.Error(), "Consumer secret is invalid.") || strings.Contains(err.Error(), wrong) {
		t.Errorf("wrong secret in query mode: %v (%v/%s)", err, class, reason)
	}
}

// TestAuthSchemeFollowsTheTransport: Basic over HTTPS and OAuth 1.0a one-legged over plain HTTP, each
// reading everything, and neither sending the other's credentials.
func TestAuthSchemeFollowsTheTransport(t *testing.T) {
	for name, tls := range map[string]bool{"https basic": true, "http oauth": false} {
		t.Run(name, func(t *testing.T) {
			opts := smallStore
			opts.RecordRequests = true
			sb := NewSandbox(opts)
			e := &env{sb: sb}
			if tls {
				e.srv = connectortest.ServeTLS(t, sb)
			} else {
				e.srv = connectortest.Serve(t, sb)
			}
			c := e.connector(t)
			for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory} {
				mustRead(t, c, connectors.ReadRequest{Entity: entity})
			}
			for i, r := range sb.Log() {
				basic := strings.HasPrefix(r.Header.Get("Authorization"), "Basic ")
				signed := r.Query.Get("oauth_signature") != ""
				if r.Status != 200 || basic != tls || signed == tls || r.Query.Has("consumer_secret") {
					t.Errorf("request %d: HTTP %d, basic %t, signed %t, secret in query %t", i, r.Status, basic, signed, r.Query.Has("consumer_secret"))
				}
			}
		})
	}
}
