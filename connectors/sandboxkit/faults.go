package sandboxkit

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Faults injects failures in front of a sandbox handler and counts the requests that reach it. The zero value
// injects nothing.
type Faults struct {
	mu        sync.Mutex
	failNext  []int
	resetNext int
	delay     time.Duration

	requests atomic.Int64
}

// FailNext makes the next n requests answer with the HTTP status.
func (f *Faults) FailNext(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.failNext = append(f.failNext, status)
	}
}

// ResetNext makes the next n requests drop their connection without an answer.
func (f *Faults) ResetNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resetNext += n
}

// Delay makes every request wait d before it is served (0 turns it off).
func (f *Faults) Delay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// Requests is the number of requests received.
func (f *Faults) Requests() int64 { return f.requests.Load() }

// Wrap returns next behind the fault injector. failBody writes a platform-shaped error body for a status.
func (f *Faults) Wrap(next http.Handler, failBody func(w http.ResponseWriter, status int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.mu.Lock()
		delay := f.delay
		reset := f.resetNext > 0
		if reset {
			f.resetNext--
		}
		status := 0
		if !reset && len(f.failNext) > 0 {
			status, f.failNext = f.failNext[0], f.failNext[1:]
		}
		f.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if reset {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		if status != 0 {
			if failBody != nil {
				failBody(w, status)
			} else {
				http.Error(w, http.StatusText(status), status)
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}
