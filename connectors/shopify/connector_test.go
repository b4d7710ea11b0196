package shopify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

func TestRegistered(t *testing.T) {
	p := connectortest.Registered(t, v1alpha1.PlatformShopify, v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory)
	if len(p.CredentialKeys) != 1 || p.CredentialKeys[0] != "accessToken" {
		t.Errorf("CredentialKeys = %v", p.CredentialKeys)
	}
	if len(p.DefaultMapping) != 4 {
		t.Errorf("DefaultMapping has %d entities, want 4", len(p.DefaultMapping))
	}
}

func TestNewWithoutAccessToken(t *testing.T) {
	_, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{ShopDomain: "acme.myshopify.com"},
		Credentials: map[string][]byte{"token": []byte("x")},
		HTTPClient:  http.DefaultClient,
		Log:         logr.Discard(),
	})
	class, reason := connectors.Classify(err)
	if err == nil || class != connectors.ClassAuth || reason != "CredentialsNotFound" || !strings.Contains(err.Error(), "accessToken") {
		t.Fatalf("err = %v (class %v, reason %s), want Auth/CredentialsNotFound naming accessToken", err, class, reason)
	}
}

func TestEndpoint(t *testing.T) {
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{ShopDomain: "acme.myshopify.com"},
		Credentials: map[string][]byte{"accessToken": []byte("shpat_x\n")},
		HTTPClient:  http.DefaultClient,
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://acme.myshopify.com/admin/api/2025-01/graphql.json"; c.endpoint != want {
		t.Errorf("endpoint = %s, want %s", c.endpoint, want)
	}
	if c.token != "shpat_x" {
		t.Errorf("token not trimmed")
	}
	c, _ = New(connectors.Config{
		Connection:  v1alpha1.Connection{ShopDomain: "acme.myshopify.com", Endpoint: "http://proxy:8080/", APIVersion: "2025-04"},
		Credentials: map[string][]byte{"accessToken": []byte("t")},
		HTTPClient:  http.DefaultClient,
	})
	if want := "http://proxy:8080/admin/api/2025-04/graphql.json"; c.endpoint != want {
		t.Errorf("endpoint = %s, want %s", c.endpoint, want)
	}
}

