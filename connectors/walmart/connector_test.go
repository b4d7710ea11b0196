package walmart

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// clock is a settable clock shared by a sandbox and its connector.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

func TestNewRejectsMissingCredentialsAndBadEndpoints(t *testing.T) {
	cases := []struct {
		name   string
		creds  map[string][]byte
		conn   v1alpha1.Connection
		class  connectors.Class
		reason string
		names  string
	}{
		{"no client ID", map[string][]byte{CredentialClientSecret: []byte("s3cret")}, v1alpha1.Connection{},
			connectors.ClassAuth, v1alpha1.ReasonCredentialsNotFound, CredentialClientID},
		{"empty client secret", map[string][]byte{CredentialClientID: []byte("id"), CredentialClientSecret: []byte("  ")},
			v1alpha1.Connection{}, connectors.ClassAuth, v1alpha1.ReasonCredentialsNotFound, CredentialClientSecret},
		{"endpoint without scheme", map[string][]byte{CredentialClientID: []byte("id"), CredentialClientSecret: []byte("s3cret")},
			v1alpha1.Connection{Endpoint: "marketplace.walmartapis.com"}, connectors.ClassTerminal, v1alpha1.ReasonInvalidConfiguration, "endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(connectors.Config{Credentials: tc.creds, Connection: tc.conn})
			class, reason := connectors.Classify(err)
			if err == nil || class != tc.class || reason != tc.reason || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("New = %v (%v %s), want %v %s naming %q", err, class, reason, tc.class, tc.reason, tc.names)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error exposes the secret: %v", err)
			}
		})
	}
}

func TestEndpointDefaultsAndKeepsOneV3(t *testing.T) {
	for in, want := range map[string]string{"": DefaultBaseURL, "http://x/": "http://x/v3", "http://x/v3/": "http://x/v3"} {
		if got, err := baseURL(in); err != nil || got != want {
			t.Errorf("baseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestRejectedCredentialsAreAnAuthErrorWithoutTheSecret(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true})
	c := e.connector(t)
	e.sb.RotateSecret("a-new-secret")
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"Check", func() error { return c.Check(context.Background()) }},
		{"Read", func() error {
			_, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0)
			return err
		}},
	} {
		err := op.run()
		if class, _ := connectors.Classify(err); err == nil || class != connectors.ClassAuth {
			t.Fatalf("%s with a revoked key = %v (class %v), want an auth error", op.name, err, class)
		}
		if strings.Contains(err.Error(), string(e.credentials()[CredentialClientSecret])) || strings.Contains(err.Error(), c.clientSecret) {
			t.Fatalf("%s error exposes the client secret: %v", op.name, err)
		}
	}
}

func TestCheckSucceedsWithValidCredentials(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true})
	if err := e.connector(t).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEveryEntityIsReadExactlyOnceAndEqualsTheSandbox(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true})
	c := e.connector(t)
	c.PageSizes = PageSizes{Orders: 50, Items: 25, Inventories: 10}
	counts := e.sb.Counts()
	cases := []struct {
		entity    v1alpha1.DataType
		want      int
		minPages  int
		checkData func(t *testing.T, res connectortest.Result)
	}{
		{v1alpha1.DataOrders, counts.Orders, counts.Orders / 50, func(t *testing.T, res connectortest.Result) {
			lines := 0
			for _, r := range res.Records {
				lines += len(r.Data["lines"].([]any))
			}
			if lines != counts.Lines {
				t.Errorf("read %d order lines, the sandbox has %d", lines, counts.Lines)
			}
		}},
		{v1alpha1.DataProducts, counts.Items, counts.Items / 25, nil},
		{v1alpha1.DataLocations, counts.ShipNodes, 1, nil},
		{v1alpha1.DataInventory, counts.InventoryLevels, counts.Items / 10, nil},
	}
	for _, tc := range cases {
		t.Run(string(tc.entity), func(t *testing.T) {
			res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: tc.entity})
			if len(res.Records) != tc.want || len(res.ByID) != tc.want {
				t.Fatalf("read %d records (%d distinct), want %d once each", len(res.Records), len(res.ByID), tc.want)
			}
			if len(res.Pages) < tc.minPages {
				t.Fatalf("%d pages, want at least %d", len(res.Pages), tc.minPages)
			}
			for i, p := range res.Pages {
				if p.Resume == "" {
					t.Fatalf("page %d has no resume token", i)
				}
			}
			if tc.checkData != nil {
				tc.checkData(t, res)
			}
		})
	}
}

