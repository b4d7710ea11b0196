package ebay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
	"github.com/tether/integration-operator/connectors/sandboxkit"
	"github.com/tether/integration-operator/internal/mapping"
	"github.com/tether/integration-operator/internal/tether"
)

func TestRegistered(t *testing.T) {
	p := connectortest.Registered(t, v1alpha1.PlatformEBay, v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory)
	if fmt.Sprint(p.CredentialKeys) != "[clientID clientSecret refreshToken]" {
		t.Errorf("CredentialKeys = %v", p.CredentialKeys)
	}
	if p.MaxHistory != 2*365*24*time.Hour {
		t.Errorf("MaxHistory = %v, want two years", p.MaxHistory)
	}
	if _, err := mapping.Compile(p.DefaultMapping, nil); err != nil {
		t.Errorf("DefaultMapping does not compile: %v", err)
	}
}

func TestNewRequiresEveryCredential(t *testing.T) {
	full := map[string][]byte{CredentialClientID: []byte("id"), CredentialClientSecret: []byte("secret"), CredentialRefreshToken: []byte("rt")}
	for _, missing := range []string{CredentialClientID, CredentialClientSecret, CredentialRefreshToken} {
		t.Run(missing, func(t *testing.T) {
			creds := map[string][]byte{}
			for k, v := range full {
				if k != missing {
					creds[k] = v
				}
			}
			creds[missing] = []byte("  \n")
			_, err := New(connectors.Config{Credentials: creds, HTTPClient: http.DefaultClient, Log: logr.Discard()})
			class, reason := connectors.Classify(err)
			if err == nil || class != connectors.ClassAuth || reason != v1alpha1.ReasonCredentialsNotFound || !strings.Contains(err.Error(), missing) {
				t.Fatalf("err = %v (class %v, reason %s), want Auth/CredentialsNotFound naming %s", err, class, reason, missing)
			}
		})
	}
	c, err := New(connectors.Config{Credentials: full, HTTPClient: http.DefaultClient})
	if _, tokenURL := endpoints(v1alpha1.Connection{}); err != nil || c.base != DefaultEndpoint || tokenURL != DefaultEndpoint+"/identity/v1/oauth2/token" {
		t.Fatalf("default endpoint: %v %+v", err, c)
	}
	c, _ = New(connectors.Config{Credentials: full, Connection: v1alpha1.Connection{Endpoint: "http://proxy:8080/"}})
	if c.base != "http://proxy:8080" {
		t.Errorf("endpoint override = %s", c.base)
	}
	_, err = New(connectors.Config{Credentials: full, Connection: v1alpha1.Connection{Endpoint: "ftp://x"}})
	if class, _ := connectors.Classify(err); class != connectors.ClassTerminal {
		t.Errorf("bad endpoint: %v", err)
	}
}

func TestAuthRejected(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	const secret = "SECRET-VALUE-never-shown"
	cases := []struct {
		name       string
		creds      map[string][]byte
		before     func()
		wantReason string
	}{
		{"wrong client secret", map[string][]byte{CredentialClientID: []byte(e.sb.ClientID()),
			CredentialClientSecret: []byte(secret), CredentialRefreshToken: []byte(e.sb.RefreshToken())}, nil, v1alpha1.ReasonUnauthorized},
		{"unknown refresh token", map[string][]byte{CredentialClientID: []byte(e.sb.ClientID()),
			CredentialClientSecret: []byte(e.sb.ClientSecret()), CredentialRefreshToken: []byte(secret)}, nil, v1alpha1.ReasonTokenRevoked},
		{"consent revoked", nil, e.sb.RevokeRefreshToken, v1alpha1.ReasonTokenRevoked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.connector(t, tc.creds)
			if tc.before != nil {
				tc.before()
			}
			for name, err := range map[string]error{
				"check": c.Check(context.Background()),
				"read": func() error {
					_, err := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0)
					return err
				}(),
			} {
				class, reason := connectors.Classify(err)
				if class != connectors.ClassAuth || reason != tc.wantReason {
					t.Errorf("%s: err = %v (class %v, reason %s), want Auth/%s", name, err, class, reason, tc.wantReason)
				}
				for _, v := range []string{secret, e.sb.ClientSecret(), e.sb.RefreshToken()} {
					if err != nil && strings.Contains(err.Error(), v) {
						t.Errorf("%s: error exposes a credential: %v", name, err)
					}
				}
			}
		})
	}

	// eBay's exact 401 for a call without a valid access token.
	for _, header := range []string{"", "Bearer v^1.1#not-a-token"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+ordersPath, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body apiErrors
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 401 || len(body.Errors) != 1 || body.Errors[0].ErrorID != 1001 || body.Errors[0].Domain != "OAuth" ||
			body.Errors[0].Category != "REQUEST" || body.Errors[0].Message != "Invalid access token" {
			t.Errorf("Authorization %q: HTTP %d %+v", header, resp.StatusCode, body)
		}
	}
}