func TestAuthRejected(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	const secret = "shpat_wrong_secret_value"
	c := e.connector(t, secret)
	for name, err := range map[string]error{
		"check": c.Check(context.Background()),
		"read": func() error {
			_, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations}, 0)
			return err
		}(),
	} {
		class, reason := connectors.Classify(err)
		if class != connectors.ClassAuth || reason != "Unauthorized" {
			t.Errorf("%s: err = %v (class %v, reason %s), want Auth/Unauthorized", name, err, class, reason)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error exposes the access token: %v", name, err)
		}
	}
	// No header at all: Shopify's exact body.
	resp, err := http.Post(e.srv.URL+"/admin/api/2025-01/graphql.json", "application/json", strings.NewReader(`{"query":"{shop{name}}"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || string(body) != invalidTokenBody {
		t.Errorf("no token: HTTP %d %s", resp.StatusCode, body)
	}
	if err := e.connector(t, e.sb.AccessToken()).Check(context.Background()); err != nil {
		t.Errorf("Check with the right token: %v", err)
	}
}

// pagedConnector turns bulk reads off and uses small pages so every nested paging path runs.
func pagedConnector(t testing.TB, e *env) *Connector {
	c := e.connector(t, e.sb.AccessToken())
	c.BulkThreshold = 0
	c.PageSizes.Orders = 23
	c.PageSizes.OrderLineItems = 5
	c.PageSizes.LineItems = 7
	c.PageSizes.Products = 9
	c.PageSizes.ProductVariants = 2
	c.PageSizes.Variants = 2
	c.PageSizes.InventoryLevels = 17
	return c
}

func assertOrders(t *testing.T, sb *Sandbox, byID map[string]connectors.Record) {
	t.Helper()
	orders := sb.Orders()
	if len(byID) != len(orders) {
		t.Fatalf("read %d orders, sandbox has %d", len(byID), len(orders))
	}
	for _, o := range orders {
		r, ok := byID[o.GID()]
		if !ok {
			t.Fatalf("order %s not read", o.GID())
		}
		if !r.UpdatedAt.Equal(o.UpdatedAt) {
			t.Errorf("%s UpdatedAt = %v, want %v", o.GID(), r.UpdatedAt, o.UpdatedAt)
		}
		if r.Data["name"] != o.Name() {
			t.Errorf("%s name = %v, want %s", o.GID(), r.Data["name"], o.Name())
		}
		total := r.Data["totalPriceSet"].(map[string]any)["shopMoney"].(map[string]any)["amount"]
		if total != cents(o.TotalCents()) {
			t.Errorf("%s total = %v, want %s", o.GID(), total, cents(o.TotalCents()))
		}
		lines, _ := r.Data["lineItems"].([]any)
		if len(lines) != len(o.Lines) {
			t.Fatalf("%s has %d line items, want %d", o.GID(), len(lines), len(o.Lines))
		}
		for i, l := range o.Lines {
			lm := lines[i].(map[string]any)
			if lm["id"] != gid("LineItem", l.ID) || lm["sku"] != l.SKU || lm["quantity"] != float64(l.Quantity) ||
				lm["variant"].(map[string]any)["id"] != gid("ProductVariant", l.VariantID) {
				t.Errorf("%s line %d = %v, want %+v", o.GID(), i, lm, l)
			}
		}
	}
}

func TestPaginationReadsEveryOrderOnce(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	res := connectortest.ReadAll(t, pagedConnector(t, e), connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.Records) != len(res.ByID) {
		t.Errorf("%d records for %d orders: some were read twice", len(res.Records), len(res.ByID))
	}
	if len(res.Pages) < 300/23 {
		t.Errorf("only %d pages", len(res.Pages))
	}
	assertOrders(t, e.sb, res.ByID)
	// Pages are in updatedAt order.
	for i := 1; i < len(res.Records); i++ {
		if res.Records[i].UpdatedAt.Before(res.Records[i-1].UpdatedAt) {
			t.Fatalf("record %d is older than the one before it", i)
		}
	}
	if e.sb.OperationCounts()["order"] == 0 {
		t.Error("no order's line items were paged: the large orders should need it")
	}
}

func TestProductsOneRecordPerVariant(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	res := connectortest.ReadAll(t, pagedConnector(t, e), connectors.ReadRequest{Entity: v1alpha1.DataProducts})
	want := 0
	for _, p := range e.sb.Products() {
		for _, v := range p.Variants {
			want++
			r, ok := res.ByID[gid("ProductVariant", v.ID)]
			if !ok {
				t.Fatalf("variant %d not read", v.ID)
			}
			prod := r.Data["product"].(map[string]any)
			if r.Data["sku"] != v.SKU || r.Data["price"] != cents(v.PriceCents) || r.Data["barcode"] != v.Barcode ||
				prod["title"] != p.Title || prod["id"] != gid("Product", p.ID) {
				t.Errorf("variant %d data = %v", v.ID, r.Data)
			}
			if r.UpdatedAt.Before(v.UpdatedAt) || r.UpdatedAt.Before(p.UpdatedAt) {
				t.Errorf("variant %d UpdatedAt %v is before the variant's or product's", v.ID, r.UpdatedAt)
			}
		}
	}
	if len(res.Records) != want || len(res.ByID) != want {
		t.Errorf("read %d records (%d distinct), want %d", len(res.Records), len(res.ByID), want)
	}
}

func TestLocationsAndInventory(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := pagedConnector(t, e)
	locs := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations})
	for _, l := range e.sb.Locations() {
		r, ok := locs.ByID[gid("Location", l.ID)]
		if !ok || r.Data["name"] != l.Name || r.Data["isActive"] != true ||
			r.Data["address"].(map[string]any)["countryCode"] != l.CountryCode {
			t.Errorf("location %d: %v", l.ID, r.Data)
		}
	}
	if len(locs.ByID) != len(e.sb.Locations()) {
		t.Errorf("read %d locations", len(locs.ByID))
	}

	inv := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory})
	levels := e.sb.InventoryLevels()
	if len(inv.Records) != len(levels) || len(inv.ByID) != len(levels) {
		t.Fatalf("read %d inventory records (%d distinct), want %d", len(inv.Records), len(inv.ByID), len(levels))
	}
	for _, l := range levels {
		id := InventoryLevelID(gid("InventoryItem", l.InventoryItemID), gid("Location", l.LocationID))
		r, ok := inv.ByID[id]
		if !ok {
			t.Fatalf("level %s not read", id)
		}
		item := r.Data["inventoryItem"].(map[string]any)
		if r.Data["available"] != float64(l.Available) || r.Data["onHand"] != float64(l.OnHand) ||
			r.Data["committed"] != float64(l.Committed) || item["sku"] != l.SKU ||
			item["variant"].(map[string]any)["id"] != gid("ProductVariant", l.VariantID) ||
			r.Data["location"].(map[string]any)["id"] != gid("Location", l.LocationID) || !r.UpdatedAt.Equal(l.UpdatedAt) {
			t.Errorf("level %s data = %v, want %+v", id, r.Data, l)
		}
	}
}

func TestIncrementalReadsOnlyChanges(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := pagedConnector(t, e)

	full := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	cursor := connectortest.MaxUpdated(full.Records)
	orders := e.sb.Orders()
	changed := map[string]bool{}
	for _, o := range []Order{orders[3], orders[100], orders[250]} {
		if _, ok := e.sb.TouchOrder(o.ID); !ok {
			t.Fatal("TouchOrder failed")
		}
		changed[o.GID()] = true
	}
	e.sb.CancelOrder(orders[5].ID)
	changed[orders[5].GID()] = true
	for _, o := range e.sb.AddOrders(2) {
		changed[o.GID()] = true
	}
	inc := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: cursor})
	if len(inc.ByID) != len(changed) {
		t.Errorf("incremental read returned %d orders, want the %d changed", len(inc.ByID), len(changed))
	}
	for id := range changed {
		if _, ok := inc.ByID[id]; !ok {
			t.Errorf("changed order %s not read", id)
		}
	}
	if inc.ByID[orders[5].GID()].Data["cancelledAt"] == nil {
		t.Error("cancelled order has no cancelledAt")
	}

	// Products: a price change moves the variant and its product.
	fullP := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts})
	p := e.sb.Products()[4]
	v := p.Variants[0]
	e.sb.SetVariantPrice(v.ID, 123456)
	incP := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts, Since: connectortest.MaxUpdated(fullP.Records)})
	if len(incP.ByID) != len(p.Variants) {
		t.Errorf("incremental product read returned %d variants, want the product's %d", len(incP.ByID), len(p.Variants))
	}
	if r := incP.ByID[gid("ProductVariant", v.ID)]; r.Data["price"] != "1234.56" {
		t.Errorf("changed variant price = %v", r.Data["price"])
	}
	// A product rename reaches its variants' records too.
	e.sb.RenameProduct(p.ID, "Renamed Product")
	incR := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts, Since: connectortest.MaxUpdated(incP.Records)})
	if r := incR.ByID[gid("ProductVariant", v.ID)]; r.Data == nil || r.Data["product"].(map[string]any)["title"] != "Renamed Product" {
		t.Errorf("rename not read: %v", r.Data)
	}

	// Inventory: one level changes.
	fullI := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory})
	lvl := e.sb.InventoryLevels()[10]
	e.sb.SetAvailable(lvl.InventoryItemID, lvl.LocationID, 4242)
	incI := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory, Since: connectortest.MaxUpdated(fullI.Records)})
	if len(incI.Records) != 1 || incI.Records[0].Data["available"] != float64(4242) {
		t.Errorf("incremental inventory read = %v, want the one changed level", incI.Records)
	}
}

func TestThrottledRequestsWaitAndFinish(t *testing.T) {
	e := newEnv(t, SandboxOptions{RateLimit: RateLimit{MaximumAvailable: 1000, RestoreRate: 20000}})
	c := pagedConnector(t, e)
	res := connectortest.Result{ByID: map[string]connectors.Record{}}
	// Another client of the same app drains the bucket after every page, so the connector's view of the bucket
	// is stale and Shopify answers THROTTLED.
	err := c.Read(context.Background(), connectors.ReadRequest{Entity: v1alpha1.DataOrders}, func(_ context.Context, p connectors.Page) error {
		for _, r := range p.Records {
			res.ByID[r.ID] = r
		}
		e.sb.Drain(1000)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	assertOrders(t, e.sb, res.ByID)
	if s := c.Stats(); s.Throttled == 0 || e.sb.Throttled() == 0 {
		t.Errorf("throttled %d times (sandbox %d), want > 0", s.Throttled, e.sb.Throttled())
	}
}

func TestWaitsForBucketBeforeRequests(t *testing.T) {
	// A bucket that restores 6000 points/s holds about two order pages: the connector must pace itself.
	e := newEnv(t, SandboxOptions{RateLimit: RateLimit{MaximumAvailable: 1000, RestoreRate: 6000}})
	c := e.connector(t, e.sb.AccessToken())
	c.BulkThreshold = 0
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	assertOrders(t, e.sb, res.ByID)
	if s := c.Stats(); s.ThrottleWait == 0 {
		t.Errorf("stats %+v: the connector never waited for the bucket", s)
	}
}

func TestResumeFromMidReadToken(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := pagedConnector(t, e)
	for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataInventory, v1alpha1.DataLocations} {
		t.Run(string(entity), func(t *testing.T) {
			if entity == v1alpha1.DataLocations {
				c.PageSizes.Locations = 1
			}
			full := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity})
			first, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: entity}, 2)
			if !errors.Is(err, connectortest.ErrCrash) {
				t.Fatalf("first run: %v", err)
			}
			rest := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity, Resume: first.LastResume()})
			for id := range first.ByID {
				if _, dup := rest.ByID[id]; dup {
					t.Errorf("%s read again after resume", id)
				}
			}
			if n := len(first.ByID) + len(rest.ByID); n != len(full.ByID) {
				t.Errorf("first %d + rest %d records, want %d", len(first.ByID), len(rest.ByID), len(full.ByID))
			}
			for id := range full.ByID {
				_, a := first.ByID[id]
				_, b := rest.ByID[id]
				if !a && !b {
					t.Errorf("%s missed across the resume", id)
				}
			}
		})
	}
}

func TestBulkBackfillEqualsPaginatedRead(t *testing.T) {
	for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts} {
		t.Run(string(entity), func(t *testing.T) {
			e := newEnv(t, SandboxOptions{})
			paged := connectortest.ReadAll(t, pagedConnector(t, e), connectors.ReadRequest{Entity: entity})
			c := e.connector(t, e.sb.AccessToken())
			c.BulkPageSize = 50
			bulk := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity})
			if len(bulk.Pages[0].Records) != 0 || !strings.Contains(bulk.Pages[0].Resume, `"bulk":"gid://shopify/BulkOperation/`) {
				t.Errorf("first page = %d records, resume %s; want the bulk job recorded before any data", len(bulk.Pages[0].Records), bulk.Pages[0].Resume)
			}
			if n := e.sb.OperationCounts()["bulkOperationRunQuery"]; n != 1 {
				t.Errorf("%d bulk operations started, want 1", n)
			}
			if len(bulk.ByID) != len(paged.ByID) {
				t.Fatalf("bulk read %d records, paginated %d", len(bulk.ByID), len(paged.ByID))
			}
			for id, p := range paged.ByID {
				b, ok := bulk.ByID[id]
				if !ok {
					t.Fatalf("%s missing from the bulk read", id)
				}
				if fmt.Sprint(b.Data) != fmt.Sprint(p.Data) || !b.UpdatedAt.Equal(p.UpdatedAt) {
					t.Fatalf("%s differs:\nbulk  %v\npaged %v", id, b.Data, p.Data)
				}
			}
			if entity == v1alpha1.DataOrders {
				assertOrders(t, e.sb, bulk.ByID)
			}
		})
	}
}