// TestMappedRecordsEqualTheSandboxCatalog maps what was read with DefaultMapping and compares it with the
// catalog the sandbox was generated from.
func TestMappedRecordsEqualTheSandboxCatalog(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true})
	c := e.connector(t)
	m, err := mapping.Compile(DefaultMapping(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var batch tether.Batch
	for _, entity := range []v1alpha1.DataType{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory} {
		if err := m.Apply(entity, connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity}).Records, &batch); err != nil {
			t.Fatalf("map %s: %v", entity, err)
		}
	}
	cat := e.sb.account.cat
	orders := map[string]tether.SalesOrder{}
	for _, o := range batch.SalesOrders {
		orders[o.ExternalID] = o
	}
	for _, o := range cat.Orders {
		got, ok := orders[fmtPO(o.ID)]
		if !ok {
			t.Fatalf("order %d not read", o.ID)
		}
		total := o.ShippingCents
		for _, l := range o.Lines {
			line := l.PriceCents * int64(l.Quantity)
			total += line + line*8/100
		}
		if got.Total != sandboxkit.Money(total) || got.Currency != o.Currency || !got.OrderedAt.Equal(o.CreatedAt) ||
			!got.UpdatedAt.Equal(o.UpdatedAt) || len(got.Lines) != len(o.Lines) || got.Status == "" {
			t.Fatalf("order %s = %+v; want total %s, %d lines, ordered %s, updated %s", got.ExternalID, got,
				sandboxkit.Money(total), len(o.Lines), o.CreatedAt, o.UpdatedAt)
		}
		for i, l := range o.Lines {
			gl := got.Lines[i]
			if gl.ExternalID != fmtPO(o.ID)+"-"+strconv.Itoa(i+1) || gl.SKUCode != l.SKU || gl.SKUExternalID != l.SKU ||
				gl.Quantity != int64(l.Quantity) || gl.Price != sandboxkit.Money(l.PriceCents) {
				t.Fatalf("order %s line %d = %+v, want sku %s x%d at %s", got.ExternalID, i+1, gl, l.SKU, l.Quantity, sandboxkit.Money(l.PriceCents))
			}
		}
	}
	skus := map[string]tether.SKU{}
	for _, s := range batch.SKUs {
		skus[s.ExternalID] = s
	}
	for _, v := range cat.Variants() {
		s := skus[v.SKU]
		price, err := strconv.ParseFloat(s.Price, 64)
		if s.Code != v.SKU || s.Barcode != v.Barcode || err != nil || int64(price*100+0.5) != v.PriceCents {
			t.Fatalf("SKU %s = %+v, want barcode %s price %s", v.SKU, s, v.Barcode, sandboxkit.Money(v.PriceCents))
		}
	}
	if len(batch.Warehouses) != len(cat.Locations) {
		t.Fatalf("%d warehouses, want %d", len(batch.Warehouses), len(cat.Locations))
	}
	active := 0
	for _, w := range batch.Warehouses {
		if w.Active {
			active++
		}
	}
	if want := len(cat.Locations) - 1; active != want {
		t.Errorf("%d active warehouses, want %d (the last location is inactive)", active, want)
	}
	levels := map[string]tether.InventoryLevel{}
	for _, l := range batch.InventoryLevels {
		levels[l.ExternalID] = l
	}
	nodes := e.sb.account.nodeByID
	for _, it := range e.sb.account.items {
		for _, l := range it.levels {
			got := levels[it.v.SKU+"@"+nodes[l.LocationID].id]
			if got.Available != int64(l.Available) || got.OnHand != int64(l.OnHand) || got.Committed != int64(l.Committed) ||
				got.WarehouseExternalID != nodes[l.LocationID].id {
				t.Fatalf("level %s at %d = %+v, want %+v", it.v.SKU, l.LocationID, got, l)
			}
		}
	}
}

