package sandboxkit

import (
	"math"
	"sync"
	"time"
)

// Bucket is a token bucket (a leaky bucket seen from the other side): Capacity tokens, refilled at Rate per
// second. Sandboxes use it for request limits (Rate requests per second, Capacity the burst) and cost limits.
type Bucket struct {
	Capacity float64
	Rate     float64
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	tokens   float64
	last     time.Time
	started  bool
	disabled bool
}

// NewBucket returns a full bucket.
func NewBucket(capacity, ratePerSecond float64) *Bucket {
	return &Bucket{Capacity: capacity, Rate: ratePerSecond}
}

// Unlimited returns a bucket that never refuses.
func Unlimited() *Bucket { return &Bucket{disabled: true} }

func (b *Bucket) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Bucket) refill() {
	now := b.now()
	if !b.started {
		b.tokens, b.last, b.started = b.Capacity, now, true
		return
	}
	b.tokens = math.Min(b.Capacity, b.tokens+now.Sub(b.last).Seconds()*b.Rate)
	b.last = now
}

// Take removes n tokens if there are that many and reports true; otherwise it removes nothing and returns how
// long until n tokens are there.
func (b *Bucket) Take(n float64) (bool, time.Duration) {
	if b == nil || b.disabled {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if b.tokens >= n {
		b.tokens -= n
		return true, 0
	}
	if b.Rate <= 0 {
		return false, time.Hour
	}
	return false, time.Duration((n - b.tokens) / b.Rate * float64(time.Second))
}

// Remaining is the number of tokens now.
func (b *Bucket) Remaining() float64 {
	if b == nil || b.disabled {
		return math.Inf(1)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	return b.tokens
}

// Disabled reports whether the bucket never refuses.
func (b *Bucket) Disabled() bool { return b == nil || b.disabled }
