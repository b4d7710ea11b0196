package etsy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

// Rate-limit headers Etsy sends on every API response.
const (
	headerLimitPerSecond      = "X-Limit-Per-Second"
	headerRemainingThisSecond = "X-Remaining-This-Second"
	headerLimitPerDay         = "X-Limit-Per-Day"
	headerRemainingToday      = "X-Remaining-Today"
)

// pacer spaces requests to the per-second limit Etsy reports, and keeps the daily quota for estimates.
// Before the first response it does not wait: the connector sends one request at a time, and that response
// says what the limit is.
type pacer struct {
	limiter *rate.Limiter

	mu             sync.Mutex
	perSecond      int
	perDay         int
	remainingToday int
	notBefore      time.Time
	wait           time.Duration
}

func newPacer() *pacer {
	return &pacer{limiter: rate.NewLimiter(rate.Inf, 1), remainingToday: -1}
}

func headerInt(h http.Header, key string) (int, bool) {
	v := strings.TrimSpace(h.Get(key))
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// observe reads the rate-limit headers of a response.
func (p *pacer) observe(resp *http.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n, ok := headerInt(resp.Header, headerLimitPerSecond); ok && n > 0 && n != p.perSecond {
		p.perSecond = n
		p.limiter.SetLimit(rate.Limit(n))
	}
	if n, ok := headerInt(resp.Header, headerRemainingThisSecond); ok && n <= 0 && p.perSecond > 0 {
		// The second's quota is spent (other clients of the app share it): let one request's worth refill.
		p.notBefore = time.Now().Add(time.Second / time.Duration(p.perSecond))
	}
	if n, ok := headerInt(resp.Header, headerLimitPerDay); ok && n > 0 {
		p.perDay = n
	}
	if n, ok := headerInt(resp.Header, headerRemainingToday); ok {
		p.remainingToday = n
	}
}

// pace waits until the next request may be sent.
func (p *pacer) pace(ctx context.Context) error {
	start := time.Now()
	p.mu.Lock()
	nb := p.notBefore
	p.mu.Unlock()
	if d := time.Until(nb); d > 0 {
		if err := kit.Sleep(ctx, d); err != nil {
			return err
		}
	}
	if err := p.limiter.Wait(ctx); err != nil {
		return err
	}
	if d := time.Since(start); d > time.Millisecond {
		p.mu.Lock()
		p.wait += d
		p.mu.Unlock()
	}
	return nil
}

func (p *pacer) waited() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wait
}

// estimate is how long n more requests take at the reported limits: at the per-second rate while the daily
// quota lasts, and at the daily quota's average rate after that. Zero when no limit has been reported.
func (p *pacer) estimate(n int) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n <= 0 || p.perSecond <= 0 {
		return 0
	}
	d := time.Duration(n) * time.Second / time.Duration(p.perSecond)
	if p.perDay > 0 && p.remainingToday >= 0 && n > p.remainingToday {
		d += time.Duration(n-p.remainingToday) * (24 * time.Hour / time.Duration(p.perDay))
	}
	return d
}

// errWaitTooLong stops kit's retry loop when the platform asks for a longer wait than MaxRetryWait.
var errWaitTooLong = errors.New("etsy: the retry-after is longer than the connector waits in-process")

func (c *Connector) sleep(ctx context.Context, d time.Duration) error {
	if c.MaxRetryWait > 0 && d > c.MaxRetryWait {
		return errWaitTooLong
	}
	return kit.Sleep(ctx, d)
}

// oauthError is the OAuth error body of the token endpoint and of the API's 401s.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// tokenRejected marks a 401 from the API: the access token is expired or unknown.
type tokenRejected struct{ oauthError }

func (e *tokenRejected) Error() string {
	return fmt.Sprintf("access token rejected (%s: %s)", e.oauthError.Error, e.Description)
}

// apiError is the body of Etsy's API errors.
type apiError struct {
	Error string `json:"error"`
}