func TestBulkCatchUpReadsChangesDuringTheJob(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.sb.AccessToken())
	var added []Order
	res := connectortest.Result{ByID: map[string]connectors.Record{}}
	err := c.Read(context.Background(), connectors.ReadRequest{Entity: v1alpha1.DataOrders}, func(_ context.Context, p connectors.Page) error {
		if added == nil {
			// The job is running: these orders are not in its snapshot.
			added = e.sb.AddOrders(3)
		}
		for _, r := range p.Records {
			res.ByID[r.ID] = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range added {
		if _, ok := res.ByID[o.GID()]; !ok {
			t.Errorf("order %s placed during the bulk job was missed", o.GID())
		}
	}
	assertOrders(t, e.sb, res.ByID)
}

func TestBulkResumeContinuesTheSameJob(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.sb.AccessToken())
	c.BulkPageSize = 40
	first, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 3)
	if !errors.Is(err, connectortest.ErrCrash) {
		t.Fatalf("first run: %v", err)
	}
	tok := first.LastResume()
	if !strings.Contains(tok, `"bulk"`) || strings.Contains(tok, `"offset":0`) {
		t.Fatalf("crash token %s is not mid-bulk", tok)
	}
	// A new process: a new connector, resuming.
	rest := connectortest.ReadAll(t, e.connector(t, e.sb.AccessToken()), connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: tok})
	if n := e.sb.OperationCounts()["bulkOperationRunQuery"]; n != 1 {
		t.Errorf("%d bulk operations started, want 1 (the resumed one)", n)
	}
	all := map[string]connectors.Record{}
	for id, r := range first.ByID {
		all[id] = r
	}
	for id, r := range rest.ByID {
		all[id] = r
	}
	assertOrders(t, e.sb, all)
	if e.sb.OperationCounts()["orders"] > 1 {
		t.Errorf("resume read %d order pages: the catch-up should be a single page", e.sb.OperationCounts()["orders"])
	}
}

