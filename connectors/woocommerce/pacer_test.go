package woocommerce

import (
	"math"
	"net/http"
	"testing"

	"golang.org/x/time/rate"
)

func TestPacerBacksOffOn429AndProbesBackUp(t *testing.T) {
	p := newPacer()
	ok, limited := &http.Response{StatusCode: 200}, &http.Response{StatusCode: 429}
	for i := 0; i < 10; i++ {
		p.observe(ok)
	}
	if p.limiter.Limit() != rate.Inf {
		t.Fatalf("paced before any 429: %v", p.limiter.Limit())
	}
	p.observe(limited) // 11 responses in the last second
	if got := float64(p.limiter.Limit()); math.Abs(got-0.8*11) > 1e-9 {
		t.Fatalf("after a 429 at 11 req/s the pace is %.2f, want 80%%", got)
	}
	steps := []struct {
		successes int
		want      float64
	}{{pacerSpan, 11}, {2 * pacerSpan, 11 * 1.2}, {3 * pacerSpan, 11 * 2.6}}
	done := 0
	for _, s := range steps {
		for ; done < s.successes; done++ {
			p.observe(ok)
		}
		if got := float64(p.limiter.Limit()); math.Abs(got-s.want) > 1e-6 {
			t.Errorf("after %d successes the pace is %.3f, want %.3f", s.successes, got, s.want)
		}
	}
	p.setMax(15)
	p.observe(ok)
	if got := float64(p.limiter.Limit()); got != 15 {
		t.Errorf("capped pace = %v, want 15", got)
	}
}
