package bigcommerce

import (
	"context"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// BenchmarkBackfill reads a store's whole history with the rate limit off and at BigCommerce's Standard
// quota (150 requests per 30 s, shared by the store's apps), the latter also at ten times the speed to keep
// the run short. Every order costs a request for its lines, so at a quota the ceiling is about
// quota/window orders per second; ceiling_records/s reports it. Run with -benchtime=1x:
//
//	go test ./connectors/bigcommerce/ -run '^$' -bench Backfill -benchtime=1x
func BenchmarkBackfill(b *testing.B) {
	all := []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory}
	orders := []connectors.Entity{v1alpha1.DataOrders}
	cases := []struct {
		name     string
		orders   int
		entities []connectors.Entity
		rl       RateLimit
	}{
		{"orders/unlimited", 3000, orders, RateLimit{}},
		{"store/unlimited", 3000, all, RateLimit{}},
		{"orders/standard", 15, orders, PlanStandard},
		{"orders/standard-x10", 150, orders, RateLimit{Quota: 150, Window: 3 * time.Second}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b, SandboxOptions{Seed: 1, Orders: tc.orders, Products: 200, Locations: 4, RateLimit: tc.rl})
			var records, requests, throttled int64
			start := time.Now()
			for i := 0; i < b.N; i++ {
				c := e.connector(b, e.sb.AccessToken())
				for _, ent := range tc.entities {
					err := c.Read(context.Background(), connectors.ReadRequest{Entity: ent}, func(_ context.Context, p connectors.Page) error {
						records += int64(len(p.Records))
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				s := c.Stats()
				requests += s.Requests
				throttled += s.RateLimited
			}
			elapsed := time.Since(start).Seconds()
			b.ReportMetric(float64(records)/elapsed, "records/s")
			b.ReportMetric(float64(requests)/elapsed, "requests/s")
			b.ReportMetric(float64(throttled)/float64(b.N), "throttled/op")
			if tc.rl.Quota > 0 {
				perSecond := float64(tc.rl.Quota) / tc.rl.Window.Seconds()
				b.ReportMetric(perSecond, "ceiling_requests/s")
				b.ReportMetric(perSecond*float64(records)/float64(requests), "ceiling_records/s")
			}
		})
	}
}