func TestBulkResumeWhileJobStillRuns(t *testing.T) {
	e := newEnv(t, SandboxOptions{BulkPollsToComplete: 5, BulkRunTime: time.Hour})
	c := e.connector(t, e.sb.AccessToken())
	first, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 1)
	if !errors.Is(err, connectortest.ErrCrash) || len(first.Records) != 0 {
		t.Fatalf("first run: %v, %d records", err, len(first.Records))
	}
	// A read without the token finds the shop's one bulk slot taken and pages instead.
	other := connectortest.ReadAll(t, e.connector(t, e.sb.AccessToken()), connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	assertOrders(t, e.sb, other.ByID)
	// Resuming with the token waits for the running job.
	rest := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: first.LastResume()})
	assertOrders(t, e.sb, rest.ByID)
	if n := e.sb.OperationCounts()["bulkOperationRunQuery"]; n != 2 {
		t.Errorf("bulkOperationRunQuery called %d times, want 2 (one started, one refused)", n)
	}
}

func TestBulkFailureFallsBackToPages(t *testing.T) {
	t.Run("failed", func(t *testing.T) {
		e := newEnv(t, SandboxOptions{})
		e.sb.FailNextBulk(1)
		res := connectortest.ReadAll(t, e.connector(t, e.sb.AccessToken()), connectors.ReadRequest{Entity: v1alpha1.DataOrders})
		assertOrders(t, e.sb, res.ByID)
		if e.sb.OperationCounts()["orders"] == 0 {
			t.Error("no paginated reads after the bulk job failed")
		}
	})
	for name, lose := range map[string]func(*Sandbox){"expired": (*Sandbox).ExpireBulkOperations, "gone": (*Sandbox).ForgetBulkOperations} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, SandboxOptions{})
			c := e.connector(t, e.sb.AccessToken())
			c.BulkPageSize = 40
			first, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 2)
			if !errors.Is(err, connectortest.ErrCrash) {
				t.Fatal(err)
			}
			lose(e.sb)
			rest := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: first.LastResume()})
			assertOrders(t, e.sb, rest.ByID)
			if n := e.sb.OperationCounts()["bulkOperationRunQuery"]; n != 1 {
				t.Errorf("%d bulk operations started; the fallback should page", n)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.sb.AccessToken())
	e.sb.FailNext(3, 500)
	e.sb.ResetNext(1)
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("Check after 500s and a reset: %v", err)
	}
	if s := c.Stats(); s.Retries < 4 || s.Requests != 5 {
		t.Errorf("stats %+v, want 4 retries of 5 requests", s)
	}
	e.sb.FailNext(2, 500)
	res := connectortest.ReadAll(t, pagedConnector(t, e), connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	assertOrders(t, e.sb, res.ByID)

	e.sb.FailNext(c.MaxRetries+1, 503)
	err := c.Check(context.Background())
	if class, reason := connectors.Classify(err); class != connectors.ClassTransient || reason != "PlatformUnavailable" {
		t.Errorf("after persistent 503s: %v (%v %s), want Transient/PlatformUnavailable", err, class, reason)
	}

	e.sb.FailNext(1, 429)
	if err := c.Check(context.Background()); err != nil {
		t.Errorf("Check after a 429: %v", err)
	}
}

