package bigcommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
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

func TestPlatformIsRegistered(t *testing.T) {
	p := connectortest.Registered(t, v1alpha1.PlatformBigCommerce, v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory)
	if len(p.CredentialKeys) != 1 || p.CredentialKeys[0] != "accessToken" {
		t.Errorf("CredentialKeys = %v, want [accessToken]", p.CredentialKeys)
	}
	if _, err := mapping.Compile(p.DefaultMapping, nil); err != nil {
		t.Errorf("DefaultMapping does not compile: %v", err)
	}
	if p.MaxHistory != 0 {
		t.Errorf("MaxHistory = %v; BigCommerce keeps every order", p.MaxHistory)
	}
	if p.NewSandbox == nil || p.New == nil {
		t.Error("New and NewSandbox must be set")
	}
}

func TestNewValidatesCredentialsAndConnection(t *testing.T) {
	good := map[string][]byte{"accessToken": []byte(" tok \n")}
	cases := []struct {
		name       string
		conn       v1alpha1.Connection
		creds      map[string][]byte
		wantClass  connectors.Class
		wantReason string
		wantIn     string
		wantBase   string
	}{
		{name: "missing access token key", conn: v1alpha1.Connection{StoreHash: "abc123"}, creds: map[string][]byte{"token": []byte("x")},
			wantClass: connectors.ClassAuth, wantReason: "CredentialsNotFound", wantIn: "accessToken"},
		{name: "empty access token", conn: v1alpha1.Connection{StoreHash: "abc123"}, creds: map[string][]byte{"accessToken": []byte("  ")},
			wantClass: connectors.ClassAuth, wantReason: "CredentialsNotFound", wantIn: "accessToken"},
		{name: "missing store hash", creds: good,
			wantClass: connectors.ClassTerminal, wantReason: "InvalidConfiguration", wantIn: "storeHash"},
		{name: "store hash that is a URL", conn: v1alpha1.Connection{StoreHash: "https://x"}, creds: good,
			wantClass: connectors.ClassTerminal, wantReason: "InvalidConfiguration", wantIn: "storeHash"},
		{name: "default gateway", conn: v1alpha1.Connection{StoreHash: "abc123"}, creds: good,
			wantBase: "https://api.bigcommerce.com/stores/abc123"},
		{name: "endpoint replaces the gateway, path keeps the store", conn: v1alpha1.Connection{StoreHash: "abc123", Endpoint: "http://proxy:8080/"}, creds: good,
			wantBase: "http://proxy:8080/stores/abc123"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(connectors.Config{Connection: tc.conn, Credentials: tc.creds, HTTPClient: http.DefaultClient, Log: logr.Discard()})
			if tc.wantBase != "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.base != tc.wantBase || c.token != "tok" {
					t.Errorf("base %q token %q, want %q and the trimmed token", c.base, c.token, tc.wantBase)
				}
				return
			}
			class, reason := connectors.Classify(err)
			if err == nil || class != tc.wantClass || reason != tc.wantReason || !strings.Contains(err.Error(), tc.wantIn) {
				t.Fatalf("err = %v (%v/%s), want %v/%s naming %s", err, class, reason, tc.wantClass, tc.wantReason, tc.wantIn)
			}
		})
	}
}

func TestRejectedTokenIsAnAuthErrorWithoutTheSecret(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	const secret = "wrong0secret0token0value"
	c := e.connector(t, secret)
	errs := map[string]error{"check": c.Check(context.Background())}
	for _, ent := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory} {
		_, err := read(t, c, connectors.ReadRequest{Entity: ent}, 0, nil)
		errs[string(ent)] = err
	}
	for name, err := range errs {
		class, reason := connectors.Classify(err)
		if class != connectors.ClassAuth || reason != "Unauthorized" {
			t.Errorf("%s: err = %v (%v/%s), want Auth/Unauthorized", name, err, class, reason)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error exposes the token: %v", name, err)
		}
		if !strings.Contains(err.Error(), "not authorized") {
			t.Errorf("%s: the error lacks BigCommerce's message: %v", name, err)
		}
	}
	if c.Stats().Retries != 0 {
		t.Errorf("a rejected token was retried %d times", c.Stats().Retries)
	}
	if err := e.connector(t, e.sb.AccessToken()).Check(context.Background()); err != nil {
		t.Errorf("Check with the right token: %v", err)
	}
}

