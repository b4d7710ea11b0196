package ebay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

// apiError is one entry of eBay's REST error body: {"errors":[{errorId, domain, category, message, ...}]}.
type apiError struct {
	ErrorID     int    `json:"errorId"`
	Domain      string `json:"domain"`
	Category    string `json:"category"`
	Message     string `json:"message"`
	LongMessage string `json:"longMessage"`
}

type apiErrors struct {
	Errors []apiError `json:"errors"`
}

// errorSummary renders eBay's error body as "errorId 1001 (OAuth): Invalid access token; ...", or a snippet of
// the body when it is not eBay's shape.
func errorSummary(body []byte) string {
	var e apiErrors
	if err := json.Unmarshal(body, &e); err != nil || len(e.Errors) == 0 {
		return kit.Snippet(body)
	}
	parts := make([]string, 0, len(e.Errors))
	for _, x := range e.Errors {
		msg := x.Message
		if x.LongMessage != "" && x.LongMessage != x.Message {
			msg += " - " + x.LongMessage
		}
		parts = append(parts, fmt.Sprintf("errorId %d (%s): %s", x.ErrorID, x.Domain, msg))
	}
	return strings.Join(parts, "; ")
}

// errTokenRejected marks a 401 from an API call: the access token expired early or was revoked, and a fresh
// one may still be accepted.
var errTokenRejected = errors.New("access token rejected")

// checkAPIResponse classifies a Sell API response from eBay's error body.
func checkAPIResponse(resp *http.Response, body []byte) error {
	status := resp.StatusCode
	if status >= 200 && status < 300 {
		return nil
	}
	where := resp.Request.Method + " " + resp.Request.URL.Path
	detail := errorSummary(body)
	switch {
	case status == http.StatusUnauthorized:
		return connectors.Auth("Unauthorized", fmt.Errorf("ebay: %s: HTTP 401: %s: %w", where, detail, errTokenRejected))
	case status == http.StatusForbidden:
		return connectors.Auth("AccessDenied", fmt.Errorf("ebay: %s: HTTP 403 (is the %s or %s scope granted?): %s",
			where, ScopeFulfillment, ScopeInventory, detail))
	case status == http.StatusTooManyRequests:
		return connectors.Transient("RateLimited", kit.RetryAfterHeader(resp), fmt.Errorf("ebay: %s: HTTP 429: %s", where, detail))
	case status >= 500:
		return connectors.Transient("PlatformUnavailable", kit.RetryAfterHeader(resp), fmt.Errorf("ebay: %s: HTTP %d: %s", where, status, detail))
	}
	return connectors.Terminal("RequestRejected", fmt.Errorf("ebay: %s: HTTP %d: %s", where, status, detail))
}

// get sends an authenticated GET for path (with its query) and decodes the JSON body into out. A 401 renews
// the access token and retries once.
func (c *Connector) get(ctx context.Context, pathAndQuery string, out any) error {
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		header := http.Header{}
		header.Set("Authorization", "Bearer "+tok.AccessToken)
		header.Set("User-Agent", userAgent)
		_, err = c.client.GetJSON(ctx, c.base+pathAndQuery, header, out)
		if err != nil && errors.Is(err, errTokenRejected) && attempt == 0 {
			if tok, err = c.tokens.Renew(ctx, tok.AccessToken); err != nil {
				return err
			}
			continue
		}
		return err
	}
}