func TestOrdersOfEveryShipNodeTypeAreRead(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true})
	res := connectortest.ReadAll(t, e.connector(t), connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	got := map[string]int{}
	for _, r := range res.Records {
		got[r.Data["shipNodeType"].(string)]++
	}
	want := e.sb.Counts().ByShipNodeType
	for _, typ := range ShipNodeTypes {
		if want[typ] == 0 {
			t.Fatalf("the sandbox has no %s orders; the test needs some", typ)
		}
		if got[typ] != want[typ] {
			t.Errorf("%s orders read = %d, want %d", typ, got[typ], want[typ])
		}
	}
	// The quirk the per-type queries work around: without shipNodeType Walmart answers SellerFulfilled only.
	var list ordersList
	rawGet(t, e, "/v3/orders?limit=200", http.StatusOK, &list)
	if list.List.Meta.TotalCount != want["SellerFulfilled"] {
		t.Errorf("orders without shipNodeType: totalCount %d, want the %d SellerFulfilled", list.List.Meta.TotalCount, want["SellerFulfilled"])
	}
}

func TestIncrementalReadReturnsOnlyOrdersModifiedSince(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true})
	c := e.connector(t)
	first := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	var watermark time.Time
	for _, r := range first.Records {
		if r.UpdatedAt.After(watermark) {
			watermark = r.UpdatedAt
		}
	}
	if again := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: watermark.Add(time.Millisecond)}); len(again.Records) != 0 {
		t.Fatalf("nothing changed, but a read from the watermark returned %d orders", len(again.Records))
	}
	registeredSandbox{e.sb}.TouchOrders(5)
	second := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: watermark.Add(time.Millisecond)})
	if len(second.Records) != 5 {
		t.Fatalf("read %d orders after touching 5", len(second.Records))
	}
	for _, o := range e.sb.account.cat.Orders[:5] {
		r, ok := second.ByID[fmtPO(o.ID)]
		if !ok || !r.UpdatedAt.After(watermark) {
			t.Fatalf("touched order %s missing or not newer than the watermark: %+v", fmtPO(o.ID), r.UpdatedAt)
		}
	}
	// The filter the sandbox saw is Walmart's ISO 8601 lastModifiedStartDate, never an ID.
	for _, req := range e.sb.RequestLog() {
		if req.Path == "/v3/orders" && !strings.Contains(req.RawQuery, "hasMoreElements") {
			q, _ := url.ParseQuery(req.RawQuery)
			if _, err := time.Parse(walmartTime, q.Get("lastModifiedStartDate")); err != nil {
				t.Fatalf("orders query %q has no lastModifiedStartDate in Walmart's format", req.RawQuery)
			}
		}
	}
}

func TestOrderHistoryIsClampedToWalmarts180Days(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true})
	c := e.connector(t)
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: time.Now().AddDate(-3, 0, 0)})
	if len(res.Records) != e.sb.Counts().Orders {
		t.Fatalf("read %d orders, want %d", len(res.Records), e.sb.Counts().Orders)
	}
	oldest := time.Now().Add(-MaxHistory)
	for _, req := range e.sb.RequestLog() {
		if req.Path != "/v3/orders" {
			continue
		}
		q, _ := url.ParseQuery(req.RawQuery)
		if start, err := time.Parse(walmartTime, q.Get("lastModifiedStartDate")); err != nil || start.Before(oldest) {
			t.Fatalf("asked for orders since %q, before Walmart's 180 days", q.Get("lastModifiedStartDate"))
		}
		if req.Status != http.StatusOK {
			t.Fatalf("an orders request was refused with %d", req.Status)
		}
	}
	// The sandbox refuses what Walmart refuses.
	old := url.QueryEscape(time.Now().AddDate(0, 0, -181).UTC().Format(walmartTime))
	body := rawGet(t, e, "/v3/orders?shipNodeType=SellerFulfilled&lastModifiedStartDate="+old, http.StatusBadRequest, nil)
	if !strings.Contains(body, "INVALID_REQUEST_PARAM") || !strings.Contains(body, "180 days") {
		t.Fatalf("a 181-day-old start date answered %s", body)
	}
}