func TestErrorShapesFollowTheAPIVersion(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	cases := []struct {
		name, path, token string
		status            int
		v2                bool
	}{
		{"v2 without a token", "/v2/orders", "", 401, true},
		{"v3 without a token", "/v3/catalog/products", "", 401, false},
		{"v2 unknown order", "/v2/orders/999999/products", e.sb.AccessToken(), 404, true},
		{"v3 bad date filter", "/v3/catalog/products?date_modified:min=yesterday", e.sb.AccessToken(), 422, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/stores/"+e.sb.StoreHash()+tc.path, nil)
			req.Header.Set("X-Auth-Token", tc.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.v2 {
				var v []struct {
					Status  int    `json:"status"`
					Message string `json:"message"`
				}
				if err := json.Unmarshal(body, &v); err != nil || len(v) != 1 || v[0].Status != tc.status || v[0].Message == "" {
					t.Errorf("v2 error body %s, want [{status, message}]", body)
				}
				return
			}
			var v struct {
				Status int    `json:"status"`
				Title  string `json:"title"`
				Type   string `json:"type"`
			}
			if err := json.Unmarshal(body, &v); err != nil || v.Status != tc.status || v.Title == "" || v.Type == "" {
				t.Errorf("v3 error body %s, want {status, title, type}", body)
			}
		})
	}
}

// cents parses a decimal string as cents.
func cents(t testing.TB, s string) int64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q is not a decimal", s)
	}
	return int64(math.Round(f * 100))
}

// smallPages makes every paging path run on the small sandbox.
func smallPages(c *Connector) {
	c.PageSizes = PageSizes{Orders: 37, OrderProducts: 5, Products: 7, Locations: 2, Inventory: 11}
}

