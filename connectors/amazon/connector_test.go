package amazon

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
	"github.com/tether/integration-operator/connectors/sandboxkit"
)

func TestRegistered(t *testing.T) {
	p := connectortest.Registered(t, v1alpha1.PlatformAmazon, v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory)
	if p.MaxHistory != 730*24*time.Hour {
		t.Errorf("MaxHistory = %v, want two years", p.MaxHistory)
	}
	if strings.Join(p.CredentialKeys, ",") != "clientID,clientSecret,refreshToken" {
		t.Errorf("CredentialKeys = %v", p.CredentialKeys)
	}
}

func TestNewValidatesCredentialsAndConnection(t *testing.T) {
	full := map[string][]byte{"clientID": []byte("id"), "clientSecret": []byte("s3cret"), "refreshToken": []byte("Atzr|x")}
	without := func(key string) map[string][]byte {
		m := map[string][]byte{}
		for k, v := range full {
			if k != key {
				m[k] = v
			}
		}
		return m
	}
	na := v1alpha1.Connection{Region: "NA", MarketplaceIDs: []string{"ATVPDKIKX0DER"}}
	cases := []struct {
		name       string
		conn       v1alpha1.Connection
		creds      map[string][]byte
		class      connectors.Class
		reason     string
		mention    string
		base, lwa  string
		apiVersion string
	}{
		{name: "no clientID", conn: na, creds: without("clientID"), class: connectors.ClassAuth, reason: "CredentialsNotFound", mention: "clientID"},
		{name: "no clientSecret", conn: na, creds: without("clientSecret"), class: connectors.ClassAuth, reason: "CredentialsNotFound", mention: "clientSecret"},
		{name: "no refreshToken", conn: na, creds: without("refreshToken"), class: connectors.ClassAuth, reason: "CredentialsNotFound", mention: "refreshToken"},
		{name: "no marketplaces", conn: v1alpha1.Connection{Region: "NA"}, creds: full, class: connectors.ClassTerminal, reason: "InvalidConfiguration", mention: "marketplaceIDs"},
		{name: "bad region", conn: v1alpha1.Connection{Region: "XX", MarketplaceIDs: []string{"ATVPDKIKX0DER"}}, creds: full, class: connectors.ClassTerminal, reason: "InvalidConfiguration", mention: "region"},
		{name: "bad api version", conn: v1alpha1.Connection{Region: "NA", MarketplaceIDs: []string{"ATVPDKIKX0DER"}, APIVersion: "2021-01-01"}, creds: full, class: connectors.ClassTerminal, reason: "InvalidConfiguration", mention: "apiVersion"},
		{name: "NA", conn: na, creds: full, base: "https://sellingpartnerapi-na.amazon.com", lwa: "https://api.amazon.com/auth/o2/token", apiVersion: "v0"},
		{name: "EU", conn: v1alpha1.Connection{Region: "EU", MarketplaceIDs: []string{"A1PA6795UKMFR9"}, APIVersion: "2026-01-01"}, creds: full, base: "https://sellingpartnerapi-eu.amazon.com", lwa: "https://api.amazon.com/auth/o2/token", apiVersion: "2026-01-01"},
		{name: "FE", conn: v1alpha1.Connection{Region: "FE", MarketplaceIDs: []string{"A1VC38T7YXB528"}}, creds: full, base: "https://sellingpartnerapi-fe.amazon.com", lwa: "https://api.amazon.com/auth/o2/token", apiVersion: "v0"},
		{name: "endpoint override", conn: v1alpha1.Connection{Region: "NA", MarketplaceIDs: []string{"ATVPDKIKX0DER"}, Endpoint: "http://sandbox:8080/"}, creds: full, base: "http://sandbox:8080", lwa: "http://sandbox:8080/auth/o2/token", apiVersion: "v0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(connectors.Config{Connection: tc.conn, Credentials: tc.creds, HTTPClient: http.DefaultClient, Log: logr.Discard()})
			if tc.reason != "" {
				class, reason := connectors.Classify(err)
				if err == nil || class != tc.class || reason != tc.reason || !strings.Contains(err.Error(), tc.mention) {
					t.Fatalf("err = %v (%v/%s), want %v/%s mentioning %s", err, class, reason, tc.class, tc.reason, tc.mention)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error exposes a credential: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.base != tc.base || tokenURL(tc.conn) != tc.lwa || c.apiVersion != tc.apiVersion {
				t.Errorf("base %s, token URL %s, version %s; want %s, %s, %s", c.base, tokenURL(tc.conn), c.apiVersion, tc.base, tc.lwa, tc.apiVersion)
			}
		})
	}
}

func TestAuthRejected(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	const secret = "amzn1.oa2-cs.v1.wrong-secret-value"
	cases := []struct {
		name   string
		mutate func(map[string][]byte)
		reason string
		revoke bool
	}{
		{"wrong client secret", func(m map[string][]byte) { m[CredentialClientSecret] = []byte(secret) }, "Unauthorized", false},
		{"wrong refresh token", func(m map[string][]byte) { m[CredentialRefreshToken] = []byte(secret) }, "TokenRevoked", false},
		{"authorisation revoked", func(map[string][]byte) {}, "TokenRevoked", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := e
			if tc.revoke {
				e = newEnv(t, SandboxOptions{})
				e.sb.Revoke()
			}
			creds := e.credentials()
			tc.mutate(creds)
			c := e.connector(t, creds, "")
			for name, err := range map[string]error{
				"check": c.Check(context.Background()),
				"read": func() error {
					_, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory}, 0)
					return err
				}(),
			} {
				class, reason := connectors.Classify(err)
				if class != connectors.ClassAuth || reason != tc.reason {
					t.Errorf("%s: err = %v (%v/%s), want Auth/%s", name, err, class, reason, tc.reason)
				}
				for _, v := range creds {
					if strings.Contains(err.Error(), string(v)) {
						t.Errorf("%s: error exposes a credential: %v", name, err)
					}
				}
			}
		})
	}
	// Without an access token, SP-API's exact 403 body.
	resp, err := http.Get(e.srv.URL + "/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER&LastUpdatedAfter=2025-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want := `{"errors":[{"code":"Unauthorized","details":"","message":"Access to requested resource is denied."}]}`
	if resp.StatusCode != 403 || strings.TrimSpace(string(body)) != want {
		t.Errorf("no token: HTTP %d %s", resp.StatusCode, body)
	}
}

