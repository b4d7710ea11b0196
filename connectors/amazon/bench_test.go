package amazon

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// BenchmarkBackfill reads a seller's orders (v0: getOrders plus one getOrderItems per order) and FBA
// inventory with the rate limits off and at Amazon's documented limits, and reports records/s next to the
// ceiling the limits allow. At the documented limits getOrderItems (0.5/s, burst 30) bounds an orders
// backfill at one order every two seconds once the burst is spent, so those cases are small; run with
// -benchtime=1x:
//
//	go test ./connectors/amazon/ -run '^$' -bench Backfill -benchtime=1x
func BenchmarkBackfill(b *testing.B) {
	cases := []struct {
		name      string
		entity    connectors.Entity
		version   string
		orders    int
		products  int
		unlimited bool
		// ceiling is the records/s the sandbox's buckets allow for n records, or 0 for none.
		ceiling func(n int) float64
	}{
		{"orders-v0/unlimited", v1alpha1.DataOrders, APIVersionV0, 2000, 50, true, nil},
		{"orders-2026/unlimited", v1alpha1.DataOrders, APIVersion20260101, 2000, 50, true, nil},
		{"inventory/unlimited", v1alpha1.DataInventory, "", 100, 400, true, nil},
		{"orders-v0/documented-limit", v1alpha1.DataOrders, APIVersionV0, 34, 20, false, func(n int) float64 {
			// n getOrderItems calls: 30 from the burst, the rest at 0.5/s.
			return float64(n) / (float64(n-30) / 0.5)
		}},
		{"orders-2026/documented-limit", v1alpha1.DataOrders, APIVersion20260101, 1500, 20, false, func(n int) float64 {
			// ceil(n/100) searchOrders pages within the burst of 20: no wait.
			return math.Inf(1)
		}},
		{"inventory/documented-limit", v1alpha1.DataInventory, "", 20, 300, false, func(n int) float64 {
			// ceil(n/50) pages per marketplace, 2 from the burst and the rest at 2/s.
			pages := math.Ceil(float64(n) / 50)
			return float64(n) / ((pages - 2) / 2)
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			opts := SandboxOptions{Seed: 1, Orders: tc.orders, Products: tc.products, Locations: 1, Unlimited: tc.unlimited}
			if !tc.unlimited {
				opts.Limits = DefaultRates()
			}
			var total int
			var elapsed time.Duration
			var stats Stats
			for i := 0; i < b.N; i++ {
				e := newEnv(b, opts)
				c := e.connector(b, e.credentials(), tc.version)
				start := time.Now()
				n := 0
				err := c.Read(context.Background(), connectors.ReadRequest{Entity: tc.entity}, func(_ context.Context, p connectors.Page) error {
					n += len(p.Records)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				total += n
				s := c.Stats()
				stats.Requests += s.Requests
				stats.RateLimited += s.RateLimited
			}
			perSec := float64(total) / elapsed.Seconds()
			b.ReportMetric(perSec, "records/s")
			b.ReportMetric(float64(stats.Requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(stats.RateLimited)/float64(b.N), "throttled/op")
			if tc.ceiling != nil {
				if c := tc.ceiling(total / b.N); !math.IsInf(c, 1) {
					b.ReportMetric(c, "ceiling-records/s")
				}
			}
		})
	}
}