func mapRecords(t *testing.T, entity connectors.Entity, recs []connectors.Record) tether.Batch {
	t.Helper()
	m, err := mapping.Compile(DefaultMapping(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b tether.Batch
	if err := m.Apply(entity, recs, &b); err != nil {
		t.Fatalf("map %s: %v", entity, err)
	}
	return b
}

func TestFullReadEmitsEveryRecordOnceAndMapsToTheStoreData(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	cat := e.sb.Catalog()
	c := e.connector(t, e.sb.AccessToken())
	smallPages(c)

	t.Run("orders", func(t *testing.T) {
		res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
		if d := duplicates(res.Records); len(d) > 0 {
			t.Errorf("orders emitted twice: %v", d)
		}
		if len(res.Pages) < 300/37 {
			t.Errorf("%d pages for 300 orders at 37 a page", len(res.Pages))
		}
		b := mapRecords(t, v1alpha1.DataOrders, res.Records)
		got := map[string]tether.SalesOrder{}
		for _, o := range b.SalesOrders {
			got[o.ExternalID] = o
		}
		if len(got) != len(cat.Orders) {
			t.Fatalf("read %d orders, the store has %d", len(got), len(cat.Orders))
		}
		for _, o := range cat.Orders {
			id := strconv.Itoa(o.Number)
			so, ok := got[id]
			if !ok {
				t.Fatalf("order %s not read", id)
			}
			_, status, _ := orderStatus(o.Status)
			if so.OrderID != id || so.Status != status || so.Currency != "USD" || cents(t, so.Total) != o.Total() ||
				!so.OrderedAt.Equal(o.CreatedAt) || !so.UpdatedAt.Equal(o.UpdatedAt) || !res.ByID[id].UpdatedAt.Equal(o.UpdatedAt) {
				t.Fatalf("order %s mapped to %+v; store has %s, %s, %d cents, created %v, modified %v", id, so, o.Status, o.Currency, o.Total(), o.CreatedAt, o.UpdatedAt)
			}
			if len(so.Lines) != len(o.Lines) {
				t.Fatalf("order %s has %d lines, want %d (lines come 5 a page)", id, len(so.Lines), len(o.Lines))
			}
			for i, l := range o.Lines {
				sl := so.Lines[i]
				if sl.ExternalID != fmt.Sprint(l.ID) || sl.SKUExternalID != fmt.Sprint(l.VariantID) || sl.SKUCode != l.SKU ||
					sl.Quantity != int64(l.Quantity) || cents(t, sl.Price) != l.PriceCents {
					t.Fatalf("order %s line %d = %+v, want %+v", id, i, sl, l)
				}
			}
		}
	})

	t.Run("products", func(t *testing.T) {
		res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts})
		if d := duplicates(res.Records); len(d) > 0 {
			t.Errorf("variants emitted twice: %v", d)
		}
		b := mapRecords(t, v1alpha1.DataProducts, res.Records)
		got := map[string]tether.SKU{}
		for _, s := range b.SKUs {
			got[s.ExternalID] = s
		}
		variants := cat.Variants()
		if len(got) != len(variants) {
			t.Fatalf("read %d SKUs, the store has %d variants", len(got), len(variants))
		}
		for _, p := range cat.Products {
			for _, v := range p.Variants {
				s := got[fmt.Sprint(v.ID)]
				if s.Code != v.SKU || s.Name != p.Title || s.ProductID != fmt.Sprint(p.ID) || s.Barcode != v.Barcode ||
					cents(t, s.Price) != v.PriceCents || !s.UpdatedAt.Equal(p.UpdatedAt) {
					t.Fatalf("variant %d mapped to %+v; store has %s %q %d cents, product modified %v", v.ID, s, v.SKU, p.Title, v.PriceCents, p.UpdatedAt)
				}
			}
		}
	})

	t.Run("locations", func(t *testing.T) {
		res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations})
		b := mapRecords(t, v1alpha1.DataLocations, res.Records)
		if len(b.Warehouses) != len(cat.Locations) || len(res.Pages) != 2 {
			t.Fatalf("read %d warehouses in %d pages, want %d in 2", len(b.Warehouses), len(res.Pages), len(cat.Locations))
		}
		for i, l := range cat.Locations {
			w := b.Warehouses[i]
			if w.ExternalID != fmt.Sprint(l.ID) || w.Name != l.Name || w.Code != l.Code || w.Country != l.CountryCode ||
				w.Active != l.Active || !w.UpdatedAt.Equal(l.UpdatedAt) {
				t.Errorf("location %d mapped to %+v, want %+v", l.ID, w, l)
			}
		}
	})

	t.Run("inventory", func(t *testing.T) {
		res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory})
		if d := duplicates(res.Records); len(d) > 0 {
			t.Errorf("levels emitted twice: %v", d)
		}
		b := mapRecords(t, v1alpha1.DataInventory, res.Records)
		got := map[string]tether.InventoryLevel{}
		for _, l := range b.InventoryLevels {
			got[l.ExternalID] = l
		}
		if len(got) != len(cat.Levels) {
			t.Fatalf("read %d levels, the store has %d", len(got), len(cat.Levels))
		}
		skus := map[int64]string{}
		for _, v := range cat.Variants() {
			skus[v.ID] = v.SKU
		}
		for _, l := range cat.Levels {
			id := InventoryLevelID(fmt.Sprint(l.VariantID), fmt.Sprint(l.LocationID))
			g := got[id]
			if g.SKUExternalID != fmt.Sprint(l.VariantID) || g.SKUCode != skus[l.VariantID] || g.WarehouseExternalID != fmt.Sprint(l.LocationID) ||
				g.Available != int64(l.Available) || g.OnHand != int64(l.OnHand) {
				t.Fatalf("level %s mapped to %+v, want %+v", id, g, l)
			}
		}
	})
}