func TestAccessTokenRefreshedOnExpiry(t *testing.T) {
	e := newEnv(t, SandboxOptions{TokenTTL: 10 * time.Minute})
	var shift time.Duration
	e.sb.Now = func() time.Time { return time.Now().Add(shift) }
	c := e.connector(t, e.credentials(), "")
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The sandbox's clock jumps past the token's expiry: the API answers 403, the connector renews once and
	// carries on.
	shift = 11 * time.Minute
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := c.Stats().TokenRefreshes; n != 2 {
		t.Errorf("%d token grants, want 2", n)
	}
	// A token about to expire is replaced before it is used.
	k := c.tokens.(*connectors.Keeper)
	tok, _ := k.Store.Load(context.Background())
	tok.Expiry = time.Now().Add(connectors.RefreshMargin / 2)
	_ = k.Store.Save(context.Background(), tok)
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().TokenRefreshes; n != 3 {
		t.Errorf("%d token grants, want 3 (refresh ahead of expiry)", n)
	}
}

func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials(), "")
	done := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			done <- c.Check(context.Background())
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Stats().TokenRefreshes; n != 1 {
		t.Errorf("%d grants for 8 concurrent callers, want 1", n)
	}
}

// assertOrders checks the records against the sandbox's catalog.
func assertOrders(t *testing.T, sb *Sandbox, byID map[string]connectors.Record) {
	t.Helper()
	cat := sb.Catalog()
	if len(byID) != len(cat.Orders) {
		t.Fatalf("read %d orders, sandbox has %d", len(byID), len(cat.Orders))
	}
	for i := range cat.Orders {
		o := &cat.Orders[i]
		mi, m := sb.orderMarket(o)
		id := amazonOrderID(o, mi)
		r, ok := byID[id]
		if !ok {
			t.Fatalf("order %s not read", id)
		}
		if !r.UpdatedAt.Equal(o.UpdatedAt) || r.Data["OrderStatus"] != v0Statuses[o.Status] || r.Data["MarketplaceId"] != m.ID {
			t.Errorf("%s: UpdatedAt %v status %v marketplace %v; want %v %s %s", id, r.UpdatedAt, r.Data["OrderStatus"], r.Data["MarketplaceId"], o.UpdatedAt, v0Statuses[o.Status], m.ID)
		}
		total, hasTotal := r.Data["OrderTotal"].(map[string]any)
		if o.Status == "pending" {
			if hasTotal {
				t.Errorf("%s: a pending order has a total", id)
			}
		} else if !hasTotal || total["Amount"] != sandboxkit.Money(o.Total()) || total["CurrencyCode"] != m.Currency {
			t.Errorf("%s: total %v, want %s %s", id, total, sandboxkit.Money(o.Total()), m.Currency)
		}
		items, _ := r.Data["OrderItems"].([]any)
		if len(items) != len(o.Lines) {
			t.Fatalf("%s: %d items, want %d", id, len(items), len(o.Lines))
		}
		for j, l := range o.Lines {
			it := items[j].(map[string]any)
			if it["OrderItemId"] != orderItemID(l.ID) || it["SellerSKU"] != l.SKU || it["QuantityOrdered"] != float64(l.Quantity) {
				t.Errorf("%s item %d = %v, want %+v", id, j, it, l)
			}
			unit, priced := it["UnitPrice"].(map[string]any)
			if o.Status != "pending" && (!priced || unit["Amount"] != sandboxkit.Money(l.PriceCents)) {
				t.Errorf("%s item %d unit price %v, want %s", id, j, it["UnitPrice"], sandboxkit.Money(l.PriceCents))
			}
		}
	}
}