// checkResponse classifies every non-2xx response in Etsy's terms, before kit's generic rules.
func (c *Connector) checkResponse(resp *http.Response, body []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	path := resp.Request.URL.Path
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	detail := ae.Error
	if detail == "" {
		detail = kit.Snippet(body)
	}
	err := fmt.Errorf("%s %s: HTTP %d: %s", resp.Request.Method, path, resp.StatusCode, detail)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		var oe oauthError
		_ = json.Unmarshal(body, &oe)
		return connectors.Auth("Unauthorized", fmt.Errorf("%s %s: HTTP 401: %w", resp.Request.Method, path, &tokenRejected{oe}))
	case resp.StatusCode == http.StatusForbidden:
		// Etsy answers 403 for an API key it does not accept and for a shop the token may not read.
		return connectors.Auth("Unauthorized", err)
	case resp.StatusCode == http.StatusTooManyRequests:
		return connectors.Transient("RateLimited", kit.RetryAfterHeader(resp), err)
	case resp.StatusCode >= 500:
		return connectors.Transient("PlatformUnavailable", kit.RetryAfterHeader(resp), err)
	case resp.StatusCode == http.StatusNotFound:
		return connectors.Terminal("NotFound", err)
	}
	return connectors.Terminal("RequestRejected", err)
}

// get sends a GET to the API path with the query and decodes the JSON answer into out. The access token is
// the Tokens' current one; a 401 has the Tokens renew it (one refresh however many requests saw the same
// stale token) and tries once more.
func (c *Connector) get(ctx context.Context, path string, q url.Values, out any) error {
	u := c.apiBase + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return c.redact(err)
		}
		token := tok.AccessToken
		resp, err := c.client.Do(ctx, func(ctx context.Context) (*http.Request, error) {
			if err := c.pacer.pace(ctx); err != nil {
				return nil, err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("x-api-key", c.apiKey)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Accept", "application/json")
			req.Header.Set("User-Agent", userAgent)
			return req, nil
		})
		var rejected *tokenRejected
		if errors.As(err, &rejected) && attempt == 0 {
			if _, err := c.tokens.Renew(ctx, token); err != nil {
				return c.redact(err, token)
			}
			continue
		}
		if err != nil {
			return c.redact(err, token)
		}
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return connectors.Transient("MalformedResponse", 0, fmt.Errorf("decode %s: %w", path, err))
		}
		return nil
	}
}

// redact removes every credential value, and the tokens given, from an error's message, keeping its
// classification.
func (c *Connector) redact(err error, tokens ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	secrets := append(append([]string(nil), c.secrets...), tokens...)
	clean := msg
	for _, s := range secrets {
		if len(s) >= 4 {
			clean = strings.ReplaceAll(clean, s, "[redacted]")
		}
	}
	if clean == msg {
		return err
	}
	var ce *connectors.Error
	if errors.As(err, &ce) {
		return &connectors.Error{Class: ce.Class, Reason: ce.Reason, RetryAfter: ce.RetryAfter, Err: errors.New(clean)}
	}
	return errors.New(clean)
}

// money is Etsy's Money object.
type money struct {
	Amount       int64  `json:"amount"`
	Divisor      int64  `json:"divisor"`
	CurrencyCode string `json:"currency_code"`
}

// Decimal renders amount/divisor exactly as a decimal string ("12.50" for 1250/100). A divisor that does
// not give a terminating decimal (never seen from Etsy) is rounded to 8 places.
func (m money) Decimal() string {
	return decimalString(m.Amount, m.Divisor)
}

func decimalString(amount, divisor int64) string {
	if divisor <= 0 {
		divisor = 1
	}
	// Powers of ten, Etsy's divisors, need no arithmetic: place the decimal point.
	if places := powerOfTen(divisor); places >= 0 {
		neg := amount < 0
		digits := new(big.Int).Abs(big.NewInt(amount)).String()
		if places > 0 {
			if len(digits) <= places {
				digits = strings.Repeat("0", places-len(digits)+1) + digits
			}
			digits = digits[:len(digits)-places] + "." + digits[len(digits)-places:]
		}
		if neg && strings.Trim(digits, "0.") != "" {
			digits = "-" + digits
		}
		return digits
	}
	r := new(big.Rat).SetFrac(big.NewInt(amount), big.NewInt(divisor))
	if s, exact := r.FloatPrec(); exact {
		return r.FloatString(s)
	}
	return r.FloatString(8)
}

func powerOfTen(n int64) int {
	places := 0
	for n > 1 {
		if n%10 != 0 {
			return -1
		}
		n /= 10
		places++
	}
	return places
}

func rfc3339(unix int64) string {
	return time.Unix(unix, 0).UTC().Format(time.RFC3339)
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }
