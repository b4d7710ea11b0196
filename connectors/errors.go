package connectors

import (
	"errors"
	"fmt"
	"time"
)

// Class is what an error means for the integration's state machine.
type Class int

const (
	// ClassTransient errors (429, 5xx, timeouts, resets) are retried with backoff.
	ClassTransient Class = iota
	// ClassAuth errors (rejected or revoked credentials) disconnect the integration until credentials change.
	ClassAuth
	// ClassTerminal errors (invalid configuration, a mapping that fails) stall the integration until its spec
	// changes.
	ClassTerminal
)

func (c Class) String() string {
	switch c {
	case ClassAuth:
		return "Auth"
	case ClassTerminal:
		return "Terminal"
	default:
		return "Transient"
	}
}

// Error is an error classified once, where it is understood (usually in the platform package).
type Error struct {
	Class Class
	// Reason is a short CamelCase word for conditions and events, for example "Throttled" or "TokenRevoked".
	Reason string
	// RetryAfter is the platform's own advice on when to retry, when it gave one.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Transient classifies err as retryable.
func Transient(reason string, retryAfter time.Duration, err error) error {
	return &Error{Class: ClassTransient, Reason: reason, RetryAfter: retryAfter, Err: err}
}

// Auth classifies err as a credentials failure.
func Auth(reason string, err error) error {
	return &Error{Class: ClassAuth, Reason: reason, Err: err}
}

// Terminal classifies err as a failure that retrying will not fix.
func Terminal(reason string, err error) error {
	return &Error{Class: ClassTerminal, Reason: reason, Err: err}
}

// Classify returns the class and reason of err. Unclassified errors are transient: an unknown failure is retried,
// and escalates to Stalled once it outlasts the integration's timeout.
func Classify(err error) (Class, string) {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Class, ce.Reason
	}
	return ClassTransient, "SyncFailed"
}

// RetryAfter returns the retry advice carried by err, if any.
func RetryAfter(err error) time.Duration {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.RetryAfter
	}
	return 0
}

// HTTPStatusError classifies an unexpected HTTP status the way most platforms mean it: 401/403 are auth
// failures, 429 and 5xx are transient, other 4xx are terminal. Platforms with other conventions classify
// their own responses.
func HTTPStatusError(platform string, status int, retryAfter time.Duration, detail string) error {
	err := fmt.Errorf("%s: HTTP %d: %s", platform, status, detail)
	switch {
	case status == 401 || status == 403:
		return Auth("Unauthorized", err)
	case status == 429:
		return Transient("RateLimited", retryAfter, err)
	case status >= 500:
		return Transient("PlatformUnavailable", retryAfter, err)
	default:
		return Terminal("RequestRejected", err)
	}
}