func TestInsufficientScopeIsAuth(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	e.sb.SetGrantedScopes(ScopeFulfillment)
	c := e.connector(t, nil)
	err := c.Check(context.Background())
	if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != "InsufficientScope" {
		t.Fatalf("refresh asking for an ungranted scope: %v (%v %s)", err, class, reason)
	}
	// Asking only for what was granted works for orders; the inventory API then answers 403.
	c, err = New(connectors.Config{Connection: v1alpha1.Connection{Endpoint: e.srv.URL}, HTTPClient: e.srv.Client(), Log: logr.Discard(),
		Tokens: &connectors.Keeper{Flow: OAuth, App: connectors.App{Connection: v1alpha1.Connection{Endpoint: e.srv.URL},
			Credentials: e.credentials(), HTTPClient: e.srv.Client()},
			Store: connectors.NewMemoryTokenStore(connectors.Token{RefreshToken: e.sb.RefreshToken(), Scope: ScopeFulfillment})}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("Check with the granted scope: %v", err)
	}
	_, err = read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations}, 0)
	if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != "AccessDenied" {
		t.Errorf("locations without the inventory scope: %v (%v %s)", err, class, reason)
	}
}

// clock is a settable clock shared by a sandbox and a connector.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestAccessTokenLifecycle(t *testing.T) {
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	e := newEnv(t, SandboxOptions{Seed: 1, Orders: 50, Products: 5, Locations: 2, Now: clk.Now, End: clk.Now()})
	c := e.connector(t, nil)
	c.now = clk.Now
	c.tokens.(*connectors.Keeper).Now = clk.Now
	ctx := context.Background()

	// Concurrent first calls share one refresh.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.Check(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sb.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for 8 concurrent calls, want 1", n)
	}
	steps := []struct {
		name      string
		act       func()
		wantTotal int64
	}{
		{"an hour later the token is reused", func() { clk.Advance(time.Hour) }, 1},
		{"four minutes before expiry it is refreshed ahead", func() { clk.Advance(56 * time.Minute) }, 2},
		{"a token eBay stopped accepting is replaced once", e.sb.ExpireAccessTokens, 3},
	}
	for _, s := range steps {
		s.act()
		if err := c.Check(ctx); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if n := e.sb.TokenRequests(); n != s.wantTotal {
			t.Errorf("%s: %d token requests, want %d", s.name, n, s.wantTotal)
		}
	}
	for _, r := range e.sb.RequestLog() {
		if r.Auth != "Bearer" {
			t.Errorf("%s sent with Authorization scheme %q", r.Path, r.Auth)
		}
	}
}

func assertOrders(t *testing.T, sb *Sandbox, byID map[string]connectors.Record) {
	t.Helper()
	orders := sb.ListedOrders()
	if len(byID) != len(orders) {
		t.Fatalf("read %d orders, getOrders lists %d", len(byID), len(orders))
	}
	for _, o := range orders {
		id := orderID(o.ID)
		r, ok := byID[id]
		if !ok {
			t.Fatalf("order %s not read", id)
		}
		if !r.UpdatedAt.Equal(o.UpdatedAt) {
			t.Errorf("%s UpdatedAt = %v, want %v", id, r.UpdatedAt, o.UpdatedAt)
		}
		total := r.Data["pricingSummary"].(map[string]any)["total"].(map[string]any)
		if total["value"] != sandboxkit.Money(o.Total()) || total["currency"] != o.Currency {
			t.Errorf("%s total = %v, want %s %s", id, total, sandboxkit.Money(o.Total()), o.Currency)
		}
		lines, _ := r.Data["lineItems"].([]any)
		if len(lines) != len(o.Lines) {
			t.Fatalf("%s has %d line items, want %d", id, len(lines), len(o.Lines))
		}
		for i, l := range o.Lines {
			lm := lines[i].(map[string]any)
			if lm["lineItemId"] != lineItemID(l.ID) || lm["sku"] != l.SKU || lm["quantity"] != float64(l.Quantity) ||
				lm["unitPrice"].(map[string]any)["value"] != sandboxkit.Money(l.PriceCents) {
				t.Errorf("%s line %d = %v, want %+v", id, i, lm, l)
			}
		}
	}
}

func TestOrdersReadEveryListedOrderOnce(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	res := mustRead(t, pagedConnector(t, e), connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.records) != len(res.byID) {
		t.Errorf("%d records for %d orders: some were read twice", len(res.records), len(res.byID))
	}
	assertOrders(t, e.sb, res.byID)
	if want := (len(e.sb.ListedOrders()) + 36) / 37; len(res.pages) != want {
		t.Errorf("%d pages, want %d of 37", len(res.pages), want)
	}
	pending := e.sb.PendingOrders()
	if len(pending) == 0 {
		t.Fatal("the seed has no orders awaiting payment")
	}
	for _, id := range pending {
		if _, ok := res.byID[orderID(id)]; ok {
			t.Errorf("order %s awaiting payment was listed", orderID(id))
		}
	}
	for _, r := range e.sb.RequestLog() {
		if r.Path != ordersPath {
			continue
		}
		if got := r.Query.Get("limit"); got != "37" {
			t.Errorf("limit = %s", got)
		}
		if !strings.Contains(r.RawQuery, "filter=lastmodifieddate:%5B") {
			t.Errorf("filter not percent-encoded as eBay requires: %s", r.RawQuery)
		}
	}
}

func TestIncrementalReadsOnlyChangedOrders(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := pagedConnector(t, e)
	full := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	cursor := maxUpdated(full)

	orders := e.sb.ListedOrders()
	changed := map[string]bool{}
	for _, o := range []sandboxkit.Order{orders[3], orders[100], orders[250]} {
		id, ok := e.sb.TouchOrder(o.ID)
		if !ok {
			t.Fatal("TouchOrder failed")
		}
		changed[id] = true
	}
	paid, ok := e.sb.PayOrder(e.sb.PendingOrders()[0])
	if !ok {
		t.Fatal("PayOrder failed")
	}
	changed[paid] = true

	inc := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: cursor.Add(time.Millisecond)})
	if len(inc.byID) != len(changed) {
		t.Errorf("incremental read returned %d orders, want the %d changed", len(inc.byID), len(changed))
	}
	for id := range changed {
		if _, ok := inc.byID[id]; !ok {
			t.Errorf("changed order %s not read", id)
		}
	}
	// A read from after the newest change returns nothing unchanged. (When that moment is still in the
	// future, getOrders refuses it, so the connector reads from now less the clock skew allowance and may see
	// the just-changed orders again: harmless, since the store upserts.)
	again := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: maxUpdated(inc).Add(time.Millisecond)})
	for _, r := range again.records {
		if !changed[r.ID] {
			t.Errorf("a read after the newest change returned unchanged order %s", r.ID)
		}
	}
}

func TestOrderModifiedDuringALongPassIsCaughtUp(t *testing.T) {
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	e := newEnv(t, SandboxOptions{Seed: 3, Orders: 300, Products: 20, Locations: 2, Now: clk.Now, End: clk.Now().Add(-time.Hour)})
	c := pagedConnector(t, e)
	c.now = clk.Now
	first := e.sb.ListedOrders()
	var touched string
	res, err := read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0, func(p connectors.Page) {
		if touched != "" {
			return
		}
		// An order on the first page changes after it was read, and the pass goes on for ten minutes.
		for _, o := range first {
			if orderID(o.ID) == p.Records[0].ID {
				touched, _ = e.sb.TouchOrder(o.ID)
			}
		}
		clk.Advance(10 * time.Minute)
	})
	if err != nil {
		t.Fatal(err)
	}
	if touched == "" {
		t.Fatal("no order was touched")
	}
	var seen []time.Time
	for _, r := range res.records {
		if r.ID == touched {
			seen = append(seen, r.UpdatedAt)
		}
	}
	if len(seen) != 2 || !seen[1].After(seen[0]) {
		t.Errorf("the order modified mid-pass was read at %v; want its old and its new version", seen)
	}
	assertOrders(t, e.sb, res.byID)
}