func TestIncrementalReadReturnsOnlyWhatChanged(t *testing.T) {
	clk := newClock()
	e := newEnv(t, SandboxOptions{Seed: 3, Orders: 400, Products: 60, Locations: 2, Now: clk.Now})
	c := e.connector(t, e.sb.AccessToken())
	smallPages(c)

	full := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	var watermark time.Time
	for _, r := range full.Records {
		if r.UpdatedAt.After(watermark) {
			watermark = r.UpdatedAt
		}
	}
	clk.Advance(time.Hour)
	ids := e.sb.OrderIDs()
	touched := map[string]bool{}
	for _, id := range []int64{ids[0], ids[17], ids[250], ids[399]} {
		e.sb.TouchOrder(id)
		touched[fmt.Sprint(id)] = true
	}
	e.sb.TouchProduct(e.sb.Catalog().Products[5].ID)

	// The engine reads from the watermark less an overlap; a minute of overlap here.
	since := watermark.Add(-time.Minute)
	inc := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: since})
	for id := range touched {
		if r, ok := inc.ByID[id]; !ok || !r.UpdatedAt.Equal(clk.Now()) {
			t.Errorf("touched order %s: read %v with UpdatedAt %v, want %v", id, ok, r.UpdatedAt, clk.Now())
		}
	}
	for _, r := range inc.Records {
		if !touched[r.ID] && r.UpdatedAt.Before(since) {
			t.Errorf("order %s modified %v is older than since %v", r.ID, r.UpdatedAt, since)
		}
	}
	if len(inc.Records) > len(touched)+5 {
		t.Errorf("an incremental read returned %d orders for %d changes", len(inc.Records), len(touched))
	}
	if n := len(full.Records); len(inc.Records) >= n/10 {
		t.Errorf("incremental read returned %d of %d orders", len(inc.Records), n)
	}

	prod := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts, Since: clk.Now().Add(-time.Minute)})
	want := len(e.sb.Catalog().Products[5].Variants)
	if len(prod.Records) != want {
		t.Errorf("products changed since the touch: %d variant records, want %d", len(prod.Records), want)
	}
	for _, r := range prod.Records {
		if r.Data["product_id"] != float64(e.sb.Catalog().Products[5].ID) {
			t.Errorf("variant %s of an unchanged product read", r.ID)
		}
	}
}

func TestResumeContinuesRightAfterTheCommittedPage(t *testing.T) {
	cases := []struct {
		entity     connectors.Entity
		crashAfter int
	}{
		{v1alpha1.DataOrders, 3},
		{v1alpha1.DataProducts, 2},
		{v1alpha1.DataLocations, 1},
		{v1alpha1.DataInventory, 4},
	}
	for _, tc := range cases {
		t.Run(string(tc.entity), func(t *testing.T) {
			e := newEnv(t, SandboxOptions{})
			c := e.connector(t, e.sb.AccessToken())
			smallPages(c)
			all := mustRead(t, c, connectors.ReadRequest{Entity: tc.entity})

			first, err := read(t, c, connectors.ReadRequest{Entity: tc.entity}, tc.crashAfter, nil)
			if err != connectortest.ErrCrash {
				t.Fatalf("first read: %v, want the crash", err)
			}
			before := e.sb.Requests()
			rest := mustRead(t, c, connectors.ReadRequest{Entity: tc.entity, Resume: first.LastResume()})
			for id := range all.ByID {
				_, a := first.ByID[id]
				_, b := rest.ByID[id]
				if !a && !b {
					t.Fatalf("record %s was in neither the interrupted read nor its resumption", id)
				}
			}
			for id := range rest.ByID {
				if _, again := first.ByID[id]; again {
					t.Errorf("record %s of a committed page was read again", id)
				}
			}
			if len(first.Records)+len(rest.Records) != len(all.Records) {
				t.Errorf("%d + %d records, want %d", len(first.Records), len(rest.Records), len(all.Records))
			}
			if tc.entity == v1alpha1.DataOrders && e.sb.Requests()-before > int64(len(rest.Records))+int64(len(rest.Pages))*2+2 {
				t.Errorf("the resumed read sent %d requests for %d orders", e.sb.Requests()-before, len(rest.Records))
			}
		})
	}
}