func TestOrdersReadEveryOrderOnce(t *testing.T) {
	for _, version := range []string{APIVersionV0, APIVersion20260101} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t, SandboxOptions{Seed: 3, Orders: 250, Products: 20, Locations: 3, ItemsPerPage: 5})
			c := e.connector(t, e.credentials(), version)
			c.OrdersPerPage = 7
			res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: longAgo})
			if len(res.Records) != len(res.ByID) {
				t.Errorf("%d records for %d orders: some were read twice", len(res.Records), len(res.ByID))
			}
			assertOrders(t, e.sb, res.ByID)
			ops := e.sb.OperationCounts()
			if version == APIVersionV0 {
				if len(res.Pages) < 250/7 || ops[OpGetOrders] < 3 || ops[OpGetOrderItems] <= 250 {
					t.Errorf("%d pages, %v: want pages of 7 orders over 3 API pages and paged items", len(res.Pages), ops)
				}
			} else if ops[OpGetOrderItems] != 0 || ops[OpSearchOrders] != 3 {
				t.Errorf("operations %v: searchOrders returns items inline, in 3 pages", ops)
			}
			last := res.Pages[len(res.Pages)-1]
			if last.Remaining != 0 || res.Pages[0].Remaining <= 0 {
				t.Errorf("Remaining: first page %v, last %v; want an estimate, then 0", res.Pages[0].Remaining, last.Remaining)
			}
		})
	}
}

func TestIncrementalReadsOnlyChangedOrders(t *testing.T) {
	for _, version := range []string{APIVersionV0, APIVersion20260101} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t, SandboxOptions{})
			c := e.connector(t, e.credentials(), version)
			first := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: longAgo})
			var watermark time.Time
			for _, r := range first.Records {
				if r.UpdatedAt.After(watermark) {
					watermark = r.UpdatedAt
				}
			}
			for i := 0; i < 4; i++ {
				e.sb.TouchOrder(i * 10)
			}
			second := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: watermark.Add(time.Second)})
			if len(second.Records) != 4 {
				t.Fatalf("read %d orders after 4 changed", len(second.Records))
			}
			cat := e.sb.Catalog()
			for i := 0; i < 4; i++ {
				o := &cat.Orders[i*10]
				mi, _ := e.sb.orderMarket(o)
				if r, ok := second.ByID[amazonOrderID(o, mi)]; !ok || !r.UpdatedAt.Equal(o.UpdatedAt) {
					t.Errorf("changed order %d: %v", o.ID, r.UpdatedAt)
				}
			}
		})
	}
}