func TestEmptyResultsAre404sAndReadAsNoRecords(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true})
	res := connectortest.ReadAll(t, e.connector(t), connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: time.Now().Add(time.Hour)})
	if len(res.Records) != 0 || len(res.Pages) != 0 {
		t.Fatalf("read %d records in %d pages from an empty window", len(res.Records), len(res.Pages))
	}
	notFound := 0
	for _, req := range e.sb.RequestLog() {
		if req.Path == "/v3/orders" && req.Status == http.StatusNotFound {
			notFound++
		}
	}
	if notFound != len(ShipNodeTypes) {
		t.Fatalf("%d orders queries answered 404, want one per ship node type (%d)", notFound, len(ShipNodeTypes))
	}
}

func TestNextCursorIsSentExactlyAsReturned(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true})
	c := e.connector(t)
	c.PageSizes.Orders = 40
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.Records) != e.sb.Counts().Orders {
		t.Fatalf("read %d orders, want %d", len(res.Records), e.sb.Counts().Orders)
	}
	followed := 0
	for _, req := range e.sb.RequestLog() {
		if strings.Contains(req.RawQuery, "hasMoreElements") {
			followed++
			if req.Status != http.StatusOK {
				t.Fatalf("cursor request answered %d: %s", req.Status, req.RawQuery)
			}
		}
	}
	if followed < 5 {
		t.Fatalf("only %d cursor requests", followed)
	}
	// A cursor decoded or re-encoded (':' as %3A) is refused with 401, as Walmart does.
	var list ordersList
	rawGet(t, e, "/v3/orders?limit=10&shipNodeType=SellerFulfilled&lastModifiedStartDate="+
		time.Now().AddDate(0, 0, -170).UTC().Format(walmartTime), http.StatusOK, &list)
	cursor := list.List.Meta.NextCursor
	if !strings.HasPrefix(cursor, "?") || !strings.Contains(cursor, ":") {
		t.Fatalf("cursor %q is not a raw query string with unescaped dates", cursor)
	}
	rawGet(t, e, "/v3/orders"+cursor, http.StatusOK, nil)
	reencoded := strings.ReplaceAll(cursor, ":", "%3A")
	if body := rawGet(t, e, "/v3/orders"+reencoded, http.StatusUnauthorized, nil); !strings.Contains(body, "UNAUTHORIZED") {
		t.Fatalf("re-encoded cursor answered %s", body)
	}
}

func TestResumeFromAMidReadPageReadsTheRestWithoutGaps(t *testing.T) {
	for _, entity := range []v1alpha1.DataType{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataInventory} {
		t.Run(string(entity), func(t *testing.T) {
			e := newEnv(t, SandboxOptions{Unlimited: true})
			c := e.connector(t)
			c.PageSizes = PageSizes{Orders: 60, Items: 20, Inventories: 10}
			full := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity})
			crashAfter := len(full.Pages) / 2
			first, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: entity}, crashAfter)
			if !errors.Is(err, connectortest.ErrCrash) {
				t.Fatalf("first read: %v", err)
			}
			rest := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity, Resume: first.Pages[len(first.Pages)-1].Resume})
			for id := range full.ByID {
				if _, a := first.ByID[id]; !a {
					if _, b := rest.ByID[id]; !b {
						t.Fatalf("record %s read by neither part of the interrupted read", id)
					}
				}
			}
			if len(first.Records)+len(rest.Records) != len(full.Records) {
				t.Fatalf("interrupted read: %d + %d records, the whole read has %d (pages re-read or skipped)",
					len(first.Records), len(rest.Records), len(full.Records))
			}
			// Resuming after the last page reads nothing more.
			if tail := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity, Resume: full.Pages[len(full.Pages)-1].Resume}); len(tail.Records) != 0 {
				t.Fatalf("resuming after the last page read %d records", len(tail.Records))
			}
		})
	}
}

func TestExpiredCursorOnResumeRereadsTheWindow(t *testing.T) {
	for _, entity := range []v1alpha1.DataType{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataInventory} {
		t.Run(string(entity), func(t *testing.T) {
			k := &clock{}
			e := newEnv(t, SandboxOptions{Unlimited: true, Now: k.Now, CursorTTL: 10 * time.Minute})
			c := e.connector(t)
			c.Now = k.Now
			c.PageSizes = PageSizes{Orders: 60, Items: 20, Inventories: 10}
			full := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity})
			first, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: entity}, 2)
			if !errors.Is(err, connectortest.ErrCrash) {
				t.Fatalf("first read: %v", err)
			}
			k.Advance(11 * time.Minute)
			rest := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity, Resume: first.Pages[1].Resume})
			for id := range full.ByID {
				if _, a := first.ByID[id]; !a {
					if _, b := rest.ByID[id]; !b {
						t.Fatalf("record %s lost after the cursor expired", id)
					}
				}
			}
			rejected := 0
			for _, req := range e.sb.RequestLog() {
				if req.Status == http.StatusBadRequest {
					rejected++
				}
			}
			if rejected != 1 {
				t.Fatalf("%d requests rejected, want the one expired cursor", rejected)
			}
		})
	}
}

