package etsy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
	"github.com/tether/integration-operator/connectors/sandboxkit"
)

func TestRegistered(t *testing.T) {
	p := connectortest.Registered(t, v1alpha1.PlatformEtsy, v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory)
	if fmt.Sprint(p.CredentialKeys) != "[keystring sharedSecret refreshToken]" || p.MaxHistory != 0 || len(p.DefaultMapping) != 4 {
		t.Errorf("platform = %+v", p)
	}
}

func TestNewRejectsMissingCredentials(t *testing.T) {
	full := map[string][]byte{CredentialKeystring: []byte("k"), CredentialSharedSecret: []byte("s"), CredentialRefreshToken: []byte("r")}
	for _, key := range []string{CredentialKeystring, CredentialSharedSecret, CredentialRefreshToken} {
		t.Run(key, func(t *testing.T) {
			creds := map[string][]byte{}
			for k, v := range full {
				if k != key {
					creds[k] = v
				}
			}
			_, err := New(connectors.Config{Credentials: creds, HTTPClient: http.DefaultClient})
			class, reason := connectors.Classify(err)
			if err == nil || class != connectors.ClassAuth || reason != "CredentialsNotFound" || !strings.Contains(err.Error(), key) {
				t.Fatalf("err = %v (%v %s), want Auth/CredentialsNotFound naming %s", err, class, reason, key)
			}
		})
	}
	full[CredentialShopID] = []byte("shop-1")
	if _, err := New(connectors.Config{Credentials: full}); err == nil {
		t.Error("a non-numeric shopID was accepted")
	}
}