func TestSinceIsClampedToTwoYears(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, nil)
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: time.Now().AddDate(-5, 0, 0)})
	assertOrders(t, e.sb, res.byID)
	for _, r := range e.sb.RequestLog() {
		if r.Path != ordersPath {
			continue
		}
		f := r.Query.Get("filter")
		start, err := time.Parse(filterTimeLayout, strings.TrimSuffix(strings.TrimPrefix(f, "lastmodifieddate:["), "..]"))
		if err != nil {
			t.Fatalf("filter %q: %v", f, err)
		}
		if start.Before(time.Now().AddDate(-2, 0, 0)) {
			t.Errorf("asked for orders from %v, beyond eBay's two years", start)
		}
	}
	// eBay's own answer to an older bound is a terminal 400.
	err := c.get(context.Background(), ordersPath+"?filter="+ordersFilter(time.Now().AddDate(-3, 0, 0)), nil)
	if class, _ := connectors.Classify(err); class != connectors.ClassTerminal || !strings.Contains(err.Error(), "errorId 30830") {
		t.Errorf("three-year filter: %v (%v)", err, class)
	}
}

func TestSandboxEnforcesGetOrdersRules(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, nil)
	ok := ordersFilter(time.Now().Add(-24 * time.Hour))
	cases := []struct {
		name, query string
		wantError   int // 0: accepted
	}{
		{"limit 200", "filter=" + ok + "&limit=200", 0},
		{"limit 201 is an error, not a clamp", "filter=" + ok + "&limit=201", 31100},
		{"limit 0", "limit=0", 31100},
		{"negative offset", "offset=-1", 31000},
		{"seconds without milliseconds", "filter=lastmodifieddate:%5B2025-01-01T00:00:00Z..%5D", 30810},
		{"offset instead of Z", "filter=lastmodifieddate:%5B2025-01-01T00:00:00.000%2B00:00..%5D", 30810},
		{"brackets not percent-encoded", "filter=lastmodifieddate:[2025-01-01T00:00:00.000Z..]", 30800},
		{"no start", "filter=lastmodifieddate:%5B..2025-01-01T00:00:00.000Z%5D", 30820},
		{"start after end", "filter=lastmodifieddate:%5B2025-02-01T00:00:00.000Z..2025-01-01T00:00:00.000Z%5D", 30840},
		{"future", "filter=lastmodifieddate:%5B" + time.Now().Add(time.Hour).UTC().Format(filterTimeLayout) + "..%5D", 30850},
		{"unknown filter", "filter=updatedate:%5B2025-01-01T00:00:00.000Z..%5D", 30700},
		{"unsupported status set", "filter=orderfulfillmentstatus:%7BFULFILLED%7D", 30800},
		{"supported status set", "filter=orderfulfillmentstatus:%7BNOT_STARTED%7CIN_PROGRESS%7D", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.get(context.Background(), ordersPath+"?"+tc.query, nil)
			if tc.wantError == 0 {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			class, _ := connectors.Classify(err)
			if class != connectors.ClassTerminal || !strings.Contains(err.Error(), fmt.Sprintf("HTTP 400: errorId %d (API_FULFILLMENT)", tc.wantError)) {
				t.Fatalf("err = %v (%v), want a terminal 400 with errorId %d", err, class, tc.wantError)
			}
		})
	}
}