func TestOrdersSinceIsClampedToTwoYears(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials(), "")
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: longAgo})
	if len(res.ByID) != 150 {
		t.Errorf("read %d orders", len(res.ByID))
	}
	// Zero Since: the whole two years.
	res = connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.ByID) != 150 {
		t.Errorf("zero since: read %d orders", len(res.ByID))
	}
}

// TestSandboxWindowRules holds the sandbox to Amazon's date rules and the connector to its page-token
// encoding.
func TestSandboxWindowRules(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials(), "")
	token := accessToken(t, c)
	now := time.Now().UTC()
	get := func(rawQuery string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/orders/v0/orders?"+rawQuery, nil)
		req.Header.Set("x-amz-access-token", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	mk := "MarketplaceIds=" + strings.Join(e.sb.MarketplaceIDs(), ",")
	cases := []struct {
		name   string
		query  string
		status int
	}{
		{"window ends two minutes and more ago", mk + "&LastUpdatedAfter=" + isoTime(now.Add(-time.Hour)) + "&LastUpdatedBefore=" + isoTime(now.Add(-3*time.Minute)), 200},
		{"window ends less than two minutes ago", mk + "&LastUpdatedAfter=" + isoTime(now.Add(-time.Hour)) + "&LastUpdatedBefore=" + isoTime(now.Add(-time.Minute)), 400},
		{"older than two years", mk + "&LastUpdatedAfter=" + isoTime(now.Add(-MaxHistory-time.Hour)), 400},
		{"no start", mk, 400},
		{"created and updated mixed", mk + "&CreatedAfter=" + isoTime(now.Add(-time.Hour)) + "&LastUpdatedAfter=" + isoTime(now.Add(-time.Hour)), 400},
		{"page too big", mk + "&LastUpdatedAfter=" + isoTime(now.Add(-time.Hour)) + "&MaxResultsPerPage=101", 400},
		{"no marketplace", "LastUpdatedAfter=" + isoTime(now.Add(-time.Hour)), 400},
	}
	for _, tc := range cases {
		if status, body := get(tc.query); status != tc.status || status == 400 && !strings.Contains(body, `"code":"InvalidInput"`) {
			t.Errorf("%s: HTTP %d %s, want %d", tc.name, status, body, tc.status)
		}
	}
	// A NextToken holds '+', '/' and '='; sent without URL encoding it is refused, encoded it works.
	status, body := get(mk + "&LastUpdatedAfter=" + isoTime(now.Add(-MaxHistory+time.Hour)) + "&MaxResultsPerPage=5")
	var next string
	if i := strings.Index(body, `"NextToken":"`); status == 200 && i >= 0 {
		next = body[i+len(`"NextToken":"`):]
		next = next[:strings.IndexByte(next, '"')]
	}
	next = strings.ReplaceAll(next, `\u002b`, "+")
	if next == "" {
		t.Fatalf("no NextToken: %d %s", status, body)
	}
	if !strings.ContainsAny(next, "+/=") {
		t.Logf("this token has no reserved characters: %s", next)
	}
	if status, _ := get(mk + "&NextToken=" + url.QueryEscape(next)); status != 200 {
		t.Errorf("encoded NextToken: HTTP %d", status)
	}
	if strings.Contains(next, "+") {
		if status, _ := get(mk + "&NextToken=" + next); status != 400 {
			t.Errorf("unencoded NextToken with '+': HTTP %d, want 400", status)
		}
	}
}

func TestRateLimitHitClientSlowsAndFinishes(t *testing.T) {
	// The sandbox's getOrderItems bucket is smaller than the connector believes: the first burst trips it,
	// the connector backs off a refill interval per 429 and adopts the plan the sandbox reports.
	limits := DefaultRates()
	limits[OpGetOrderItems] = Rate{PerSecond: 40, Burst: 3}
	limits[OpGetOrders] = Rate{PerSecond: 40, Burst: 3}
	e := newEnv(t, SandboxOptions{Seed: 5, Orders: 60, Products: 10, Locations: 2, Limits: limits})
	c := e.connector(t, e.credentials(), "")
	c.Rates[OpGetOrderItems] = Rate{PerSecond: 400, Burst: 20}
	start := time.Now()
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: longAgo})
	assertOrders(t, e.sb, res.ByID)
	st := c.Stats()
	items := st.ByOperation[OpGetOrderItems]
	if items.RateLimited == 0 || items.Retries < items.RateLimited {
		t.Errorf("getOrderItems stats %+v: want 429s, each retried", items)
	}
	if got := c.client(OpGetOrderItems).Rate().PerSecond; got != 40 {
		t.Errorf("paced at %v/s after the sandbox reported 40/s", got)
	}
	if min := time.Duration(float64(60-3-20) / 40 * float64(time.Second)); time.Since(start) < min {
		t.Errorf("read took %v, faster than the bucket allows (%v)", time.Since(start), min)
	}
}

