package controllers

import (
	"net/http/httptest"
	"testing"

	"github.com/tether/integration-operator/connectors/shopify"
	"github.com/tether/integration-operator/internal/tether"
)

// shopifyFixture is a Shopify sandbox served on loopback for one test.
type shopifyFixture struct {
	*shopify.Sandbox
	URL   string
	Token string
}

func startShopify(t *testing.T, orders int) *shopifyFixture {
	t.Helper()
	sb := shopify.NewSandbox(shopify.SandboxOptions{
		Unlimited: true,
		Seed:      shopify.SeedOptions{Seed: uint64(orders), Orders: orders, Products: 30, Locations: 3},
	})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &shopifyFixture{Sandbox: sb, URL: srv.URL, Token: sb.AccessToken()}
}

// Counts is the number of records of each Tether kind the sandbox's data becomes.
func (f *shopifyFixture) Counts() map[tether.Kind]int64 {
	c := f.Sandbox.Counts()
	return map[tether.Kind]int64{
		tether.KindSalesOrder:     int64(c.Orders),
		tether.KindSalesOrderLine: int64(c.LineItems),
		tether.KindSKU:            int64(c.Variants),
		tether.KindWarehouse:      int64(c.Locations),
		tether.KindInventoryLevel: int64(c.InventoryLevels),
	}
}

// TouchOrders changes the first n orders on the platform, moving their updatedAt forward.
func (f *shopifyFixture) TouchOrders(n int) {
	for _, o := range f.Sandbox.Orders()[:n] {
		f.Sandbox.TouchOrder(o.ID)
	}
}