func TestWindowsHoldingMoreThanOneQueryReturnsAreSplit(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true, MaxOrdersPerQuery: 70})
	c := e.connector(t)
	c.MaxOrdersPerQuery, c.PageSizes.Orders = 70, 30
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.ByID) != e.sb.Counts().Orders {
		t.Fatalf("read %d distinct orders, want %d", len(res.ByID), e.sb.Counts().Orders)
	}
}

func TestRateLimitIsPacedFromTheHeaders(t *testing.T) {
	limits := DefaultLimits
	// Slow enough that even a race-instrumented client outruns it.
	limits.Orders = Limit{Capacity: 2, PerSecond: 8}
	cases := []struct {
		name        string
		pace        bool
		wantPaced   bool
		wantLimited bool
	}{
		{"paced by x-current-token-count and x-next-replenish-time", true, true, false},
		{"not paced: 429s retried after the replenish time", false, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, SandboxOptions{Limits: limits})
			c := e.connector(t)
			c.PaceByHeaders = tc.pace
			c.api.MaxRetries = 50
			c.PageSizes.Orders = 40
			start := time.Now()
			res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
			elapsed := time.Since(start)
			if len(res.ByID) != e.sb.Counts().Orders || len(res.Records) != len(res.ByID) {
				t.Fatalf("read %d records (%d distinct), want %d exactly once", len(res.Records), len(res.ByID), e.sb.Counts().Orders)
			}
			st := c.Stats()
			orderRequests := 0
			for _, req := range e.sb.RequestLog() {
				if req.Path == "/v3/orders" && req.Status != http.StatusTooManyRequests {
					orderRequests++
				}
			}
			floor := time.Duration((float64(orderRequests) - limits.Orders.Capacity) / limits.Orders.PerSecond * float64(time.Second))
			if elapsed < floor*9/10 {
				t.Fatalf("%d order requests in %v: faster than the bucket allows (%v)", orderRequests, elapsed, floor)
			}
			if (st.Paced > 0) != tc.wantPaced || (e.sb.Throttled() > 0) != tc.wantLimited || (st.RateLimited > 0) != tc.wantLimited {
				t.Fatalf("paced %d, throttled by the sandbox %d, 429s seen %d, retries %d", st.Paced, e.sb.Throttled(), st.RateLimited, st.Retries)
			}
			t.Logf("%d requests in %v (floor %v): paced %d, 429s %d, retries %d", orderRequests, elapsed, floor, st.Paced, st.RateLimited, st.Retries)
		})
	}
}

func TestServerErrorsAndDroppedConnectionsAreRetried(t *testing.T) {
	cases := []struct {
		name   string
		inject func(f *sandboxkit.Faults)
	}{
		{"503s", func(f *sandboxkit.Faults) { f.FailNext(3, http.StatusServiceUnavailable) }},
		{"500", func(f *sandboxkit.Faults) { f.FailNext(1, http.StatusInternalServerError) }},
		{"connection resets", func(f *sandboxkit.Faults) { f.ResetNext(2) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, SandboxOptions{Unlimited: true})
			c := e.connector(t)
			if err := c.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			tc.inject(e.sb.Faults())
			res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
			if len(res.ByID) != e.sb.Counts().Orders {
				t.Fatalf("read %d orders, want %d", len(res.ByID), e.sb.Counts().Orders)
			}
			if c.Stats().Retries == 0 {
				t.Fatal("no retries counted")
			}
		})
	}
}

