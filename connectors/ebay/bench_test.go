package ebay

import (
	"context"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// BenchmarkBackfill reads a seller's whole order history (200 orders a page) with the sandbox's throttle off,
// at its default throttle (10 requests a second, bursts of 10) starting unpaced as a new connector does, and
// at that throttle with the pace preset to it. The ceiling metric is what the throttle allows: requests a
// second times orders a page. Run it with -benchtime=1x:
//
//	go test ./connectors/ebay/ -run '^$' -bench Backfill -benchtime=1x
func BenchmarkBackfill(b *testing.B) {
	cases := []struct {
		name      string
		unlimited bool
		preset    float64 // requests a second the connector starts paced at; 0: unpaced
	}{
		{"orders/unlimited", true, 0},
		{"orders/limited", false, 0},
		{"orders/limited-preset", false, DefaultRateLimit.PerSecond},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			opts := SandboxOptions{Seed: 1, Orders: 8000, Products: 200, Locations: 4, Unlimited: tc.unlimited}
			if !tc.unlimited {
				opts.RateLimit = DefaultRateLimit
			}
			e := newEnv(b, opts)
			var records, requests, throttled int64
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				// A new connector each time, with the production backoff, so every run starts unpaced.
				c := e.connector(b, nil)
				c.client.BaseBackoff, c.client.MaxBackoff = 0, 0
				c.pacer.SetRate(tc.preset)
				if err := c.Check(context.Background()); err != nil { // the token fetch is not part of the read
					b.Fatal(err)
				}
				if !tc.unlimited {
					time.Sleep(time.Second) // let the bucket refill after Check and the previous run
				}
				start := time.Now()
				err := c.Read(context.Background(), connectors.ReadRequest{Entity: v1alpha1.DataOrders}, func(_ context.Context, p connectors.Page) error {
					records += int64(len(p.Records))
					return nil
				})
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				s := c.Stats()
				requests += s.Requests - 1
				throttled += s.RateLimited
			}
			b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
			if !tc.unlimited {
				b.ReportMetric(DefaultRateLimit.PerSecond*MaxOrdersPerPage, "ceiling-records/s")
			}
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(throttled)/float64(b.N), "throttled/op")
		})
	}
}
