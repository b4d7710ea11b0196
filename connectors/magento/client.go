package magento

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

// get sends an authenticated GET to base+path?query and decodes the JSON answer into out.
func (c *Connector) get(ctx context.Context, path string, query url.Values, out any) error {
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	resp, err := c.client.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		if c.oauth != nil {
			// A fresh nonce and timestamp on every attempt: Magento refuses a replayed nonce.
			req.Header.Set("Authorization", c.oauth.authorizationHeader(http.MethodGet, req.URL, newNonce(), c.now()))
		} else {
			req.Header.Set("Authorization", "Bearer "+c.bearer)
		}
		return req, nil
	})
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	if err := dec.Decode(out); err != nil {
		// A 200 that does not decode is a response cut short or an HTML page from a proxy: retry later.
		return connectors.Transient("MalformedResponse", 0, fmt.Errorf("magento: decode %s: %w", path, err))
	}
	return nil
}

// errorBody is Magento's REST error shape: {"message":"... %resources ...","parameters":{"resources":"..."}}.
// parameters is an object for named placeholders (%name) and a list for positional ones (%1).
type errorBody struct {
	Message    string          `json:"message"`
	Parameters json.RawMessage `json:"parameters"`
}

// errorMessage renders Magento's error message with its parameters substituted, or a snippet of a body
// that is not Magento's (a proxy's HTML page).
func errorMessage(body []byte) string {
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
		return kit.Snippet(body)
	}
	msg := e.Message
	var named map[string]any
	var positional []any
	if json.Unmarshal(e.Parameters, &named) == nil {
		for k, v := range named {
			msg = strings.ReplaceAll(msg, "%"+k, fmt.Sprint(v))
		}
	} else if json.Unmarshal(e.Parameters, &positional) == nil {
		for i := len(positional); i >= 1; i-- {
			msg = strings.ReplaceAll(msg, "%"+strconv.Itoa(i), fmt.Sprint(positional[i-1]))
		}
	}
	return msg
}

// checkResponse classifies every non-2xx answer with Magento's message in the error. Magento answers any
// authentication failure (a wrong or revoked token, a bad OAuth signature, a bearer token on a store that
// refuses integration tokens as bearer) with 401 "The consumer isn't authorized to access %resources.".
func checkResponse(resp *http.Response, body []byte) error {
	status := resp.StatusCode
	if status >= 200 && status < 300 {
		return nil
	}
	where := resp.Request.Method + " " + resp.Request.URL.Path
	msg := errorMessage(body)
	retryAfter := kit.RetryAfterHeader(resp)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return connectors.Auth("Unauthorized", fmt.Errorf("magento: %s: HTTP %d: %s (check the integration is active, "+
			"its tokens are current and its API resource access covers this call; bearer use of integration tokens "+
			"needs Stores > Configuration > Services > OAuth > Allow OAuth Access Tokens to be used as standalone "+
			"Bearer tokens, otherwise add consumerKey, consumerSecret and accessTokenSecret to sign requests)", where, status, msg))
	case status == http.StatusTooManyRequests:
		return connectors.Transient("RateLimited", retryAfter, fmt.Errorf("magento: %s: HTTP 429: %s", where, msg))
	case status >= 500:
		return connectors.Transient("PlatformUnavailable", retryAfter, fmt.Errorf("magento: %s: HTTP %d: %s", where, status, msg))
	case status == http.StatusNotFound:
		return connectors.Terminal("EndpointNotFound", fmt.Errorf("magento: %s: HTTP 404: %s (is the store URL right, and "+
			"for inventory, are the Inventory (MSI) modules enabled?)", where, msg))
	}
	return connectors.Terminal("RequestRejected", fmt.Errorf("magento: %s: HTTP %d: %s", where, status, msg))
}

// filter is one searchCriteria filter; filters in one group are ORed, groups are ANDed.
type filter struct{ field, value, condition string }

// criteria is a searchCriteria query.
type criteria struct {
	groups   [][]filter
	sorts    [][2]string // field, direction
	pageSize int
	page     int
	fields   string // the fields= partial-response selector, empty for the whole objects
}

// values encodes the criteria as query parameters with the names Adobe's REST schema publishes
// (searchCriteria[filterGroups][g][filters][f][conditionType]).
func (sc criteria) values() url.Values {
	q := url.Values{}
	for g, group := range sc.groups {
		for f, flt := range group {
			p := fmt.Sprintf("searchCriteria[filterGroups][%d][filters][%d]", g, f)
			q.Set(p+"[field]", flt.field)
			q.Set(p+"[value]", flt.value)
			q.Set(p+"[conditionType]", flt.condition)
		}
	}
	for i, s := range sc.sorts {
		p := fmt.Sprintf("searchCriteria[sortOrders][%d]", i)
		q.Set(p+"[field]", s[0])
		q.Set(p+"[direction]", s[1])
	}
	q.Set("searchCriteria[pageSize]", strconv.Itoa(sc.pageSize))
	q.Set("searchCriteria[currentPage]", strconv.Itoa(max(sc.page, 1)))
	if sc.fields != "" {
		q.Set("fields", sc.fields)
	}
	return q
}

// searchResult is the answer of every getList call.
type searchResult struct {
	Items      []map[string]any `json:"items"`
	TotalCount int              `json:"total_count"`
}

// dateLayout is how Magento writes and filters dates: UTC, to the second.
const dateLayout = "2006-01-02 15:04:05"

func formatDate(t time.Time) string { return t.UTC().Format(dateLayout) }

func parseDate(v any) (time.Time, error) {
	s, _ := v.(string)
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q is not YYYY-MM-DD HH:MM:SS", s)
	}
	return t, nil
}