func TestEndpoints(t *testing.T) {
	creds := map[string][]byte{CredentialKeystring: []byte("k"), CredentialSharedSecret: []byte("s"), CredentialRefreshToken: []byte("r")}
	for _, tc := range []struct{ endpoint, api, token, auth string }{
		{"", "https://api.etsy.com/v3/application", "https://api.etsy.com/v3/public/oauth/token", "https://www.etsy.com/oauth/connect"},
		{"https://openapi.etsy.com/v3/application/", "https://openapi.etsy.com/v3/application", "https://openapi.etsy.com/v3/public/oauth/token", "https://openapi.etsy.com/oauth/connect"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/v3/application", "http://127.0.0.1:8080/v3/public/oauth/token", "http://127.0.0.1:8080/oauth/connect"},
	} {
		conn := v1alpha1.Connection{Endpoint: tc.endpoint}
		c, err := New(connectors.Config{Connection: conn, Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		oc, err := oauthConfig(connectors.App{Connection: conn, Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		if c.apiBase != tc.api || oc.Endpoint.TokenURL != tc.token || oc.Endpoint.AuthURL != tc.auth || c.apiKey != "k:s" {
			t.Errorf("endpoint %q: api %s, token %s, auth %s, key %s", tc.endpoint, c.apiBase, oc.Endpoint.TokenURL, oc.Endpoint.AuthURL, c.apiKey)
		}
	}
}

func TestAuthRejectedWithoutLeakingSecrets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(e *env, creds map[string][]byte)
		reason string
	}{
		{"wrong shared secret", func(_ *env, c map[string][]byte) { c[CredentialSharedSecret] = []byte("0123456789wrong") }, "Unauthorized"},
		{"wrong keystring", func(_ *env, c map[string][]byte) { c[CredentialKeystring] = []byte("wrongkeystring42") }, "Unauthorized"},
		{"unknown refresh token", func(_ *env, c map[string][]byte) { c[CredentialRefreshToken] = []byte("123.notatoken") }, "TokenRevoked"},
		{"grant revoked", func(e *env, _ map[string][]byte) { e.sb.RevokeGrant() }, "TokenRevoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, SandboxOptions{})
			creds := e.credentials()
			tc.mutate(e, creds)
			c := e.connector(t, creds)
			for what, err := range map[string]error{
				"check": c.Check(context.Background()),
				"read": func() error {
					_, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0)
					return err
				}(),
			} {
				class, reason := connectors.Classify(err)
				if class != connectors.ClassAuth || reason != tc.reason {
					t.Errorf("%s: %v (%v %s), want Auth/%s", what, err, class, reason, tc.reason)
				}
				for _, v := range creds {
					if strings.Contains(err.Error(), string(v)) {
						t.Errorf("%s: error exposes a credential: %v", what, err)
					}
				}
			}
		})
	}
}

func TestSandboxRejectsRequestsAsEtsy(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials())
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	token := accessToken(t, c)
	for _, tc := range []struct {
		name, key, auth string
		status          int
		body            string
	}{
		{"keystring only", e.sb.Keystring(), "Bearer " + token, 403, `{"error":"Shared secret is required in x-api-key header."}`},
		{"wrong secret", e.sb.Keystring() + ":nope", "Bearer " + token, 403, `{"error":"Invalid API key"}`},
		{"no token", c.apiKey, "", 401, `{"error":"invalid_token","error_description":"access token is missing"}`},
		{"bad token", c.apiKey, "Bearer 1.x", 401, `{"error":"invalid_token","error_description":"access token is invalid"}`},
		{"ok", c.apiKey, "Bearer " + token, 200, ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v3/application/users/me", nil)
		req.Header.Set("x-api-key", tc.key)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = fmt.Fprint(&b, readAll(resp))
		if resp.StatusCode != tc.status || (tc.body != "" && strings.TrimSpace(b.String()) != tc.body) {
			t.Errorf("%s: HTTP %d %s, want %d %s", tc.name, resp.StatusCode, b.String(), tc.status, tc.body)
		}
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// assertReceipts checks records against the sandbox's receipts.
func assertReceipts(t *testing.T, sb *Sandbox, byID map[string]connectors.Record) {
	t.Helper()
	receipts := sb.Receipts()
	if len(byID) != len(receipts) {
		t.Fatalf("read %d receipts, sandbox has %d", len(byID), len(receipts))
	}
	for _, r := range receipts {
		rec, ok := byID[id(r.ID)]
		if !ok {
			t.Fatalf("receipt %d not read", r.ID)
		}
		if rec.UpdatedAt.Unix() != r.Updated || rec.Data["status"] != r.Status ||
			rec.Data["total"] != sandboxkit.Money(r.TotalCents) || rec.Data["currency"] != r.Currency {
			t.Errorf("receipt %d: updated %v status %v total %v, want %d %s %s", r.ID, rec.UpdatedAt.Unix(),
				rec.Data["status"], rec.Data["total"], r.Updated, r.Status, sandboxkit.Money(r.TotalCents))
		}
		lines, _ := rec.Data["lines"].([]any)
		if len(lines) != len(r.Lines) {
			t.Fatalf("receipt %d has %d lines, want %d", r.ID, len(lines), len(r.Lines))
		}
		for i, l := range r.Lines {
			lm := lines[i].(map[string]any)
			if lm["transactionID"] != id(l.ID) || lm["productID"] != id(l.ProductID) || lm["sku"] != l.SKU ||
				lm["quantity"] != float64(l.Quantity) || lm["unitPrice"] != sandboxkit.Money(l.PriceCents) {
				t.Errorf("receipt %d line %d = %v, want %+v", r.ID, i, lm, l)
			}
		}
	}
}

func TestReadsEveryReceiptExactlyOnce(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials())
	c.ReceiptPageSize = 37
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	if len(res.Records) != len(res.ByID) {
		t.Errorf("%d records for %d receipts: some were read twice", len(res.Records), len(res.ByID))
	}
	if len(res.Pages) < 400/37 {
		t.Errorf("only %d pages", len(res.Pages))
	}
	assertReceipts(t, e.sb, res.ByID)
	for i := 1; i < len(res.Records); i++ {
		if res.Records[i].UpdatedAt.Before(res.Records[i-1].UpdatedAt) {
			t.Fatalf("record %d is older than the one before it", i)
		}
	}
}

func TestReceiptChangedDuringReadIsNotSkipped(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials())
	c.ReceiptPageSize = 25
	res := connectortest.Result{ByID: map[string]connectors.Record{}}
	pages := 0
	err := c.Read(context.Background(), connectors.ReadRequest{Entity: v1alpha1.DataOrders}, func(_ context.Context, p connectors.Page) error {
		pages++
		for _, r := range p.Records {
			res.ByID[r.ID] = r
		}
		if pages == 2 {
			// Receipts already read change: with plain offsets they would leave a gap behind the reader.
			for _, r := range p.Records[:5] {
				var rid int64
				fmt.Sscan(r.ID, &rid)
				e.sb.TouchReceipt(rid)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	assertReceipts(t, e.sb, res.ByID)
}

func TestProductsInventoryAndShop(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials())
	c.ListingPageSize = 7
	products := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts})
	levels := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory})
	want := 0
	for _, l := range e.sb.ActiveListings() {
		for _, p := range l.Products {
			want++
			r, ok := products.ByID[id(p.ID)]
			if !ok {
				t.Fatalf("product %d not read", p.ID)
			}
			if r.Data["sku"] != p.SKU || r.Data["price"] != sandboxkit.Money(p.PriceCents) || r.Data["listingID"] != id(l.ID) ||
				!strings.HasPrefix(r.Data["name"].(string), l.Title) || r.UpdatedAt.Unix() != l.Updated {
				t.Errorf("product %d = %v", p.ID, r.Data)
			}
			lv, ok := levels.ByID[LevelID(p.ID, e.sb.ShopID())]
			if !ok || lv.Data["available"] != float64(p.Quantity) || lv.Data["warehouseID"] != id(e.sb.ShopID()) || lv.Data["sku"] != p.SKU {
				t.Errorf("level of %d = %v, want quantity %d", p.ID, lv.Data, p.Quantity)
			}
		}
	}
	if len(products.Records) != want || len(levels.Records) != want {
		t.Errorf("read %d products and %d levels, want %d each", len(products.Records), len(levels.Records), want)
	}
	// Each listing page after the first overlaps the previous one by a listing: 6 new listings a page.
	if n := len(e.sb.ActiveListings()); c.Stats().Requests > int64(2+n+2*(n/6+1)) {
		t.Errorf("%d requests: the Inventory read did not reuse the inventories the Products read fetched", c.Stats().Requests)
	}
	shop := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations})
	if r := shop.ByID[id(e.sb.ShopID())]; len(shop.Records) != 1 || r.Data["name"] != "TetherSandboxShop" || r.Data["active"] != true || r.Data["country"] == nil {
		t.Errorf("shop records = %v", shop.Records)
	}
}