func TestPacedAtTheLimitNeverThrottled(t *testing.T) {
	limits := map[Operation]Rate{OpGetOrders: {PerSecond: 20, Burst: 2}, OpGetOrderItems: {PerSecond: 50, Burst: 5}, OpGetInventorySummaries: {PerSecond: 20, Burst: 2}, OpSearchOrders: {PerSecond: 20, Burst: 2}}
	e := newEnv(t, SandboxOptions{Seed: 5, Orders: 40, Products: 10, Locations: 2, Limits: limits})
	c := e.connector(t, e.credentials(), "")
	for op, r := range limits {
		c.Rates[op] = r
	}
	start := time.Now()
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: longAgo})
	elapsed := time.Since(start)
	if len(res.ByID) != 40 {
		t.Fatalf("read %d orders", len(res.ByID))
	}
	if st := c.Stats(); st.RateLimited != 0 {
		t.Errorf("%d responses throttled at the documented pace", st.RateLimited)
	}
	if want := time.Duration(float64(40-5) / 50 * float64(time.Second)); elapsed < want*9/10 {
		t.Errorf("read took %v; the bucket allows no less than %v", elapsed, want)
	}
}

func TestServerErrorsAndResetsRetried(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials(), "")
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.sb.Faults().FailNext(2, http.StatusServiceUnavailable)
	e.sb.Faults().ResetNext(1)
	e.sb.Faults().FailNext(1, http.StatusInternalServerError)
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: longAgo})
	assertOrders(t, e.sb, res.ByID)
	// Go's transport itself retries a GET whose reused connection was reset, so the reset may not reach the
	// client's counters.
	if st := c.Stats(); st.Retries < 3 {
		t.Errorf("%d retries for 3 failed responses and a reset", st.Retries)
	}
}

func TestResumeMidReadYieldsTheRest(t *testing.T) {
	cases := []struct {
		entity  connectors.Entity
		version string
		crash   int
	}{
		{v1alpha1.DataOrders, APIVersionV0, 5},  // inside the second API page of 100
		{v1alpha1.DataOrders, APIVersionV0, 15}, // exactly after the first API page (15 x 7 > 100)
		{v1alpha1.DataOrders, APIVersion20260101, 1},
		{v1alpha1.DataInventory, "", 2},
		{v1alpha1.DataProducts, "", 1},
	}
	for _, tc := range cases {
		t.Run(string(tc.entity)+"/"+tc.version, func(t *testing.T) {
			e := newEnv(t, SandboxOptions{Seed: 9, Orders: 250, Products: 40, Locations: 3})
			c := e.connector(t, e.credentials(), tc.version)
			c.OrdersPerPage = 7
			req := connectors.ReadRequest{Entity: tc.entity, Since: longAgo}
			full := connectortest.ReadAll(t, c, req)
			first, err := connectortest.Read(t, c, req, tc.crash)
			if err != connectortest.ErrCrash {
				t.Fatalf("first read: %v", err)
			}
			req.Resume = first.Pages[len(first.Pages)-1].Resume
			rest := connectortest.ReadAll(t, e.connector(t, e.credentials(), tc.version), req)
			for id := range full.ByID {
				if _, a := first.ByID[id]; !a {
					if _, b := rest.ByID[id]; !b {
						t.Fatalf("record %s lost across the resume", id)
					}
				}
			}
			if tc.entity == v1alpha1.DataProducts {
				// A resumed products read forgets which SKUs it emitted from earlier marketplaces: those sold
				// in several come again (the store skips them), but the rest of the read is not repeated.
				if len(rest.Records) > len(full.Records) {
					t.Errorf("resumed products read emitted %d records, more than a whole read (%d)", len(rest.Records), len(full.Records))
				}
				return
			}
			if len(first.Records)+len(rest.Records) != len(full.Records) {
				t.Errorf("%d + %d records around the resume, %d in one read: records were re-read or skipped",
					len(first.Records), len(rest.Records), len(full.Records))
			}
		})
	}
}

