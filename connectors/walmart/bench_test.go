package walmart

import (
	"context"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// BenchmarkBackfill reads a seller's 180 days of orders, and the inventory of every SKU at every ship node,
// with the rate limit off and at the sandbox's default per-endpoint buckets. It reports records/s and, for
// the limited cases, the steady-state ceiling the bucket allows (refill rate x page size). Run it with
// -benchtime=1x:
//
//	go test ./connectors/walmart/ -run '^$' -bench Backfill -benchtime=1x
func BenchmarkBackfill(b *testing.B) {
	cases := []struct {
		name      string
		entity    v1alpha1.DataType
		seed      sandboxkit.Options
		unlimited bool
		ceiling   float64 // records per second the default limit allows
	}{
		{"orders/unlimited", v1alpha1.DataOrders, sandboxkit.Options{Seed: 1, Orders: 10000, Products: 200, Locations: 4}, true, 0},
		{"orders/default-limit", v1alpha1.DataOrders, sandboxkit.Options{Seed: 1, Orders: 10000, Products: 200, Locations: 4}, false,
			DefaultLimits.Orders.PerSecond * 200},
		{"inventory/unlimited", v1alpha1.DataInventory, sandboxkit.Options{Seed: 1, Orders: 10, Products: 500, Locations: 4}, true, 0},
		{"inventory/default-limit", v1alpha1.DataInventory, sandboxkit.Options{Seed: 1, Orders: 10, Products: 500, Locations: 4}, false,
			DefaultLimits.Inventories.PerSecond * 50 * 4},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b, SandboxOptions{Seed: tc.seed, Unlimited: tc.unlimited})
			var total int
			var stats Stats
			start := time.Now()
			for i := 0; i < b.N; i++ {
				c := e.connector(b)
				n := 0
				err := c.Read(context.Background(), connectors.ReadRequest{Entity: tc.entity}, func(_ context.Context, p connectors.Page) error {
					n += len(p.Records)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				total += n
				s := c.Stats()
				stats.Requests += s.Requests
				stats.RateLimited += s.RateLimited
				stats.Paced += s.Paced
			}
			elapsed := time.Since(start).Seconds()
			b.ReportMetric(float64(total)/elapsed, "records/s")
			if tc.ceiling > 0 {
				b.ReportMetric(tc.ceiling, "ceiling-records/s")
			}
			b.ReportMetric(float64(stats.Requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(stats.RateLimited)/float64(b.N), "429s/op")
			b.ReportMetric(float64(stats.Paced)/float64(b.N), "paced/op")
		})
	}
}