func TestAnUnusableResumeTokenStartsOverFromSince(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.sb.AccessToken())
	for _, tok := range []string{"not json", `{"entity":"Products","page":3}`} {
		res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: tok})
		if len(res.ByID) != len(e.sb.Catalog().Orders) {
			t.Errorf("resume %q: read %d orders, want all %d", tok, len(res.ByID), len(e.sb.Catalog().Orders))
		}
	}
}

func TestOrdersChangingDuringAReadDoNotHideOthers(t *testing.T) {
	// Page-number paging over a date_modified sort skips one unread order for every read order that changes
	// mid-read; the moving lower bound does not.
	clk := newClock()
	e := newEnv(t, SandboxOptions{Seed: 11, Orders: 300, Products: 30, Locations: 2, Now: clk.Now})
	c := e.connector(t, e.sb.AccessToken())
	c.PageSizes.Orders = 25
	var emitted []string
	res, err := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Records {
		emitted = append(emitted, r.ID)
	}
	clk.Advance(time.Minute)
	res, err = read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0, func(n int) {
		if n%2 == 1 {
			// Three orders of the page just emitted change and jump to the end of the sort.
			for _, id := range emitted[(n-1)*25 : (n-1)*25+3] {
				v, _ := strconv.ParseInt(id, 10, 64)
				e.sb.TouchOrder(v)
			}
			clk.Advance(time.Second)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ByID) != 300 {
		t.Fatalf("read %d distinct orders while some changed, want all 300", len(res.ByID))
	}
}

func TestEmptyOrderListIsNoContent(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.sb.AccessToken())
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: time.Now().Add(24 * time.Hour)})
	if len(res.Records) != 0 {
		t.Errorf("read %d orders modified in the future", len(res.Records))
	}
	var sawNoContent bool
	for _, l := range e.sb.Log() {
		if l.Path == "/stores/"+e.sb.StoreHash()+"/v2/orders" && l.Status == http.StatusNoContent && len(l.Body) == 0 {
			sawNoContent = true
		}
	}
	if !sawNoContent {
		t.Error("the empty order list was not a 204 No Content")
	}
}

func TestAnIgnoredDateFilterNeverWidensTheRead(t *testing.T) {
	// BigCommerce ignores a min_date_modified it cannot parse and returns every order. A proxy that mangles
	// the filter stands in for that here: the connector still emits only orders modified since.
	e := newEnv(t, SandboxOptions{})
	mangling := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Has("min_date_modified") {
			q.Set("min_date_modified", "last tuesday")
			r.URL.RawQuery = q.Encode()
		}
		e.sb.ServeHTTP(w, r)
	}))
	defer mangling.Close()
	e.srv = mangling
	c := e.connector(t, e.sb.AccessToken())
	orders := e.sb.Catalog().Orders
	since := orders[len(orders)/2].UpdatedAt
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: since})
	want := 0
	for _, o := range orders {
		if !o.UpdatedAt.Before(since) {
			want++
		}
	}
	if len(res.Records) != want {
		t.Errorf("read %d orders, want the %d modified since %v", len(res.Records), want, since)
	}
}

func TestPageSizesAboveTheMaximumAreCut(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.sb.AccessToken())
	c.PageSizes = PageSizes{Orders: 1000, OrderProducts: 1000, Products: 1000, Inventory: 5000}
	for _, ent := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataInventory} {
		mustRead(t, c, connectors.ReadRequest{Entity: ent})
	}
	for _, l := range e.sb.Log() {
		n, _ := strconv.Atoi(l.Query.Get("limit"))
		max := maxPageSize
		if strings.HasSuffix(l.Path, "/inventory/items") {
			max = maxInventoryPageSize
		}
		if n > max {
			t.Errorf("%s asked for limit=%d, above BigCommerce's %d", l.Path, n, max)
		}
	}
}

