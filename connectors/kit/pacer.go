package kit

import (
	"context"
	"math"
	"net/http"
	"sync"
	"time"
)

// Pacer paces a Client's requests: Wait is called before every attempt and Observe with every response
// (headers only; the body is already read).
type Pacer interface {
	Wait(ctx context.Context) error
	Observe(resp *http.Response)
}

// AdaptivePacer paces requests to a platform whose only rate-limit signal is HTTP 429 (no rate headers),
// for example a store behind a WAF. It is unpaced until a 429. A 429 holds every request until its
// Retry-After has passed and, once per throttling episode, sets the ceiling to the rate the platform actually
// admitted (the successes since the 429 before, over one to ten seconds, or over the run so far when it is
// younger) and the pace to 80% of it: the multiplicative decrease of AIMD. Every quiet quarter second after
// the hold the pace recovers: back up to the ceiling by half each step, then above it. How fast it probes
// above it depends on whether the limit looks real. A 429 that comes back within a minute at half the
// ceiling or more confirms it: the pace then probes slowly (2.5% of the ceiling a second, doubling every 2.5s
// after ten quiet seconds, as TCP CUBIC's convex probe), so a host that keeps answering 429 is held near
// its limit with a 429 every ten seconds or so. An unconfirmed ceiling (a stray 429, or the first burst of a
// run) is probed past quickly, doubling the pace every step, so it costs well under a second. At four times
// the ceiling the pacer is unpaced again.
//
// The zero value is usable; NewAdaptivePacer is the same. An AdaptivePacer is safe for concurrent use.
type AdaptivePacer struct {
	// Floor is the slowest pace in requests per second (default 0.5).
	Floor float64
	// RetryAfter reads a 429's advice on when to retry (default RetryAfterHeader).
	RetryAfter func(*http.Response) time.Duration
	// Now and Sleep are the clock; tests may replace them (defaults time.Now and Sleep).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	mu           sync.Mutex
	max          float64   // the cap in requests per second; 0: none
	limit        float64   // the pace; 0: unpaced
	ceiling      float64   // the rate that drew the last 429; 0 before any
	confirmed    bool      // the ceiling was drawn twice: a real limit
	probes       int       // quiet intervals since the pace reached the ceiling
	lastStep     time.Time // when the pace last changed
	granted      time.Time // when the last request went
	hold         time.Time // no request before this (a 429's Retry-After)
	lastThrottle time.Time // the last 429 that lowered the pace
	start        time.Time // the first request
	successes    []time.Time
	sinceLimit   bool // a success came since the last decrease (one decrease per throttling episode)
}

const (
	pacerWindow        = time.Second             // the shortest span an achieved rate is measured over
	pacerMaxWindow     = 10 * time.Second        // and the longest
	pacerMinSpan       = 10 * time.Millisecond   // the shortest span at the start of a run
	pacerInterval      = 250 * time.Millisecond  // the pace recovers once per quiet interval
	pacerDecrease      = 0.8                     // multiplicative decrease on a 429
	pacerClimb         = 1.5                     // growth per interval back up to the ceiling
	pacerFastProbe     = 2.0                     // growth per interval above an unconfirmed ceiling
	pacerProbe         = 0.025                   // growth a second above a confirmed ceiling, as a share of it
	pacerPlateau       = 10 * time.Second        // for this long after the 429
	pacerProbeDoubling = 2500 * time.Millisecond // then doubling this often
	pacerUnpaced       = 4.0                     // unpaced again at this multiple of the ceiling
	pacerConfirm       = 0.5                     // a 429 at this share of the ceiling or more confirms it
	pacerMemory        = 60 * time.Second        // within this time of the last one
	pacerDefaultFloor  = 0.5
	pacerMaxSamples    = 4096
	pacerMaxInterval   = 256 // steps applied at once after a long quiet spell
)

// NewAdaptivePacer returns an unpaced AdaptivePacer.
func NewAdaptivePacer() *AdaptivePacer { return &AdaptivePacer{} }

// SetMax caps the pace at perSecond requests per second from now on; zero or less removes the cap. With a
// cap the pacer is never unpaced.
func (p *AdaptivePacer) SetMax(perSecond float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.max = max(perSecond, 0)
	if p.max > 0 && (p.limit == 0 || p.limit > p.max) {
		p.limit = p.max
	}
	if p.max == 0 && p.ceiling == 0 {
		p.limit = 0
	}
}

// SetRate paces at perSecond requests per second from now on, adapting from there as after a 429; zero or
// less: unpaced until a 429.
func (p *AdaptivePacer) SetRate(perSecond float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limit = p.capped(max(perSecond, 0))
	p.lastStep = p.now()
}

// Rate is the pace in requests per second, zero when unpaced.
func (p *AdaptivePacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit
}

// Remaining estimates how long n more requests take at the current pace; zero when unpaced.
func (p *AdaptivePacer) Remaining(n float64) time.Duration {
	r := p.Rate()
	if r <= 0 || n <= 0 {
		return 0
	}
	return time.Duration(n / r * float64(time.Second))
}