func TestAccessTokenIsRefreshedBeforeExpiryOnceAtATime(t *testing.T) {
	k := &clock{}
	e := newEnv(t, SandboxOptions{Unlimited: true, Now: k.Now})
	c := e.connector(t)
	c.Now = k.Now
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Check(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := c.Stats().TokenRequests; n != 1 {
		t.Fatalf("8 concurrent calls requested %d tokens, want 1", n)
	}
	k.Advance(14*time.Minute + 30*time.Second) // inside the refresh margin of a 15-minute token
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().TokenRequests; n != 2 {
		t.Fatalf("%d token requests after the token neared expiry, want 2", n)
	}
	for _, req := range e.sb.RequestLog() {
		if req.Status == http.StatusUnauthorized {
			t.Fatal("a request was sent with an expired token")
		}
	}
	// A token Walmart stops accepting early is replaced once, and the call goes through.
	e.sb.ExpireTokens()
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().TokenRequests; n != 3 {
		t.Fatalf("%d token requests after a rejected token, want 3", n)
	}
}

// rawGet sends a request with a valid token and Walmart's headers, asserts the status, and returns the body.
func rawGet(t *testing.T, e *env, pathAndQuery string, status int, out any) string {
	t.Helper()
	c := e.connector(t)
	token, err := c.accessToken(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+pathAndQuery, nil)
	req.Header.Set("WM_SEC.ACCESS_TOKEN", token)
	req.Header.Set("WM_SVC.NAME", ServiceName)
	req.Header.Set("WM_QOS.CORRELATION_ID", newCorrelationID())
	req.Header.Set("Accept", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s = %d %s, want %d", pathAndQuery, resp.StatusCode, body, status)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatal(err)
		}
	}
	return string(body)
}

func TestSandboxEnforcesWalmartsRequestRules(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true})
	c := e.connector(t)
	token, err := c.accessToken(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	full := http.Header{"WM_SEC.ACCESS_TOKEN": {token}, "WM_SVC.NAME": {ServiceName},
		"WM_QOS.CORRELATION_ID": {newCorrelationID()}, "Accept": {"application/json"}}
	without := func(h string) http.Header {
		out := full.Clone()
		delete(out, h)
		return out
	}
	with := func(h, v string) http.Header {
		out := full.Clone()
		out[h] = []string{v}
		return out
	}
	cases := []struct {
		name   string
		path   string
		header http.Header
		status int
		code   string
	}{
		{"no access token", "/v3/items", without("WM_SEC.ACCESS_TOKEN"), 401, "UNAUTHORIZED.GMP_GATEWAY_API"},
		{"unknown access token", "/v3/items", with("WM_SEC.ACCESS_TOKEN", "forged"), 401, "UNAUTHORIZED.GMP_GATEWAY_API"},
		{"no service name", "/v3/items", without("WM_SVC.NAME"), 400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API"},
		{"no correlation ID", "/v3/items", without("WM_QOS.CORRELATION_ID"), 400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API"},
		{"orders limit over 200", "/v3/orders?limit=201", full, 400, "INVALID_REQUEST_PARAM.GMP_ORDER_API"},
		{"unknown ship node type", "/v3/orders?shipNodeType=Dropship", full, 400, "INVALID_REQUEST_PARAM.GMP_ORDER_API"},
		{"date not ISO 8601", "/v3/orders?lastModifiedStartDate=03%2F01%2F2024", full, 400, "INVALID_REQUEST_PARAM.GMP_ORDER_API"},
		{"inventories limit over 50", "/v3/inventories?limit=51", full, 400, "INVALID_REQUEST_PARAM.GMP_INVENTORY_API"},
		{"forged items cursor", "/v3/items?nextCursor=abc.def", full, 400, "INVALID_REQUEST_PARAM.GMP_ITEM_API"},
		{"unknown sku", "/v3/inventory?sku=NOPE", full, 404, "CONTENT_NOT_FOUND.GMP_INVENTORY_API"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+tc.path, nil)
			req.Header = tc.header
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			errs := parseErrors(body)
			if resp.StatusCode != tc.status || len(errs) != 1 || errs[0].Code != tc.code {
				t.Fatalf("%d %s, want %d with code %s", resp.StatusCode, body, tc.status, tc.code)
			}
		})
	}
}