func TestQueryErrorsAreTerminal(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.sb.AccessToken())
	err := c.query(context.Background(), "bad", `{ shop { nope } }`, nil, nil)
	class, _ := connectors.Classify(err)
	if class != connectors.ClassTerminal || !strings.Contains(err.Error(), "Field 'nope' doesn't exist on type 'Shop'") {
		t.Errorf("err = %v (%v)", err, class)
	}
}

func TestSandboxSeedIsDeterministic(t *testing.T) {
	end := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	a := NewSandbox(SandboxOptions{Seed: SeedOptions{Seed: 3, End: end}})
	b := NewSandbox(SandboxOptions{Seed: SeedOptions{Seed: 3, End: end}})
	if fmt.Sprint(a.Orders()) != fmt.Sprint(b.Orders()) || fmt.Sprint(a.Products()) != fmt.Sprint(b.Products()) {
		t.Error("same seed, different data")
	}
	c := a.Counts()
	if c.Orders != 3000 || c.Products != 200 || c.Locations != 4 || c.InventoryLevels != 4*c.Variants || c.Variants < 200 || c.Variants > 800 {
		t.Errorf("default counts %+v", c)
	}
	var oldest, newest time.Time
	for i, o := range a.Orders() {
		if i == 0 || o.UpdatedAt.Before(oldest) {
			oldest = o.UpdatedAt
		}
		if o.UpdatedAt.After(newest) {
			newest = o.UpdatedAt
		}
	}
	if newest.After(end) || end.Sub(oldest) < 600*24*time.Hour {
		t.Errorf("orders span %v..%v, want about two years up to %v", oldest, newest, end)
	}
	skus := map[string]bool{}
	for _, p := range a.Products() {
		for _, v := range p.Variants {
			if skus[v.SKU] {
				t.Errorf("duplicate SKU %s", v.SKU)
			}
			skus[v.SKU] = true
		}
	}
	ids := make([]int64, 0)
	for _, o := range a.Orders() {
		ids = append(ids, o.ID)
	}
	if !sort.SliceIsSorted(ids, func(i, j int) bool { return ids[i] < ids[j] }) {
		t.Error("Orders() not sorted by ID")
	}
}