func TestProductsLocationsAndInventory(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := pagedConnector(t, e)
	products := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts})
	locs := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations})
	inv := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory})

	m, err := mapping.Compile(DefaultMapping(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var batch tether.Batch
	for entity, res := range map[connectors.Entity]readResult{v1alpha1.DataProducts: products, v1alpha1.DataLocations: locs, v1alpha1.DataInventory: inv} {
		if err := m.Apply(entity, res.records, &batch); err != nil {
			t.Fatalf("map %s: %v", entity, err)
		}
	}
	skus := map[string]tether.SKU{}
	for _, s := range batch.SKUs {
		skus[s.ExternalID] = s
	}
	nVariants := 0
	for _, p := range e.sb.Products() {
		for _, v := range p.Variants {
			nVariants++
			s, ok := skus[v.SKU]
			wantProduct := v.SKU
			if len(p.Variants) > 1 {
				wantProduct = groupKey(p.ID)
			}
			if !ok || s.Code != v.SKU || s.Name != p.Title || s.Barcode != v.Barcode || s.ProductID != wantProduct {
				t.Errorf("SKU %s = %+v, want product %s %q barcode %s", v.SKU, s, wantProduct, p.Title, v.Barcode)
			}
		}
	}
	if len(products.records) != nVariants || len(skus) != nVariants {
		t.Errorf("read %d product records (%d SKUs), want %d", len(products.records), len(skus), nVariants)
	}
	if len(products.pages) < 3 {
		t.Errorf("products in %d pages, want several at 9 a page", len(products.pages))
	}

	whs := map[string]tether.Warehouse{}
	for _, w := range batch.Warehouses {
		whs[w.ExternalID] = w
	}
	for _, l := range e.sb.Locations() {
		w := whs[l.Code]
		if w.Name != l.Name || w.Code != l.Code || w.Country != l.CountryCode || w.Active != l.Active {
			t.Errorf("warehouse %s = %+v, want %+v", l.Code, w, l)
		}
	}
	if len(whs) != len(e.sb.Locations()) || len(locs.pages) != len(e.sb.Locations()) {
		t.Errorf("%d warehouses in %d pages, want %d one a page", len(whs), len(locs.pages), len(e.sb.Locations()))
	}

	levels := map[string]tether.InventoryLevel{}
	for _, l := range batch.InventoryLevels {
		levels[l.ExternalID] = l
	}
	want := e.sb.Levels()
	keys := map[int64]string{}
	for _, l := range e.sb.Locations() {
		keys[l.ID] = l.Code
	}
	variantSKU := map[int64]string{}
	for _, p := range e.sb.Products() {
		for _, v := range p.Variants {
			variantSKU[v.ID] = v.SKU
		}
	}
	for _, l := range want {
		id := InventoryLevelID(variantSKU[l.VariantID], keys[l.LocationID])
		got, ok := levels[id]
		if !ok || got.Available != int64(l.Available) || got.SKUCode != variantSKU[l.VariantID] || got.WarehouseExternalID != keys[l.LocationID] {
			t.Errorf("level %s = %+v, want available %d", id, got, l.Available)
		}
	}
	if len(inv.records) != len(want) || len(levels) != len(want) {
		t.Errorf("read %d inventory records (%d levels), want %d", len(inv.records), len(levels), len(want))
	}
}

func TestOrdersMapToTether(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	res := mustRead(t, e.connector(t, nil), connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	m, err := mapping.Compile(DefaultMapping(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var batch tether.Batch
	if err := m.Apply(v1alpha1.DataOrders, res.records, &batch); err != nil {
		t.Fatal(err)
	}
	got := map[string]tether.SalesOrder{}
	for _, o := range batch.SalesOrders {
		got[o.ExternalID] = o
	}
	for _, o := range e.sb.ListedOrders() {
		so := got[orderID(o.ID)]
		wantStatus := fulfillmentStatus[o.Status]
		if o.Status == "cancelled" {
			wantStatus = "CANCELED"
		}
		if so.OrderID != orderID(o.ID) || so.Status != wantStatus || so.Currency != o.Currency || so.Total != sandboxkit.Money(o.Total()) ||
			!so.OrderedAt.Equal(o.CreatedAt) || !so.UpdatedAt.Equal(o.UpdatedAt) || len(so.Lines) != len(o.Lines) {
			t.Fatalf("order %s = %+v, want %+v", orderID(o.ID), so, o)
		}
		for i, l := range o.Lines {
			sl := so.Lines[i]
			if sl.ExternalID != lineItemID(l.ID) || sl.SKUExternalID != l.SKU || sl.SKUCode != l.SKU ||
				sl.Quantity != int64(l.Quantity) || sl.Price != sandboxkit.Money(l.PriceCents) {
				t.Errorf("order %s line %d = %+v, want %+v", so.OrderID, i, sl, l)
			}
		}
	}
}

func TestRateLimitedReadSlowsDownAndFinishesExactly(t *testing.T) {
	e := newEnv(t, SandboxOptions{RateLimit: RateLimit{PerSecond: 20, Burst: 2}})
	c := pagedConnector(t, e)
	c.PageSizes.Orders = 8
	// Backoff long enough for the bucket to refill between retries, like the production default (500ms up).
	c.client.BaseBackoff, c.client.MaxBackoff = 50*time.Millisecond, time.Second
	start := time.Now()
	res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	elapsed := time.Since(start)
	assertOrders(t, e.sb, res.byID)
	s := c.Stats()
	if s.RateLimited == 0 || e.sb.Throttled() == 0 {
		t.Fatalf("stats %+v, sandbox throttled %d: the limit was never hit", s, e.sb.Throttled())
	}
	if s.Rate < 12 || s.Rate > 25 {
		t.Errorf("pace after throttling = %.1f/s, want near the sandbox's 20/s", s.Rate)
	}
	if res.pages[len(res.pages)-3].Remaining <= 0 {
		t.Errorf("a paced read reports no Remaining estimate")
	}
	t.Logf("%d pages in %v, %d requests, %d throttled, pace %.1f/s", len(res.pages), elapsed, s.Requests, s.RateLimited, s.Rate)

	// Paced, a second read stays under the limit.
	again := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	assertOrders(t, e.sb, again.byID)
	if n := c.Stats().RateLimited - s.RateLimited; n > 3 {
		t.Errorf("the paced read was throttled %d times", n)
	}
}

func TestRetriesTransientFailures(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, nil)
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		inject func()
		want   connectors.Class // ClassTransient with a nil error means: recovered
		fails  bool
	}{
		{"500s and a reset are retried", func() { e.sb.FailNext(3, 500); e.sb.ResetNext(1) }, 0, false},
		{"a 429 is retried", func() { e.sb.FailNext(1, 429) }, 0, false},
		{"persistent 503s end transient", func() { e.sb.FailNext(6, 503) }, connectors.ClassTransient, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := c.Stats()
			tc.inject()
			err := c.Check(context.Background())
			if !tc.fails {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if c.Stats().Retries == before.Retries {
					t.Error("no retries counted")
				}
				return
			}
			if class, _ := connectors.Classify(err); err == nil || class != tc.want {
				t.Errorf("err = %v (%v), want %v", err, class, tc.want)
			}
		})
	}
	e2 := newEnv(t, SandboxOptions{})
	c2 := pagedConnector(t, e2)
	e2.sb.FailNext(2, 502)
	res := mustRead(t, c2, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	assertOrders(t, e2.sb, res.byID)
}

func TestResumeFromMidReadToken(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := pagedConnector(t, e)
	for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataInventory, v1alpha1.DataLocations} {
		t.Run(string(entity), func(t *testing.T) {
			full := mustRead(t, c, connectors.ReadRequest{Entity: entity})
			first, err := read(t, c, connectors.ReadRequest{Entity: entity}, 2)
			if !errors.Is(err, errCrash) {
				t.Fatalf("first run: %v", err)
			}
			// A new process: a new connector, resuming.
			next := pagedConnector(t, e)
			rest := mustRead(t, next, connectors.ReadRequest{Entity: entity, Resume: lastResume(first)})
			for id := range first.byID {
				if _, dup := rest.byID[id]; dup {
					t.Errorf("%s read again after resume", id)
				}
			}
			if n := len(first.byID) + len(rest.byID); n != len(full.byID) {
				t.Errorf("first %d + rest %d records, want %d", len(first.byID), len(rest.byID), len(full.byID))
			}
			for id := range full.byID {
				_, a := first.byID[id]
				_, b := rest.byID[id]
				if !a && !b {
					t.Errorf("%s missed across the resume", id)
				}
			}
		})
	}
}

func TestResumeTheAPINoLongerAcceptsStartsOver(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := pagedConnector(t, e)
	cases := map[string]string{
		"unreadable":             "not json",
		"bound beyond two years": resumeState{Since: time.Now().AddDate(-2, 0, -3), PassStart: time.Now(), Offset: 74}.String(),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			res := mustRead(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: tok})
			assertOrders(t, e.sb, res.byID)
		})
	}
}

func TestUnitPrice(t *testing.T) {
	cases := []struct {
		value string
		qty   float64
		want  string
	}{
		{"25.98", 2, "12.99"},
		{"10.00", 3, "3.333333"},
		{"7.50", 1, "7.50"},
		{"0.10", 4, "0.025"},
	}
	for _, tc := range cases {
		got, ok := unitPrice(map[string]any{"lineItemCost": map[string]any{"value": tc.value, "currency": "USD"}, "quantity": tc.qty})
		if !ok || got["value"] != tc.want || got["currency"] != "USD" {
			t.Errorf("%s / %v = %v, want %s", tc.value, tc.qty, got, tc.want)
		}
	}
	if _, ok := unitPrice(map[string]any{"lineItemCost": map[string]any{"value": "x"}, "quantity": 1.0}); ok {
		t.Error("a non-decimal cost made a unit price")
	}
}

func TestErrorBodyIsSummarised(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	resp, err := http.Get(e.srv.URL + "/sell/fulfillment/v1/nothing")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := errorSummary(body); !strings.HasPrefix(got, "errorId 2002 (ACCESS): Resource not found") {
		t.Errorf("summary = %s", got)
	}
}
