package shopify

import (
	"context"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// BenchmarkBackfillOrders reads a store's whole order history, by pages and by bulk operation, with the rate
// limit off and at a plan's bucket. The rate-limited paginated case is slow by nature (that is the point of
// bulk backfills); run it with -benchtime=1x:
//
//	go test ./connectors/shopify/ -run '^$' -bench BackfillOrders -benchtime=1x
func BenchmarkBackfillOrders(b *testing.B) {
	cases := []struct {
		name      string
		orders    int
		rl        RateLimit
		unlimited bool
		bulk      bool
	}{
		{"paged/unlimited", 3000, RateLimit{}, true, false},
		{"bulk/unlimited", 3000, RateLimit{}, true, true},
		{"paged/plus", 600, PlanPlus, false, false},
		{"bulk/standard", 3000, PlanStandard, false, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b, SandboxOptions{
				RateLimit: tc.rl, Unlimited: tc.unlimited,
				Seed: SeedOptions{Seed: 1, Orders: tc.orders, Products: 200, Locations: 4},
				// Polls return at once; a real job takes seconds to minutes.
				BulkPollsToComplete: 1,
			})
			var total int
			var stats Stats
			start := time.Now()
			for i := 0; i < b.N; i++ {
				c := e.connector(b, e.sb.AccessToken())
				if !tc.bulk {
					c.BulkThreshold = 0
				}
				n := 0
				err := c.Read(context.Background(), connectors.ReadRequest{Entity: v1alpha1.DataOrders}, func(_ context.Context, p connectors.Page) error {
					n += len(p.Records)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				if n < tc.orders {
					b.Fatalf("read %d orders, want %d", n, tc.orders)
				}
				total += n
				s := c.Stats()
				stats.Requests += s.Requests
				stats.Throttled += s.Throttled
			}
			elapsed := time.Since(start).Seconds()
			b.ReportMetric(float64(total)/elapsed, "orders/s")
			b.ReportMetric(float64(stats.Requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(stats.Throttled)/float64(b.N), "throttled/op")
		})
	}
}