func TestExpiredFBANextTokenRestartsTheMarketplace(t *testing.T) {
	e := newEnv(t, SandboxOptions{Seed: 9, Orders: 20, Products: 60, Locations: 2})
	var shift time.Duration
	e.sb.Now = func() time.Time { return time.Now().Add(shift) }
	c := e.connector(t, e.credentials(), "")
	req := connectors.ReadRequest{Entity: v1alpha1.DataInventory}
	full := connectortest.ReadAll(t, c, req)
	first, err := connectortest.Read(t, c, req, 1)
	if err != connectortest.ErrCrash {
		t.Fatal(err)
	}
	shift = 31 * time.Second // past the nextToken's 30 seconds
	req.Resume = first.Pages[0].Resume
	rest := connectortest.ReadAll(t, c, req)
	if len(rest.ByID) != len(full.ByID) {
		t.Errorf("resumed with an expired token: %d levels, want the marketplace read again (%d)", len(rest.ByID), len(full.ByID))
	}
}

func TestFBAEntities(t *testing.T) {
	e := newEnv(t, SandboxOptions{Seed: 4, Orders: 10, Products: 30, Locations: 3})
	c := e.connector(t, e.credentials(), "")
	cat := e.sb.Catalog()
	variants := cat.Variants()

	inv := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory})
	if len(inv.ByID) != len(variants)*3 || len(inv.Records) != len(inv.ByID) {
		t.Fatalf("%d inventory records (%d unique), want %d", len(inv.Records), len(inv.ByID), len(variants)*3)
	}
	for i, l := range cat.Levels {
		var sku string
		for _, v := range variants {
			if v.ID == l.VariantID {
				sku = v.SKU
			}
		}
		mkt := e.sb.markets[(l.LocationID - cat.Locations[0].ID)].ID
		r, ok := inv.ByID[WarehouseID(mkt)+"/"+sku]
		if !ok {
			t.Fatalf("level %d (%s at %s) not read", i, sku, mkt)
		}
		details := r.Data["inventoryDetails"].(map[string]any)
		if r.Data["totalQuantity"] != float64(l.OnHand) || details["fulfillableQuantity"] != float64(l.Available) ||
			!r.UpdatedAt.Equal(l.UpdatedAt) || r.Data["warehouseId"] != WarehouseID(mkt) {
			t.Errorf("level %s = %v", r.ID, r.Data)
		}
	}
	// Incremental: only summaries changed since.
	since := time.Now().Add(-90 * 24 * time.Hour)
	want := 0
	for _, l := range cat.Levels {
		if !l.UpdatedAt.Before(since.Truncate(time.Second)) {
			want++
		}
	}
	if got := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory, Since: since}); len(got.ByID) != want {
		t.Errorf("since 90 days: %d levels, want %d", len(got.ByID), want)
	}

	prods := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts, Since: since})
	if len(prods.ByID) != len(variants) || len(prods.Records) != len(variants) {
		t.Fatalf("%d SKU records (%d unique), want each of %d once", len(prods.Records), len(prods.ByID), len(variants))
	}
	for _, v := range variants {
		r := prods.ByID[v.SKU]
		if r.Data["asin"] != asin(v.ID) || r.Data["fnSku"] != fnsku(v.ID) || r.Data["productName"] == "" {
			t.Errorf("SKU %s = %v", v.SKU, r.Data)
		}
	}

	locs := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations})
	if len(locs.Records) != 3 || locs.ByID["FBA-ATVPDKIKX0DER"].Data["countryCode"] != "US" {
		t.Errorf("locations %v", locs.Records)
	}
}