func TestIncrementalReadsChangedReceipts(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials())
	full := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	cursor := connectortest.MaxUpdated(full.Records)
	receipts := e.sb.Receipts()
	changed := map[string]bool{}
	for _, r := range []Receipt{receipts[3], receipts[100], receipts[250]} {
		e.sb.TouchReceipt(r.ID)
		changed[id(r.ID)] = true
	}
	c.OpenReceiptWindow = 0
	// min_last_modified is inclusive: start a second after the cursor to leave the newest unchanged receipt out.
	inc := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: cursor.Add(time.Second)})
	if len(inc.ByID) != len(changed) {
		t.Errorf("incremental read returned %d receipts, want the %d changed", len(inc.ByID), len(changed))
	}
	for rid := range changed {
		if _, ok := inc.ByID[rid]; !ok {
			t.Errorf("changed receipt %s not read", rid)
		}
	}
}

// TestCancellationWithoutTimestampIsCaught is Etsy's quirk: a cancellation leaves updated_timestamp alone, so
// a min_last_modified read cannot see it; the re-poll of recent receipts does.
func TestCancellationWithoutTimestampIsCaught(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials())
	full := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	cursor := connectortest.MaxUpdated(full.Records)
	var target Receipt
	for _, r := range e.sb.Receipts() {
		if r.Status == "paid" && time.Since(time.Unix(r.Created, 0)) < 20*24*time.Hour && r.Updated < cursor.Unix()-3600 {
			target = r
		}
	}
	if target.ID == 0 {
		t.Fatal("no recent open receipt in the seed")
	}
	e.sb.CancelReceipt(target.ID)
	e.sb.ShipReceipt(e.sb.Receipts()[0].ID) // an old receipt, outside the window
	after := e.sb.Receipts()
	for _, r := range after {
		if r.ID == target.ID && (r.Updated != target.Updated || r.Status != "canceled") {
			t.Fatalf("sandbox: cancellation moved updated_timestamp %d -> %d (status %s)", target.Updated, r.Updated, r.Status)
		}
	}
	since := cursor.Add(-5 * time.Minute)

	c.OpenReceiptWindow = 0
	plain := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: since})
	if _, ok := plain.ByID[id(target.ID)]; ok {
		t.Fatal("a plain min_last_modified read saw the cancellation: the sandbox does not reproduce the quirk")
	}

	c.OpenReceiptWindow = 30 * 24 * time.Hour
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: since})
	r, ok := res.ByID[id(target.ID)]
	if !ok || r.Data["status"] != "canceled" {
		t.Fatalf("the cancelled receipt was not re-read: %v", r.Data)
	}
	if len(res.Records) != len(res.ByID) {
		t.Errorf("%d records for %d receipts: the re-poll repeated what the modified phase read", len(res.Records), len(res.ByID))
	}
	for _, rec := range res.Records {
		created, _ := time.Parse(time.RFC3339, rec.Data["createdAt"].(string))
		if rec.UpdatedAt.Before(since) && time.Since(created) > 31*24*time.Hour {
			t.Errorf("receipt %s from outside the window was re-read", rec.ID)
		}
	}
}

