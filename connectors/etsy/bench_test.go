package etsy

import (
	"context"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// BenchmarkBackfill reads a shop's whole receipt history and its catalogue with the quota off and at Etsy's
// default quota (10 requests/s). It reports records/s, and at the quota the ceiling: the records/s the same
// requests would give sent at exactly the per-second limit. The quota cases take seconds; run with
// -benchtime=1x:
//
//	go test ./connectors/etsy/ -run '^$' -bench Backfill -benchtime=1x
func BenchmarkBackfill(b *testing.B) {
	cases := []struct {
		name              string
		entity            connectors.Entity
		orders, products  int
		perSecond, perDay int
	}{
		{"orders/unlimited", v1alpha1.DataOrders, 3000, 200, 0, 0},
		{"orders/10qps", v1alpha1.DataOrders, 1500, 40, DefaultPerSecond, DefaultPerDay},
		{"products/unlimited", v1alpha1.DataProducts, 100, 200, 0, 0},
		{"products/10qps", v1alpha1.DataProducts, 100, 30, DefaultPerSecond, DefaultPerDay},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b, SandboxOptions{Seed: 1, Orders: tc.orders, Products: tc.products, Locations: 4,
				PerSecond: tc.perSecond, PerDay: tc.perDay})
			var records, requests int64
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				c := e.connector(b, e.credentials())
				if err := c.Check(context.Background()); err != nil {
					b.Fatal(err)
				}
				before := c.Stats().Requests
				start := time.Now()
				err := c.Read(context.Background(), connectors.ReadRequest{Entity: tc.entity}, func(_ context.Context, p connectors.Page) error {
					records += int64(len(p.Records))
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				requests += c.Stats().Requests - before
			}
			b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(e.sb.Throttled())/float64(b.N), "throttled/op")
			if tc.perSecond > 0 {
				b.ReportMetric(float64(records)/(float64(requests)/float64(tc.perSecond)), "ceiling-records/s")
			}
		})
	}
}
