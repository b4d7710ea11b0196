package magento

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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

func TestRegistered(t *testing.T) {
	p := connectortest.Registered(t, v1alpha1.PlatformMagento, v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory)
	if len(p.CredentialKeys) != 1 || p.CredentialKeys[0] != CredentialAccessToken {
		t.Errorf("CredentialKeys = %v, want [accessToken]", p.CredentialKeys)
	}
	if _, err := mapping.Compile(p.DefaultMapping, nil); err != nil {
		t.Errorf("default mapping does not compile: %v", err)
	}
	if p.MaxHistory != 0 {
		t.Errorf("MaxHistory = %v; Magento keeps every order", p.MaxHistory)
	}
	if p.OAuth != nil {
		t.Error("Magento connects with integration credentials only, but registers an OAuth flow")
	}
}

func TestNewRejectsMissingCredentials(t *testing.T) {
	const secret = "s3cr3t-value"
	tests := []struct {
		name  string
		creds map[string][]byte
		key   string
	}{
		{"no access token", map[string][]byte{"token": []byte(secret)}, CredentialAccessToken},
		{"blank access token", map[string][]byte{CredentialAccessToken: []byte(" \n")}, CredentialAccessToken},
		{"consumer key without secret", map[string][]byte{CredentialAccessToken: []byte(secret), CredentialConsumerKey: []byte(secret),
			CredentialAccessTokenSecret: []byte(secret)}, CredentialConsumerSecret},
		{"consumer key without token secret", map[string][]byte{CredentialAccessToken: []byte(secret), CredentialConsumerKey: []byte(secret),
			CredentialConsumerSecret: []byte(secret)}, CredentialAccessTokenSecret},
		{"consumer secrets without consumer key", map[string][]byte{CredentialAccessToken: []byte(secret), CredentialConsumerSecret: []byte(secret),
			CredentialAccessTokenSecret: []byte(secret)}, CredentialConsumerKey},
		{"consumer key without access token", map[string][]byte{CredentialConsumerKey: []byte(secret), CredentialConsumerSecret: []byte(secret),
			CredentialAccessTokenSecret: []byte(secret)}, CredentialAccessToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(connectors.Config{
				Connection:  v1alpha1.Connection{StoreURL: "https://shop.example.com"},
				Credentials: tc.creds, HTTPClient: http.DefaultClient, Log: logr.Discard(),
			})
			class, reason := connectors.Classify(err)
			if err == nil || class != connectors.ClassAuth || reason != v1alpha1.ReasonCredentialsNotFound || !strings.Contains(err.Error(), `"`+tc.key+`"`) {
				t.Fatalf("err = %v (class %v, reason %s), want Auth/CredentialsNotFound naming %s", err, class, reason, tc.key)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error exposes a credential: %v", err)
			}
		})
	}
}

func TestRESTBaseFromConnection(t *testing.T) {
	tests := []struct {
		conn v1alpha1.Connection
		want string
	}{
		{v1alpha1.Connection{StoreURL: "https://shop.example.com"}, "https://shop.example.com/rest/default"},
		{v1alpha1.Connection{StoreURL: "https://shop.example.com/"}, "https://shop.example.com/rest/default"},
		{v1alpha1.Connection{StoreURL: "https://example.com/shop"}, "https://example.com/shop/rest/default"},
		{v1alpha1.Connection{StoreURL: "https://shop.example.com/rest/all/V1/"}, "https://shop.example.com/rest/all"},
		{v1alpha1.Connection{StoreURL: "https://shop.example.com/rest"}, "https://shop.example.com/rest"},
		{v1alpha1.Connection{StoreURL: "https://shop.example.com/rest/V1"}, "https://shop.example.com/rest"},
		{v1alpha1.Connection{StoreURL: "https://shop.example.com", Endpoint: "http://127.0.0.1:8080"}, "http://127.0.0.1:8080/rest/default"},
	}
	for _, tc := range tests {
		got, err := restBase(tc.conn)
		if err != nil || got != tc.want {
			t.Errorf("restBase(%+v) = %q, %v; want %q", tc.conn, got, err, tc.want)
		}
	}
	for _, bad := range []v1alpha1.Connection{{}, {StoreURL: "shop.example.com"}, {StoreURL: "ftp://shop.example.com"}} {
		_, err := restBase(bad)
		if class, reason := connectors.Classify(err); err == nil || class != connectors.ClassTerminal || reason != v1alpha1.ReasonInvalidConfiguration {
			t.Errorf("restBase(%+v): err = %v (class %v), want Terminal/InvalidConfiguration", bad, err, class)
		}
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t, nil)
	for name, creds := range map[string]map[string][]byte{"bearer": e.bearerCredentials(), "oauth": e.oauthCredentials()} {
		before := e.sb.Requests()
		if err := e.connector(t, creds).Check(context.Background()); err != nil {
			t.Errorf("%s: Check: %v", name, err)
		}
		if n := e.sb.Requests() - before; n != 1 {
			t.Errorf("%s: Check made %d requests, want 1", name, n)
		}
	}
}