func TestPacesToTheQuota(t *testing.T) {
	t.Run("at the ceiling without 429s", func(t *testing.T) {
		e := newEnv(t, SandboxOptions{PerSecond: 40, PerDay: 100000})
		c := e.connector(t, e.credentials())
		c.ReceiptPageSize = 20
		start := time.Now()
		res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
		assertReceipts(t, e.sb, res.ByID)
		s := c.Stats()
		if e.sb.Throttled() != 0 || s.RateLimited != 0 {
			t.Errorf("%d 429s: the client did not pace", e.sb.Throttled())
		}
		// 21 requests at 40/s: a full bucket of 40 lets the first burst through, then pacing at the rate.
		if s.PaceWait == 0 || time.Since(start) < 400*time.Millisecond {
			t.Errorf("stats %+v after %v: the client did not wait for the per-second quota", s, time.Since(start))
		}
	})
	t.Run("another client spends the quota", func(t *testing.T) {
		e := newEnv(t, SandboxOptions{PerSecond: 20, PerDay: 100000})
		c := e.connector(t, e.credentials())
		c.ReceiptPageSize = 50
		res := connectortest.Result{ByID: map[string]connectors.Record{}}
		err := c.Read(context.Background(), connectors.ReadRequest{Entity: v1alpha1.DataOrders}, func(_ context.Context, p connectors.Page) error {
			for _, r := range p.Records {
				res.ByID[r.ID] = r
			}
			e.sb.Drain(20)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		assertReceipts(t, e.sb, res.ByID)
		if s := c.Stats(); e.sb.Throttled() == 0 && s.PaceWait == 0 {
			t.Errorf("stats %+v: neither slowed by x-remaining-this-second nor throttled", s)
		}
	})
	t.Run("daily quota spent", func(t *testing.T) {
		e := newEnv(t, SandboxOptions{PerSecond: 100, PerDay: 4})
		c := e.connector(t, e.credentials())
		c.ReceiptPageSize = 20
		start := time.Now()
		_, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0)
		class, reason := connectors.Classify(err)
		if class != connectors.ClassTransient || reason != "RateLimited" || connectors.RetryAfter(err) < time.Hour {
			t.Fatalf("err = %v (%v %s, retry after %v), want a transient RateLimited with the daily quota's advice",
				err, class, reason, connectors.RetryAfter(err))
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("took %v: a long retry-after must end the read, not be slept through", time.Since(start))
		}
	})
}

func TestRetriesServerErrorsAndResets(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials())
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.sb.FailNext(3, 500)
	e.sb.ResetNext(1)
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	assertReceipts(t, e.sb, res.ByID)
	// net/http itself retries a GET whose reused connection was dropped, so the reset may not reach kit.
	if s := c.Stats(); s.Retries < 3 {
		t.Errorf("stats %+v, want at least the 3 retries of the 500s", s)
	}
	e.sb.FailNext(10, 503)
	err := c.Check(context.Background())
	if class, _ := connectors.Classify(err); class != connectors.ClassTransient {
		t.Errorf("after persistent 503s: %v (%v), want transient", err, class)
	}
	e.sb.FailNext(1, 429)
	if err := c.Check(context.Background()); err != nil {
		t.Errorf("Check after a 429: %v", err)
	}
}

