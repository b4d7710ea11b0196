package magento

import (
	"context"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// BenchmarkBackfill reads a default-sized store (3000 orders, 200 products, 4 sources) whole, every entity,
// with the rate limit off and at the sandbox's WAF rule, and reports records/s next to the ceiling the rule
// allows (its requests per second times the records the read got per request). Rate-limited runs take
// seconds by nature; run with -benchtime=1x:
//
//	go test ./connectors/magento/ -run '^$' -bench Backfill -benchtime=1x
func BenchmarkBackfill(b *testing.B) {
	cases := []struct {
		name      string
		rl        RateLimit
		unlimited bool
	}{
		{"unlimited", RateLimit{}, true},
		{"waf-10rps", DefaultRateLimit, false},
		{"waf-4rps", RateLimit{PerSecond: 4, Burst: 8}, false},
	}
	entities := []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b, func(o *SandboxOptions) {
				*o = SandboxOptions{Seed: 1, RateLimit: tc.rl, Unlimited: tc.unlimited}
			})
			var records, requests, throttled int64
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				// Let the WAF's bucket refill between runs.
				time.Sleep(time.Duration(tc.rl.Burst / max(tc.rl.PerSecond, 1) * float64(time.Second)))
				c := e.connector(b, e.oauthCredentials())
				start := time.Now()
				for _, entity := range entities {
					err := c.Read(context.Background(), connectors.ReadRequest{Entity: entity}, func(_ context.Context, p connectors.Page) error {
						records += int64(len(p.Records))
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				elapsed += time.Since(start)
				st := c.Stats()
				requests += st.Requests
				throttled += st.RateLimited
			}
			b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(throttled)/float64(b.N), "throttled/op")
			if !tc.unlimited {
				// The ceiling: the rule's sustained rate times the records a request carried; and the least
				// time the rule allows for the requests that got through (its burst at once, the rest at its
				// rate), next to the time taken.
				ok := float64(requests-throttled) / float64(b.N)
				b.ReportMetric(tc.rl.PerSecond*float64(records)/float64(requests-throttled), "ceiling-records/s")
				b.ReportMetric(max(0, ok-tc.rl.Burst)/tc.rl.PerSecond, "min-s-at-limit")
				b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/read")
			}
		})
	}
}
