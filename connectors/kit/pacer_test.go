package kit

import (
	"context"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// simClock is a fake clock that sleeping advances.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *simClock) Sleep(ctx context.Context, d time.Duration) error {
	if d > 0 {
		c.Advance(d)
	}
	return ctx.Err()
}

// simPlatform answers requests on the fake clock: each takes latency; the bucket, when set, answers 429 with
// a Retry-After of whole seconds (at least one, as hosts do) when empty; the listed requests (from 1) meet a
// stray 429 with Retry-After: 0.
type simPlatform struct {
	clk       *simClock
	latency   time.Duration
	bucket    *sandboxkit.Bucket
	stray     map[int]bool
	n, served int
	throttled int
}

func (s *simPlatform) RoundTrip(req *http.Request) (*http.Response, error) {
	s.clk.Advance(s.latency)
	s.n++
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: req}
	if s.stray[s.n] {
		resp.StatusCode = http.StatusTooManyRequests
		resp.Header.Set("Retry-After", "0")
		return resp, nil
	}
	if s.bucket != nil {
		if ok, wait := s.bucket.Take(1); !ok {
			s.throttled++
			resp.StatusCode = http.StatusTooManyRequests
			resp.Header.Set("Retry-After", strconv.Itoa(max(int(math.Ceil(wait.Seconds())), 1)))
			return resp, nil
		}
	}
	s.served++
	return resp, nil
}

// simulate sends n requests one after another through a Client paced by an AdaptivePacer, on a fake clock,
// and returns how long they took.
func simulate(t *testing.T, s *simPlatform, n int) (time.Duration, *AdaptivePacer, *Client) {
	t.Helper()
	p := &AdaptivePacer{Now: s.clk.Now, Sleep: s.clk.Sleep}
	c := &Client{HTTP: &http.Client{Transport: s}, Platform: "sim", Pacer: p, Sleep: s.clk.Sleep, MaxRetries: 20}
	start := s.clk.Now()
	for i := 0; i < n; i++ {
		if _, err := c.Do(context.Background(), get("http://sim/x")); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return s.clk.Now().Sub(start), p, c
}

func newSim(latency time.Duration) *simPlatform {
	return &simPlatform{clk: &simClock{t: time.Unix(1700000000, 0)}, latency: latency}
}

// TestPacerShrugsOffAStray429 sends a run of requests in which one request (early, or well into the run)
// meets a 429 that no limit stands behind: the run costs at most the retry's backoff and a second more.
func TestPacerShrugsOffAStray429(t *testing.T) {
	const n = 400
	clean, _, _ := simulate(t, newSim(5*time.Millisecond), n)
	for _, at := range [][]int{{1}, {2}, {200}, {2, 6}} {
		s := newSim(5 * time.Millisecond)
		s.stray = map[int]bool{}
		for _, i := range at {
			s.stray[i] = true
		}
		took, p, c := simulate(t, s, n)
		extra := took - clean
		// The client's own backoff before each retry is at most BaseBackoff (500ms by default).
		budget := time.Duration(len(at))*500*time.Millisecond + time.Second
		t.Logf("stray 429 at %v: %v instead of %v (+%v), %d requests, pace at the end %.1f/s",
			at, took, clean, extra, c.Stats().Requests, p.Rate())
		if extra > budget || extra > 2*time.Second {
			t.Errorf("stray 429 at %v cost %v, want under %v", at, extra, min(budget, 2*time.Second))
		}
		if p.Rate() != 0 {
			t.Errorf("still paced at %.1f/s after a stray 429", p.Rate())
		}
	}
}

// TestPacerHoldsARealLimit runs against token buckets that answer 429 with a Retry-After in whole seconds: the
// run takes about as long as the bucket allows, with few 429s.
func TestPacerHoldsARealLimit(t *testing.T) {
	for _, tc := range []struct {
		rate, burst float64
		latency     time.Duration
		n           int
		slack       float64 // the time allowed over the ideal, as a share of it
		throttled   int64
	}{
		{20, 20, 5 * time.Millisecond, 300, 0.15, 5},
		{20, 20, 80 * time.Millisecond, 300, 0.15, 0}, // latency-bound below 13 req/s: the limit is never in reach
		{5, 10, 20 * time.Millisecond, 150, 0.15, 6},
		{20, 20, 5 * time.Millisecond, 3000, 0.05, 30}, // a long run: about one 429 in ten seconds
		// A burst of 2 with a whole second of Retry-After: every 429 costs a second and says little about the
		// rate, so finding it takes a while. Only bounded here.
		{20, 2, 5 * time.Millisecond, 300, 4, 8},
	} {
		s := newSim(tc.latency)
		s.bucket = sandboxkit.NewBucket(tc.burst, tc.rate)
		s.bucket.Now = s.clk.Now
		took, p, c := simulate(t, s, tc.n)
		ideal := time.Duration((float64(tc.n) - tc.burst) / tc.rate * float64(time.Second))
		if byLatency := time.Duration(tc.n) * tc.latency; byLatency > ideal {
			ideal = byLatency
		}
		st := c.Stats()
		t.Logf("%v req/s, burst %v, latency %v: %d requests in %v (ideal %v, +%.0f%%), %d throttled, pace at the end %.1f/s",
			tc.rate, tc.burst, tc.latency, tc.n, took, ideal, 100*(took.Seconds()/ideal.Seconds()-1), st.RateLimited, p.Rate())
		if over := took.Seconds()/ideal.Seconds() - 1; over > tc.slack {
			t.Errorf("%v req/s, burst %v: took %v, %.0f%% over the ideal %v (want at most %.0f%%)", tc.rate, tc.burst, took, 100*over, ideal, 100*tc.slack)
		}
		if st.RateLimited > tc.throttled {
			t.Errorf("%v req/s, burst %v: %d requests were throttled, want at most %d", tc.rate, tc.burst, st.RateLimited, tc.throttled)
		}
	}
}