func TestRemainingIsEstimatedWhileTheLimitSlowsARead(t *testing.T) {
	limits := DefaultLimits
	limits.Items = Limit{Capacity: 1, PerSecond: 40}
	e := newEnv(t, SandboxOptions{Limits: limits})
	c := e.connector(t)
	c.PageSizes.Items = 10
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts})
	if len(res.Pages) < 3 || res.Pages[0].Remaining <= 0 || res.Pages[len(res.Pages)-1].Remaining != 0 {
		t.Fatalf("remaining over %d pages: first %v, last %v", len(res.Pages), res.Pages[0].Remaining, res.Pages[len(res.Pages)-1].Remaining)
	}
}

func TestRegisteredPlatformDescribesWalmart(t *testing.T) {
	p, ok := connectors.Lookup(v1alpha1.PlatformWalmart)
	if !ok || p.MaxHistory != 180*24*time.Hour || len(p.Entities) != 4 || len(p.CredentialKeys) != 2 {
		t.Fatalf("registered platform = %+v", p)
	}
	if _, err := mapping.Compile(p.DefaultMapping, nil); err != nil {
		t.Fatalf("default mapping does not compile: %v", err)
	}
	sb := p.NewSandbox(connectors.SandboxOptions{Seed: 1, Orders: 20, Products: 5, Locations: 2})
	conn, err := p.New(connectors.Config{Connection: sb.Connection("http://127.0.0.1:1"), Credentials: sb.Credentials(), Log: logr.Discard()})
	if err != nil || conn == nil {
		t.Fatalf("New from the sandbox's connection and credentials: %v", err)
	}
}

// TestTokenExpiringMidSyncIsReplacedAndTheReadCompletes lets Walmart stop accepting the access token while a
// read is between pages: the next page's 401 fetches a new token and the read goes on without losing or
// repeating a page. The sandbox issues 900-second tokens and answers an expired one with Walmart's 401 body.
func TestTokenExpiringMidSyncIsReplacedAndTheReadCompletes(t *testing.T) {
	e := newEnv(t, SandboxOptions{Unlimited: true})
	c := e.connector(t)
	c.PageSizes = PageSizes{Orders: 50, Items: 25, Inventories: 10}
	// The token endpoint's lifetime is Walmart's 15 minutes.
	if _, err := c.accessToken(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if ttl := c.tokenExpiry.Sub(time.Now()); ttl < 899*time.Second || ttl > 900*time.Second {
		t.Fatalf("token lifetime %v, want 900 s", ttl)
	}
	counts := e.sb.Counts()
	for _, tc := range []struct {
		entity v1alpha1.DataType
		want   int
	}{{v1alpha1.DataOrders, counts.Orders}, {v1alpha1.DataProducts, counts.Items}, {v1alpha1.DataInventory, counts.InventoryLevels}} {
		t.Run(string(tc.entity), func(t *testing.T) {
			before := c.Stats().TokenRequests
			res := connectortest.MustReadWith(t, c, connectors.ReadRequest{Entity: tc.entity}, connectortest.ReadOptions{
				OnPage: func(n int, _ connectors.Page) {
					if n == 1 {
						e.sb.ExpireTokens()
					}
				},
			})
			if len(res.Records) != tc.want || len(res.ByID) != tc.want {
				t.Fatalf("read %d records (%d distinct), want %d once each", len(res.Records), len(res.ByID), tc.want)
			}
			if n := c.Stats().TokenRequests - before; n != 1 {
				t.Fatalf("%d token requests during the read, want 1 (the replacement)", n)
			}
		})
	}
	// The 401 the expired token got is Walmart's.
	rejected := 0
	for _, req := range e.sb.RequestLog() {
		if req.Status == http.StatusUnauthorized {
			rejected++
		}
	}
	if rejected != 3 {
		t.Fatalf("%d requests rejected with 401, want one per read", rejected)
	}
	old, err := c.accessToken(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	e.sb.ExpireTokens()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v3/orders", nil)
	req.Header.Set("WM_SEC.ACCESS_TOKEN", old)
	req.Header.Set("WM_SVC.NAME", ServiceName)
	req.Header.Set("WM_QOS.CORRELATION_ID", newCorrelationID())
	req.Header.Set("Accept", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	errs := parseErrors(body)
	if resp.StatusCode != http.StatusUnauthorized || len(errs) != 1 || errs[0].Code != "UNAUTHORIZED.GMP_GATEWAY_API" ||
		errs[0].Description != "Access token has expired" {
		t.Fatalf("expired token: HTTP %d %s", resp.StatusCode, body)
	}
}