func TestResumeFromMidReadToken(t *testing.T) {
	for _, entity := range []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataInventory} {
		t.Run(string(entity), func(t *testing.T) {
			e := newEnv(t, SandboxOptions{})
			c := e.connector(t, e.credentials())
			c.ReceiptPageSize, c.ListingPageSize = 30, 6
			since := time.Time{}
			if entity == v1alpha1.DataOrders {
				// Recent enough for the open-receipt phase to run too, with a small page to have several.
				since = time.Now().Add(-10 * 24 * time.Hour)
				c.ReceiptPageSize = 4
			}
			full := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: entity, Since: since})
			if phases := strings.Count(full.Pages[0].Resume+full.LastResume(), `"phase":"open"`); entity == v1alpha1.DataOrders && phases != 1 {
				t.Fatalf("first and last tokens %s, %s: the read did not reach the open-receipt phase", full.Pages[0].Resume, full.LastResume())
			}
			for crashAfter := 1; crashAfter < len(full.Pages); crashAfter++ {
				first, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: entity, Since: since}, crashAfter)
				if !errors.Is(err, connectortest.ErrCrash) {
					t.Fatalf("first run: %v", err)
				}
				rest := connectortest.ReadAll(t, e.connector(t, e.credentials()), connectors.ReadRequest{Entity: entity, Since: since, Resume: first.LastResume()})
				for rid := range first.ByID {
					if _, dup := rest.ByID[rid]; dup {
						t.Errorf("crash after %d: %s read again after resume", crashAfter, rid)
					}
				}
				for rid := range full.ByID {
					_, a := first.ByID[rid]
					_, b := rest.ByID[rid]
					if !a && !b {
						t.Errorf("crash after %d: %s missed across the resume", crashAfter, rid)
					}
				}
			}
		})
	}
}

func TestUnreadableResumeStartsOver(t *testing.T) {
	e := newEnv(t, SandboxOptions{})
	c := e.connector(t, e.credentials())
	res := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Resume: "not json"})
	assertReceipts(t, e.sb, res.ByID)
}

func TestDecimalString(t *testing.T) {
	for _, tc := range []struct {
		amount, divisor int64
		want            string
	}{
		{1250, 100, "12.50"}, {5, 100, "0.05"}, {-5, 100, "-0.05"}, {0, 100, "0.00"}, {7, 1, "7"},
		{123456, 1000, "123.456"}, {1, 8, "0.125"}, {1, 3, "0.33333333"}, {99, 0, "99"},
	} {
		if got := decimalString(tc.amount, tc.divisor); got != tc.want {
			t.Errorf("decimalString(%d, %d) = %s, want %s", tc.amount, tc.divisor, got, tc.want)
		}
	}
}