func TestAuthRejected(t *testing.T) {
	const wrong = "wrong-secret-value-42"
	tests := []struct {
		name  string
		tweak func(*SandboxOptions)
		creds func(e *env) map[string][]byte
	}{
		{"wrong bearer token", nil, func(*env) map[string][]byte { return map[string][]byte{CredentialAccessToken: []byte(wrong)} }},
		{"bearer on a store that refuses integration tokens as bearer", func(o *SandboxOptions) { o.BearerDisabled = true },
			func(e *env) map[string][]byte { return e.bearerCredentials() }},
		{"wrong consumer secret", nil, func(e *env) map[string][]byte {
			c := e.oauthCredentials()
			c[CredentialConsumerSecret] = []byte(wrong)
			return c
		}},
		{"wrong access token secret", func(o *SandboxOptions) { o.BearerDisabled = true }, func(e *env) map[string][]byte {
			c := e.oauthCredentials()
			c[CredentialAccessTokenSecret] = []byte(wrong)
			return c
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.tweak)
			c := e.connector(t, tc.creds(e))
			_, readErr := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0)
			for what, err := range map[string]error{"check": c.Check(context.Background()), "read": readErr} {
				class, reason := connectors.Classify(err)
				if class != connectors.ClassAuth || reason != "Unauthorized" {
					t.Errorf("%s: err = %v (class %v, reason %s), want Auth/Unauthorized", what, err, class, reason)
					continue
				}
				if !strings.Contains(err.Error(), "The consumer isn't authorized to access Magento_Sales::actions_view.") {
					t.Errorf("%s: error lacks Magento's message: %v", what, err)
				}
				for _, v := range tc.creds(e) {
					if strings.Contains(err.Error(), string(v)) {
						t.Errorf("%s: error exposes a credential: %v", what, err)
					}
				}
			}
			if got := c.Stats().Retries; got != 0 {
				t.Errorf("auth failures were retried %d times", got)
			}
		})
	}

	// No Authorization header at all: Magento's exact status and body.
	e := newEnv(t, nil)
	resp, err := http.Get(e.srv.URL + "/rest/default/V1/orders?searchCriteria[pageSize]=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Sales::actions_view"}}`
	if resp.StatusCode != 401 || strings.TrimSpace(string(body)) != want {
		t.Errorf("no token: HTTP %d %s, want 401 %s", resp.StatusCode, body, want)
	}
}

func TestOAuthSignedReadsOnAStoreWithoutBearer(t *testing.T) {
	e := newEnv(t, func(o *SandboxOptions) { o.BearerDisabled = true })
	c := small(e.connector(t, e.oauthCredentials()))
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.byID) != e.sb.Counts().Orders {
		t.Fatalf("read %d orders, want %d", len(res.byID), e.sb.Counts().Orders)
	}
}

// assertOrders compares what was read with the sandbox's orders.
func assertOrders(t *testing.T, sb *Sandbox, byID map[string]connectors.Record) {
	t.Helper()
	sb.mu.RLock()
	defer sb.mu.RUnlock()
	if len(byID) != len(sb.data.orders) {
		t.Fatalf("read %d orders, sandbox has %d", len(byID), len(sb.data.orders))
	}
	for _, o := range sb.data.orders {
		id := idString(float64(o["entity_id"].(int64)))
		r, ok := byID[id]
		if !ok {
			t.Fatalf("order %s not read", id)
		}
		if got, want := formatDate(r.UpdatedAt), o["updated_at"]; got != want {
			t.Errorf("order %s UpdatedAt = %s, want %s", id, got, want)
		}
		for _, k := range []string{"increment_id", "status", "order_currency_code", "created_at"} {
			if r.Data[k] != o[k] {
				t.Errorf("order %s %s = %v, want %v", id, k, r.Data[k], o[k])
			}
		}
		if num(r.Data["grand_total"]) != num(o["grand_total"]) {
			t.Errorf("order %s grand_total = %v, want %v", id, r.Data["grand_total"], o["grand_total"])
		}
	}
}

func TestOrdersEveryOrderReadOnceInModificationOrder(t *testing.T) {
	e := newEnv(t, nil)
	res := mustRead(t, small(e.connector(t, e.bearerCredentials())), connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.records) != len(res.byID) {
		t.Errorf("%d records for %d orders: some were read twice", len(res.records), len(res.byID))
	}
	if want := (300 + 22) / 23; len(res.pages) != want {
		t.Errorf("%d pages, want %d", len(res.pages), want)
	}
	assertOrders(t, e.sb, res.byID)
	for i := 1; i < len(res.records); i++ {
		if res.records[i].UpdatedAt.Before(res.records[i-1].UpdatedAt) {
			t.Fatalf("record %d is older than the one before it", i)
		}
	}
}

func TestConfigurableOrderItemsBecomeOneLine(t *testing.T) {
	e := newEnv(t, nil)
	res := mustRead(t, small(e.connector(t, e.bearerCredentials())), connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	cat := e.sb.Catalog()
	pairs, lines := 0, 0
	for _, o := range cat.Orders {
		r := res.byID[idString(float64(o.ID))]
		items := r.Data["items"].([]any)
		for _, it := range items {
			if num(it.(map[string]any)["parent_item_id"]) > 0 {
				pairs++
			}
		}
		got := r.Data["lines"].([]any)
		if len(got) != len(o.Lines) {
			t.Fatalf("order %d: %d lines from %d items, want %d", o.ID, len(got), len(items), len(o.Lines))
		}
		for i, l := range o.Lines {
			lm := got[i].(map[string]any)
			if lm["sku"] != l.SKU || num(lm["product_id"]) != float64(l.VariantID) || num(lm["qty_ordered"]) != float64(l.Quantity) ||
				num(lm["price"]) != float64(l.PriceCents)/100 || num(lm["item_id"]) != float64(l.ID) {
				t.Errorf("order %d line %d = %v, want sku %s product %d qty %d price %d item %d", o.ID, i, lm, l.SKU, l.VariantID, l.Quantity, l.PriceCents, l.ID)
			}
			if lm["product_type"] == "configurable" && num(lm["parent_product_id"]) != float64(l.ProductID) {
				t.Errorf("order %d line %d parent_product_id = %v, want %d", o.ID, i, lm["parent_product_id"], l.ProductID)
			}
		}
		lines += len(got)
	}
	if pairs == 0 {
		t.Fatal("the sandbox produced no configurable parent/child item pairs")
	}
	if lines != e.sb.Counts().OrderLines {
		t.Errorf("%d lines, the sandbox counts %d", lines, e.sb.Counts().OrderLines)
	}
	t.Logf("%d configurable pairs folded into single lines", pairs)
}

func TestProductsOneRecordPerSKUWithParent(t *testing.T) {
	e := newEnv(t, nil)
	res := mustRead(t, small(e.connector(t, e.bearerCredentials())), connectors.ReadRequest{Entity: v1alpha1.DataProducts})
	if len(res.records) != len(res.byID) {
		t.Errorf("%d records for %d products: some were read twice", len(res.records), len(res.byID))
	}
	want := 0
	for _, p := range e.sb.Catalog().Products {
		for _, v := range p.Variants {
			want++
			r, ok := res.byID[idString(float64(v.ID))]
			if !ok {
				t.Fatalf("variant %d (%s) not read", v.ID, v.SKU)
			}
			if r.Data["sku"] != v.SKU || num(r.Data["price"]) != float64(v.PriceCents)/100 || r.Data["attributes"].(map[string]any)["barcode"] != v.Barcode {
				t.Errorf("product %d data = %v", v.ID, r.Data)
			}
			parent, has := r.Data["parent"].(map[string]any)
			if len(p.Variants) > 1 && (!has || num(parent["id"]) != float64(p.ID) || parent["name"] != p.Title) {
				t.Errorf("child %d parent = %v, want configurable %d", v.ID, r.Data["parent"], p.ID)
			}
			if len(p.Variants) == 1 && has {
				t.Errorf("simple product %d has a parent %v", v.ID, parent)
			}
		}
		if _, ok := res.byID[idString(float64(p.ID))]; ok && len(p.Variants) > 1 {
			t.Errorf("configurable parent %d was read as a SKU", p.ID)
		}
	}
	if len(res.byID) != want || want != e.sb.Counts().SKUs {
		t.Errorf("read %d products, want %d SKUs (sandbox counts %d)", len(res.byID), want, e.sb.Counts().SKUs)
	}
}

func TestLocationsAndInventoryFullReads(t *testing.T) {
	e := newEnv(t, nil)
	c := small(e.connector(t, e.bearerCredentials()))
	locs := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations})
	if len(locs.byID) != 3 || len(locs.records) != 3 {
		t.Errorf("read %d sources in %d records, want 3", len(locs.byID), len(locs.records))
	}
	inv := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory, Since: time.Now()})
	if len(inv.records) != len(inv.byID) || len(inv.byID) != e.sb.Counts().SourceItems {
		t.Fatalf("read %d source items (%d records), sandbox has %d", len(inv.byID), len(inv.records), e.sb.Counts().SourceItems)
	}
	ids := map[string]int64{}
	for _, v := range e.sb.Catalog().Variants() {
		ids[v.SKU] = v.ID
	}
	for _, r := range inv.records {
		if r.ID != SourceItemID(r.Data["sku"].(string), r.Data["source_code"].(string)) {
			t.Errorf("record ID %s does not match its sku and source", r.ID)
		}
		if num(r.Data["product_id"]) != float64(ids[r.Data["sku"].(string)]) {
			t.Errorf("%s product_id = %v, want %d", r.ID, r.Data["product_id"], ids[r.Data["sku"].(string)])
		}
		if _, ok := locs.byID[r.Data["source_code"].(string)]; !ok {
			t.Errorf("%s names an unknown source", r.ID)
		}
	}
}

func TestIncrementalReadReturnsOnlyChangedOrders(t *testing.T) {
	e := newEnv(t, func(o *SandboxOptions) { o.RecordRequests = true })
	c := small(e.connector(t, e.bearerCredentials()))
	full := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	cursor := full.records[len(full.records)-1].UpdatedAt
	if cursor.After(time.Now().Add(-2 * time.Second)) {
		time.Sleep(time.Until(cursor.Add(2 * time.Second)))
	}
	since := time.Now().Add(-500 * time.Millisecond)

	ids := e.sb.OrderIDs()
	touched := map[string]bool{}
	for _, id := range []int64{ids[3], ids[150], ids[299]} {
		e.sb.TouchOrder(id)
		touched[idString(float64(id))] = true
	}
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: since})
	if len(res.records) != len(touched) {
		t.Fatalf("incremental read returned %d orders, want the %d touched", len(res.records), len(touched))
	}
	for _, r := range res.records {
		if !touched[r.ID] {
			t.Errorf("order %s was not touched", r.ID)
		}
	}
	// The filter is on updated_at in Magento's UTC "YYYY-MM-DD HH:MM:SS", the floor of Since.
	log := e.sb.Log()
	last := log[len(log)-1].Query
	if got, want := last.Get("searchCriteria[filterGroups][0][filters][0][value]"), formatDate(since.Truncate(time.Second)); got != want ||
		last.Get("searchCriteria[filterGroups][0][filters][0][field]") != "updated_at" ||
		last.Get("searchCriteria[filterGroups][0][filters][0][conditionType]") != "gteq" {
		t.Errorf("incremental filter = %v, want updated_at gteq %s", last, want)
	}
}

func TestPagePastTheEndRepeatsTheLastPage(t *testing.T) {
	e := newEnv(t, nil)
	get := func(page int) map[string]any {
		q := url.Values{}
		q.Set("searchCriteria[pageSize]", "40")
		q.Set("searchCriteria[currentPage]", strconv.Itoa(page))
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/rest/V1/inventory/source-items?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+e.sb.AccessToken())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	total := int(num(get(1)["total_count"]))
	last := (total + 39) / 40
	lastPage, past := get(last), get(last+3)
	a, _ := json.Marshal(lastPage["items"])
	b, _ := json.Marshal(past["items"])
	if string(a) != string(b) || len(past["items"].([]any)) == 0 {
		t.Fatalf("page %d of %d did not repeat the last page", last+3, last)
	}

	// The connector stops on total_count: one request per page, never one past the end.
	c := small(e.connector(t, e.bearerCredentials()))
	before := e.sb.Requests()
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory})
	lookups := (e.sb.Counts().Products + c.PageSizes.Lookups - 1) / c.PageSizes.Lookups
	pages := (total + c.PageSizes.SourceItems - 1) / c.PageSizes.SourceItems
	if got := e.sb.Requests() - before; got != int64(lookups+pages) || len(res.pages) != pages {
		t.Errorf("%d requests and %d pages, want %d lookups + %d pages", got, len(res.pages), lookups, pages)
	}
}

func TestRateLimitedReadSlowsDownAndFinishesExactly(t *testing.T) {
	e := newEnv(t, func(o *SandboxOptions) { o.RateLimit, o.Unlimited = RateLimit{PerSecond: 10, Burst: 2}, false })
	c := small(e.connector(t, e.bearerCredentials()))
	start := time.Now()
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	elapsed := time.Since(start)
	assertOrders(t, e.sb, res.byID)
	if len(res.records) != len(res.byID) {
		t.Errorf("%d records for %d orders", len(res.records), len(res.byID))
	}
	st := c.Stats()
	if e.sb.Throttled() == 0 || st.RateLimited == 0 {
		t.Fatalf("the sandbox throttled %d requests and the client saw %d 429s; the limit was not hit", e.sb.Throttled(), st.RateLimited)
	}
	if st.Limit <= 0 || st.Limit > 10 {
		t.Errorf("the client's pace is %.1f requests/s, want a limit at or below the store's 10", st.Limit)
	}
	if st.RateLimited > int64(len(res.pages))/2 {
		t.Errorf("%d of %d requests were throttled: the client did not slow down", st.RateLimited, st.Requests)
	}
	if paced := res.pages[len(res.pages)-2].Remaining; paced <= 0 {
		t.Errorf("a paced read reported no Remaining estimate")
	}
	t.Logf("%d pages in %v, %d requests, %d throttled, pace %.1f/s", len(res.pages), elapsed, st.Requests, st.RateLimited, st.Limit)
}

func TestServerErrorsAndResetsAreRetried(t *testing.T) {
	e := newEnv(t, nil)
	c := small(e.connector(t, e.oauthCredentials()))
	e.sb.Faults().FailNext(2, http.StatusInternalServerError)
	e.sb.Faults().FailNext(1, http.StatusServiceUnavailable)
	e.sb.Faults().ResetNext(1)
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	assertOrders(t, e.sb, res.byID)
	if st := c.Stats(); st.Retries < 4 {
		t.Errorf("retries = %d, want at least 4", st.Retries)
	}

	// Failures that outlast the retries end the read as transient, with Magento's message.
	e.sb.Faults().FailNext(20, http.StatusInternalServerError)
	_, err := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations}, 0)
	if class, reason := connectors.Classify(err); class != connectors.ClassTransient || reason != "PlatformUnavailable" ||
		!strings.Contains(err.Error(), "Internal Error") {
		t.Errorf("err = %v (class %v, reason %s), want Transient/PlatformUnavailable", err, class, reason)
	}
}

func TestResumeFromMidReadYieldsTheRest(t *testing.T) {
	for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory} {
		t.Run(string(entity), func(t *testing.T) {
			e := newEnv(t, nil)
			c := small(e.connector(t, e.oauthCredentials()))
			full := mustRead(t, c, connectors.ReadRequest{Entity: entity})
			if len(full.pages) < 2 {
				t.Fatalf("only %d pages", len(full.pages))
			}
			crashAt := len(full.pages) / 2
			first, err := read(t, c, connectors.ReadRequest{Entity: entity}, crashAt)
			if err != errCrash {
				t.Fatalf("first read: %v", err)
			}
			rest := mustRead(t, c, connectors.ReadRequest{Entity: entity, Resume: first.pages[crashAt-1].Resume})
			// Together exactly the full read, and the resumed read re-reads nothing.
			seen := map[string]int{}
			for _, r := range append(append([]connectors.Record(nil), first.records...), rest.records...) {
				seen[r.ID]++
			}
			if len(seen) != len(full.byID) {
				t.Fatalf("first + resumed read %d records, the full read %d", len(seen), len(full.byID))
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("%s read %d times", id, n)
				}
			}
		})
	}
}

func TestResumeAfterOrdersChangedSkipsNothing(t *testing.T) {
	e := newEnv(t, nil)
	c := small(e.connector(t, e.bearerCredentials()))
	first, err := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 3)
	if err != errCrash {
		t.Fatal(err)
	}
	// Orders of the pages already stored change, moving to the end: with offsets the rest would shift and
	// skip records; with the keyset nothing shifts.
	for _, r := range first.records[:5] {
		id, _ := intValue(r.Data["entity_id"])
		e.sb.TouchOrder(id)
	}
	rest := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: first.pages[2].Resume})
	all := map[string]connectors.Record{}
	for _, r := range append(first.records, rest.records...) {
		all[r.ID] = r
	}
	for _, r := range rest.records {
		all[r.ID] = r // the newer copy wins, as in the store
	}
	assertOrders(t, e.sb, all)
}

func TestUnusableResumeStartsOver(t *testing.T) {
	e := newEnv(t, nil)
	c := small(e.connector(t, e.bearerCredentials()))
	for _, tok := range []string{"not json", `{"after":"yesterday","afterID":5}`} {
		res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: tok})
		if len(res.byID) != e.sb.Counts().Orders {
			t.Errorf("resume %q: read %d orders, want all %d", tok, len(res.byID), e.sb.Counts().Orders)
		}
	}
}

func TestPageSizeAboveTheInputLimitIsTerminal(t *testing.T) {
	e := newEnv(t, nil)
	c := e.connector(t, e.bearerCredentials())
	c.PageSizes.Orders = 500
	_, err := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0)
	if class, _ := connectors.Classify(err); class != connectors.ClassTerminal || !strings.Contains(err.Error(), "Maximum SearchCriteria pageSize is 300") {
		t.Errorf("err = %v (class %v), want terminal with Magento's message", err, class)
	}
}

func TestSandboxRejectsNonMagentoDates(t *testing.T) {
	e := newEnv(t, nil)
	q := url.Values{}
	q.Set("searchCriteria[filter_groups][0][filters][0][field]", "updated_at")
	q.Set("searchCriteria[filter_groups][0][filters][0][value]", "2024-05-01T00:00:00Z")
	q.Set("searchCriteria[filter_groups][0][filters][0][condition_type]", "gt")
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/rest/default/V1/orders?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+e.sb.AccessToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("RFC 3339 filter value: HTTP %d, want 400", resp.StatusCode)
	}
}

func TestDefaultMappingMapsEveryEntity(t *testing.T) {
	e := newEnv(t, nil)
	c := e.connector(t, e.oauthCredentials())
	m, err := mapping.Compile(DefaultMapping(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var batch tether.Batch
	for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory} {
		res := mustRead(t, c, connectors.ReadRequest{Entity: entity})
		if err := m.Apply(entity, res.records, &batch); err != nil {
			t.Fatalf("%s: %v", entity, err)
		}
	}
	cnt := e.sb.Counts()
	lines := 0
	for _, o := range batch.SalesOrders {
		lines += len(o.Lines)
	}
	if len(batch.SalesOrders) != cnt.Orders || lines != cnt.OrderLines || len(batch.SKUs) != cnt.SKUs ||
		len(batch.Warehouses) != cnt.Sources || len(batch.InventoryLevels) != cnt.SourceItems {
		t.Fatalf("mapped %d orders, %d lines, %d SKUs, %d warehouses, %d levels; want %+v", len(batch.SalesOrders), lines,
			len(batch.SKUs), len(batch.Warehouses), len(batch.InventoryLevels), cnt)
	}
	cat := e.sb.Catalog()
	byOrder := map[string]tether.SalesOrder{}
	for _, o := range batch.SalesOrders {
		byOrder[o.ExternalID] = o
	}
	o := cat.Orders[0]
	so := byOrder[idString(float64(o.ID))]
	if so.OrderID != itoaPad(o.Number) || !so.OrderedAt.Equal(o.CreatedAt) || !so.UpdatedAt.Equal(o.UpdatedAt) ||
		so.Currency != "USD" || so.Total == "" || len(so.Lines) != len(o.Lines) || so.Lines[0].SKUCode != o.Lines[0].SKU ||
		so.Lines[0].Quantity != int64(o.Lines[0].Quantity) || so.Lines[0].SKUExternalID != idString(float64(o.Lines[0].VariantID)) {
		t.Errorf("order %d mapped to %+v", o.ID, so)
	}
	parents := map[string]string{}
	for _, p := range cat.Products {
		for _, v := range p.Variants {
			parents[idString(float64(v.ID))] = idString(float64(p.ID))
			if len(p.Variants) == 1 {
				parents[idString(float64(v.ID))] = idString(float64(v.ID))
			}
		}
	}
	for _, s := range batch.SKUs {
		if s.ProductID != parents[s.ExternalID] || s.Code == "" || s.Price == "" || s.Barcode == "" || s.UpdatedAt.IsZero() {
			t.Errorf("SKU %s mapped to %+v, want productID %s", s.ExternalID, s, parents[s.ExternalID])
		}
	}
	for _, l := range batch.InventoryLevels {
		if l.OnHand < 0 || (l.Available != 0 && l.Available != l.OnHand) || l.SKUExternalID == "" || l.WarehouseExternalID == "" {
			t.Errorf("level %s mapped to %+v", l.ExternalID, l)
		}
	}
	active := 0
	for _, w := range batch.Warehouses {
		if w.Active {
			active++
		}
		if w.Code != w.ExternalID || w.Country == "" {
			t.Errorf("warehouse %+v", w)
		}
	}
	if active != 2 {
		t.Errorf("%d active warehouses, want 2 of 3", active)
	}
}

func itoaPad(n int) string { return fmt.Sprintf("%09d", n) }

func TestRemainingIsEstimatedWhenPaced(t *testing.T) {
	e := newEnv(t, nil)
	c, err := NewWithOptions(connectors.Config{
		Connection: v1alpha1.Connection{StoreURL: e.srv.URL}, Credentials: e.bearerCredentials(), HTTPClient: e.srv.Client(),
	}, Options{RequestsPerSecond: 200})
	if err != nil {
		t.Fatal(err)
	}
	small(c)
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	rem := make([]time.Duration, len(res.pages))
	for i, p := range res.pages {
		rem[i] = p.Remaining
	}
	if !sort.SliceIsSorted(rem, func(i, j int) bool { return rem[i] > rem[j] }) || rem[0] <= 0 || rem[len(rem)-1] != 0 {
		t.Errorf("Remaining per page = %v, want a countdown to zero", rem)
	}
}

// TestSandboxVerifiesOAuthSignatures holds the sandbox to Magento's OAuth 1.0a checks on a 2.4.4+ store with
// bearer tokens disabled: a correct signature passes once; a replayed nonce, a timestamp outside the window,
// a tampered query, another consumer or a plain bearer token are refused with Magento's 401.
func TestSandboxVerifiesOAuthSignatures(t *testing.T) {
	e := newEnv(t, func(o *SandboxOptions) { o.BearerDisabled = true })
	creds := oauthCredentials{consumerKey: e.sb.ConsumerKey(), consumerSecret: e.sb.ConsumerSecret(),
		token: e.sb.AccessToken(), tokenSecret: e.sb.AccessTokenSecret()}
	target := e.srv.URL + "/rest/default/V1/orders?searchCriteria[pageSize]=1&fields=total_count"
	send := func(u, auth string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	parsed, _ := url.Parse(target)
	nonce := newNonce()
	signed := creds.authorizationHeader(http.MethodGet, parsed, nonce, time.Now())
	tampered, _ := url.Parse(strings.Replace(target, "pageSize]=1", "pageSize]=2", 1))
	other := creds
	other.consumerSecret = "another-consumer-secret"
	for _, tc := range []struct {
		name, url, auth string
		status          int
	}{
		{"signed", target, signed, 200},
		{"nonce replayed", target, signed, 401},
		{"timestamp 11 minutes old", target, creds.authorizationHeader(http.MethodGet, parsed, newNonce(), time.Now().Add(-11*time.Minute)), 401},
		{"timestamp 11 minutes ahead", target, creds.authorizationHeader(http.MethodGet, parsed, newNonce(), time.Now().Add(11*time.Minute)), 401},
		{"timestamp 5 minutes old", target, creds.authorizationHeader(http.MethodGet, parsed, newNonce(), time.Now().Add(-5*time.Minute)), 200},
		{"query changed after signing", tampered.String(), creds.authorizationHeader(http.MethodGet, parsed, newNonce(), time.Now()), 401},
		{"wrong consumer secret", target, other.authorizationHeader(http.MethodGet, parsed, newNonce(), time.Now()), 401},
		{"bearer refused", target, "Bearer " + e.sb.AccessToken(), 401},
	} {
		if got := send(tc.url, tc.auth); got != tc.status {
			t.Errorf("%s: HTTP %d, want %d", tc.name, got, tc.status)
		}
	}

	// The connector's own requests carry a fresh nonce each, so a full read never trips the replay check.
	c := small(e.connector(t, e.oauthCredentials()))
	for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory} {
		mustRead(t, c, connectors.ReadRequest{Entity: entity})
	}
}

// TestBearerWorksWhenTheStoreAllowsIt: with oauth/consumer/enable_integration_as_bearer=1 the access token
// alone reads everything; the same Secret on a store that disables it is refused with Magento's 401.
func TestBearerWorksWhenTheStoreAllowsIt(t *testing.T) {
	e := newEnv(t, nil)
	c := small(e.connector(t, e.bearerCredentials()))
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.byID) != e.sb.Counts().Orders {
		t.Fatalf("bearer read %d orders, want %d", len(res.byID), e.sb.Counts().Orders)
	}
	if c.oauth != nil || c.bearer == "" {
		t.Error("an accessToken-only Secret does not use bearer authentication")
	}
	if s := small(e.connector(t, e.oauthCredentials())); s.oauth == nil || s.bearer != "" {
		t.Error("a Secret with consumerKey does not sign with OAuth 1.0a")
	}
}