// Wait blocks until the next request may go: after any Retry-After and at the pace. A pace that rises while
// a request waits lets it go sooner.
func (p *AdaptivePacer) Wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		now := p.now()
		if p.start.IsZero() {
			p.start = now
		}
		p.step(now)
		at := later(now, p.hold)
		if p.limit > 0 && !p.granted.IsZero() {
			at = later(at, p.granted.Add(time.Duration(float64(time.Second)/p.limit)))
		}
		if !at.After(now) {
			p.granted = now
			p.mu.Unlock()
			return ctx.Err()
		}
		p.mu.Unlock()
		sleep := Sleep
		if p.Sleep != nil {
			sleep = p.Sleep
		}
		if err := sleep(ctx, min(at.Sub(now), pacerInterval)); err != nil {
			return err
		}
	}
}

// Observe adapts the pace to a response.
func (p *AdaptivePacer) Observe(resp *http.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.start.IsZero() {
		p.start = now
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		ra := p.RetryAfter
		if ra == nil {
			ra = RetryAfterHeader
		}
		if h := now.Add(ra(resp)); h.After(p.hold) {
			p.hold = h
		}
		p.throttled(now)
	case resp.StatusCode < 300:
		p.successes = append(p.successes, now)
		if len(p.successes) > pacerMaxSamples {
			p.successes = append(p.successes[:0], p.successes[len(p.successes)-pacerMaxSamples/2:]...)
		}
		p.sinceLimit = true
		p.step(now)
	}
}

// throttled lowers the pace on a 429, once per throttling episode: a retry that meets another 429 before any
// request got through is the same episode.
func (p *AdaptivePacer) throttled(now time.Time) {
	if p.ceiling > 0 && !p.sinceLimit {
		p.lastStep = later(now, p.hold)
		return
	}
	achieved := p.achieved(now)
	if achieved == 0 && p.limit == 0 {
		// Nothing got through yet to measure: the hold and the client's backoff are all there is to go by.
		return
	}
	recent := p.ceiling > 0 && now.Sub(p.lastThrottle) <= pacerMemory
	base := achieved
	if p.limit > 0 {
		base = min(base, p.limit)
		if recent && !p.confirmed && p.limit > p.ceiling {
			// Probing fast above an unconfirmed ceiling, the pace of the interval before did not draw a 429.
			base = max(base, p.limit/pacerFastProbe)
		}
	}
	// A limit is confirmed when a recent 429 came back at about the rate that drew the one before.
	p.confirmed = recent && achieved >= pacerConfirm*p.ceiling
	p.ceiling = max(base, p.floor())
	p.limit = p.capped(max(base*pacerDecrease, p.floor()))
	p.probes = 0
	p.lastThrottle = now
	p.lastStep = later(now, p.hold) // quiet intervals count from the end of the hold
	p.sinceLimit = false
}

// step raises the pace for every quiet interval since it last changed.
func (p *AdaptivePacer) step(now time.Time) {
	if p.limit == 0 || p.ceiling == 0 {
		return
	}
	for i := 0; now.Sub(p.lastStep) >= pacerInterval; i++ {
		p.lastStep = p.lastStep.Add(pacerInterval)
		switch {
		case i >= pacerMaxInterval:
			p.lastStep = now
			p.limit = 0
		case p.limit < p.ceiling:
			p.limit = min(p.limit*pacerClimb, p.ceiling)
		case !p.confirmed:
			p.limit *= pacerFastProbe
		default:
			// Above a confirmed ceiling: slowly at first, then faster the longer no 429 comes.
			quiet := p.lastStep.Sub(p.lastThrottle)
			g := pacerProbe * math.Pow(2, max(0, (quiet-pacerPlateau).Seconds()/pacerProbeDoubling.Seconds()))
			p.limit += p.ceiling * g * pacerInterval.Seconds()
		}
		if p.limit >= pacerUnpaced*p.ceiling {
			p.limit = 0
		}
		p.limit = p.capped(p.limit)
		if p.limit == 0 {
			p.lastStep = now
			return
		}
	}
}

// achieved is the rate of successes since the last 429 (over one to ten seconds), or over the run so far
// when it is younger. Between two 429s a token bucket admits its refill rate, however long the wait was.
func (p *AdaptivePacer) achieved(now time.Time) float64 {
	from := now.Add(-pacerWindow)
	if !p.lastThrottle.IsZero() && p.lastThrottle.Before(from) {
		from = later(p.lastThrottle, now.Add(-pacerMaxWindow))
	}
	from = later(from, p.start)
	span := max(now.Sub(from), pacerMinSpan)
	n := 0
	for i := len(p.successes) - 1; i >= 0 && p.successes[i].After(from); i-- {
		n++
	}
	return float64(n) / span.Seconds()
}

// capped applies the cap to a pace; an unpaced pace (0) becomes the cap.
func (p *AdaptivePacer) capped(l float64) float64 {
	if p.max > 0 && (l == 0 || l > p.max) {
		return p.max
	}
	if math.IsInf(l, 1) {
		return 0
	}
	return l
}

func (p *AdaptivePacer) floor() float64 {
	if p.Floor > 0 {
		return p.Floor
	}
	return pacerDefaultFloor
}

func (p *AdaptivePacer) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