func TestServerErrorsAndResetsAreRetried(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.sb.AccessToken())
	c.PageSizes.Orders = 50
	res, err := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0, func(n int) {
		switch n {
		case 1:
			e.sb.FailNext(2, http.StatusServiceUnavailable)
		case 2:
			e.sb.ResetNext(1)
			e.sb.FailNext(1, http.StatusBadGateway)
		}
	})
	if err != nil {
		t.Fatalf("read failed despite retries: %v", err)
	}
	if len(res.ByID) != len(e.sb.Catalog().Orders) || len(duplicates(res.Records)) != 0 {
		t.Errorf("read %d orders (%d duplicates), want each of %d once", len(res.ByID), len(duplicates(res.Records)), len(e.sb.Catalog().Orders))
	}
	// Three injected error statuses are retried by the client; net/http itself resends a GET whose reused
	// connection was dropped before any answer, so the reset may not reach the client's counters.
	if s := c.Stats(); s.Retries < 3 {
		t.Errorf("retries = %d, want at least 3", s.Retries)
	}

	// A failure that outlasts the retries is transient, for the engine to retry later.
	e.sb.FailNext(50, http.StatusInternalServerError)
	err = c.Check(context.Background())
	if class, reason := connectors.Classify(err); class != connectors.ClassTransient || reason != "PlatformUnavailable" {
		t.Errorf("persistent 500: %v (%v/%s), want Transient/PlatformUnavailable", err, class, reason)
	}
}

func TestPacingStaysUnderTheQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("paces real time")
	}
	rl := RateLimit{Quota: 40, Window: 500 * time.Millisecond}
	e := newEnv(t, SandboxOptions{Seed: 5, Orders: 120, Products: 20, Locations: 2, RateLimit: rl})
	c := e.connector(t, e.sb.AccessToken())
	c.PageSizes.Orders = 30
	start := time.Now()
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	elapsed := time.Since(start)
	if len(res.ByID) != 120 {
		t.Fatalf("read %d orders, want 120", len(res.ByID))
	}
	reqs := e.sb.Requests()
	// Fixed windows allow one quota at once, then a quota per window.
	floor := time.Duration(float64(reqs-int64(rl.Quota)) / float64(rl.Quota) * float64(rl.Window))
	if e.sb.Throttled() != 0 || c.Stats().RateLimited != 0 {
		t.Errorf("%d requests throttled; pacing from the headers should avoid every 429", e.sb.Throttled())
	}
	if elapsed < floor {
		t.Errorf("%d requests in %v: faster than the quota allows (%v)", reqs, elapsed, floor)
	}
	if pace := time.Duration(float64(reqs) / float64(rl.Quota) * float64(rl.Window)); elapsed > 3*pace+2*time.Second {
		t.Errorf("%d requests in %v: far below the quota's pace (%v)", reqs, elapsed, pace)
	}
	var withRemaining int
	for _, p := range res.Pages[:len(res.Pages)-1] {
		if p.Remaining > 0 {
			withRemaining++
		}
	}
	if withRemaining == 0 {
		t.Error("no page of a rate-limited read estimated its Remaining time")
	}
	t.Logf("%d requests in %v at %d per %v; waited %v", reqs, elapsed, rl.Quota, rl.Window, c.Stats().PaceWait)
}

func TestQuotaSpentByOtherAppsSlowsTheReadWhichStillFinishes(t *testing.T) {
	if testing.Short() {
		t.Skip("paces real time")
	}
	rl := RateLimit{Quota: 40, Window: 500 * time.Millisecond}
	e := newEnv(t, SandboxOptions{Seed: 5, Orders: 90, Products: 20, Locations: 2, RateLimit: rl, OtherApps: 30})
	c := e.connector(t, e.sb.AccessToken())
	res, err := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0, func(n int) {
		// Another app spends the rest of the window at once: the client's view is stale, and it gets 429s.
		e.sb.SpendQuota(rl.Quota)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ByID) != 90 || len(duplicates(res.Records)) != 0 {
		t.Fatalf("read %d orders (%d twice), want each of 90 once", len(res.ByID), len(duplicates(res.Records)))
	}
	s := c.Stats()
	if e.sb.Throttled() == 0 || s.RateLimited == 0 || s.Retries < s.RateLimited {
		t.Errorf("sandbox throttled %d, client saw %d 429s and retried %d times; want the 429s seen and retried",
			e.sb.Throttled(), s.RateLimited, s.Retries)
	}
	if s.PaceWait == 0 {
		t.Error("the client never waited for the window")
	}
	t.Logf("429s %d, retries %d, waited %v", s.RateLimited, s.Retries, s.PaceWait)
}

