package woocommerce

import (
	"context"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// BenchmarkBackfill reads a store's whole order history and catalog with the host's rate limit off and at the
// registered sandbox's limit (DefaultSandboxRateLimit requests per second, 100 records a page), and reports the
// records per second next to the ceiling that limit allows. The limited cases take seconds by nature; run with
// -benchtime=1x:
//
//	go test ./connectors/woocommerce/ -run '^$' -bench Backfill -benchtime=1x
func BenchmarkBackfill(b *testing.B) {
	cases := []struct {
		name     string
		entity   v1alpha1.DataType
		orders   int
		products int
		limit    float64
	}{
		{"orders/unlimited", v1alpha1.DataOrders, 3000, 200, 0},
		{"products/unlimited", v1alpha1.DataProducts, 300, 200, 0},
		{"orders/5rps", v1alpha1.DataOrders, 1500, 40, DefaultSandboxRateLimit},
		{"products/5rps", v1alpha1.DataProducts, 300, 30, DefaultSandboxRateLimit},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b, SandboxOptions{Seed: 1, Orders: tc.orders, Products: tc.products, Locations: 4, RateLimit: tc.limit})
			var records, requests, limited int64
			start := time.Now()
			for i := 0; i < b.N; i++ {
				c := e.connector(b)
				err := c.Read(context.Background(), connectors.ReadRequest{Entity: tc.entity}, func(_ context.Context, p connectors.Page) error {
					records += int64(len(p.Records))
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				s := c.Stats()
				requests += s.Requests
				limited += s.RateLimited
			}
			elapsed := time.Since(start).Seconds()
			b.ReportMetric(float64(records)/elapsed, "records/s")
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(limited)/float64(b.N), "429s/op")
			if tc.limit > 0 {
				// The ceiling: every request the limit allows returns a full page's worth of records.
				b.ReportMetric(float64(records)/float64(requests)*tc.limit, "ceiling-records/s")
			}
		})
	}
}