func TestOrderRecordsCarryRFC3339DatesAndTheirLines(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.sb.AccessToken())
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	for _, r := range res.Records[:20] {
		for _, f := range []string{"date_created", "date_modified"} {
			if _, err := time.Parse(time.RFC3339, r.Data[f].(string)); err != nil {
				t.Errorf("order %s %s = %v, want RFC 3339", r.ID, f, r.Data[f])
			}
		}
		if lines, ok := r.Data["line_items"].([]any); !ok || len(lines) == 0 {
			t.Errorf("order %s has no line_items list", r.ID)
		}
		if _, ok := r.Data["total_inc_tax"].(string); !ok {
			t.Errorf("order %s total_inc_tax is %T, want BigCommerce's money string", r.ID, r.Data["total_inc_tax"])
		}
	}
}

func TestSandboxExpectedMatchesItsData(t *testing.T) {
	sb := newRegisteredSandbox(connectors.SandboxOptions{Seed: 7, Orders: 120, Products: 10, Locations: 3, Unlimited: true})
	got := sb.Expected()
	cat := sb.(registeredSandbox).Catalog()
	variants := len(cat.Variants())
	want := map[tether.Kind]int64{tether.KindSalesOrder: 120, tether.KindSalesOrderLine: int64(cat.LineCount()),
		tether.KindSKU: int64(variants), tether.KindWarehouse: 3, tether.KindInventoryLevel: int64(variants * 3)}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("Expected()[%s] = %d, want %d", k, got[k], n)
		}
	}
	if cs := sb.Connection("http://x").StoreHash; cs != DefaultSandboxStoreHash {
		t.Errorf("Connection store hash %q", cs)
	}
	sb.TouchOrders(2)
	rs := sb.(registeredSandbox)
	for _, id := range rs.OrderIDs()[:2] {
		if o := rs.orders[id]; time.Since(o.UpdatedAt) > 2*time.Second {
			t.Errorf("TouchOrders(2) left order %d modified at %v", id, o.UpdatedAt)
		}
	}
}

func TestLineFetchFailuresKeepTheirMeaning(t *testing.T) {
	t.Run("a revoked token while fetching lines is an auth error", func(t *testing.T) {
		e := newEnv(t, SandboxOptions{})
		c := e.connector(t, e.sb.AccessToken())
		c.PageSizes.Orders = 50
		_, err := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0, func(n int) {
			if n == 1 {
				e.sb.FailNext(1, http.StatusUnauthorized)
			}
		})
		if class, _ := connectors.Classify(err); class != connectors.ClassAuth {
			t.Errorf("err = %v (%v), want the 401's Auth class, not a cancellation", err, class)
		}
	})
	t.Run("an order archived between the list and its lines is skipped", func(t *testing.T) {
		e := newEnv(t, SandboxOptions{})
		archived := fmt.Sprint(e.sb.OrderIDs()[42])
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/v2/orders/"+archived+"/products") {
				writeV2Error(w, http.StatusNotFound, "The requested resource was not found.")
				return
			}
			e.sb.ServeHTTP(w, r)
		}))
		defer proxy.Close()
		e.srv = proxy
		res := mustRead(t, e.connector(t, e.sb.AccessToken()), connectors.ReadRequest{Entity: v1alpha1.DataOrders})
		if _, ok := res.ByID[archived]; ok || len(res.ByID) != len(e.sb.Catalog().Orders)-1 {
			t.Errorf("read %d orders (archived one included: %v), want all but the archived one", len(res.ByID), ok)
		}
	})
}
