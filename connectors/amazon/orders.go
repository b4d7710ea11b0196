package amazon

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/tether/integration-operator/connectors"
)

// ordersPageSize is MaxResultsPerPage / maxResultsPerPage: Amazon's maximum.
const ordersPageSize = 100

type getOrdersResponse struct {
	Payload struct {
		Orders            []json.RawMessage `json:"Orders"`
		NextToken         string            `json:"NextToken"`
		LastUpdatedBefore string            `json:"LastUpdatedBefore"`
	} `json:"payload"`
}

type getOrderItemsResponse struct {
	Payload struct {
		OrderItems []map[string]any `json:"OrderItems"`
		NextToken  string           `json:"NextToken"`
	} `json:"payload"`
}

// ordersQuery is a getOrders query over (after, before] in the marketplaces.
func ordersQuery(marketplaces []string, after, before time.Time, pageSize int) url.Values {
	return url.Values{
		"MarketplaceIds":    {strings.Join(marketplaces, ",")},
		"LastUpdatedAfter":  {isoTime(after)},
		"LastUpdatedBefore": {isoTime(before)},
		"MaxResultsPerPage": {fmt.Sprint(pageSize)},
	}
}

// newOrdersRun starts an orders read: the window runs from since (clamped to Amazon's two years) to
// updatedBeforeLag before now, the newest end Amazon accepts.
func newOrdersRun(since time.Time) resumeState {
	now := time.Now()
	return resumeState{Since: clampOrdersSince(since, now).UTC().Truncate(time.Second), Before: now.Add(-updatedBeforeLag).UTC().Truncate(time.Second)}
}

// readOrdersV0 reads orders with getOrders, one API page of up to 100 at a time, and each order's items with
// getOrderItems. An API page is emitted in parts of OrdersPerPage orders; the Resume token names the API
// page (by the NextToken that fetches it) and the orders of it already emitted.
func (c *Connector) readOrdersV0(ctx context.Context, since time.Time, tok *resumeState, emit connectors.EmitFunc) error {
	st := newOrdersRun(since)
	resumed := tok != nil
	if resumed {
		st = *tok
	}
	for page := 1; ; page++ {
		if !st.Since.Before(st.Before) {
			return nil
		}
		q := ordersQuery(c.marketplaces, st.Since, st.Before, ordersPageSize)
		if st.Token != "" {
			q = url.Values{"MarketplaceIds": {strings.Join(c.marketplaces, ",")}, "NextToken": {st.Token}}
		}
		var resp getOrdersResponse
		err := c.get(ctx, OpGetOrders, "/orders/v0/orders", q, &resp)
		if err != nil && resumed && st.Token != "" && isInvalidInput(err) {
			c.log.Info("Amazon no longer accepts the saved NextToken; reading the window again from its start", "error", err.Error())
			st, resumed = newOrdersRun(since), false
			continue
		}
		if err != nil {
			return fmt.Errorf("amazon: list orders page %d: %w", page, err)
		}
		resumed = false
		records, err := decodeOrders(resp.Payload.Orders, "AmazonOrderId", "LastUpdateDate")
		if err != nil {
			return fmt.Errorf("amazon: list orders page %d: %w", page, err)
		}
		seen := map[string]bool{}
		for _, id := range st.Seen {
			seen[id] = true
		}
		var todo []connectors.Record
		for _, r := range records {
			if !seen[r.ID] {
				todo = append(todo, r)
			}
		}
		if len(todo) == 0 {
			// An empty page (or one emitted entirely before a restart) still moves the checkpoint on.
			next := c.afterPage(st, resp.Payload.NextToken)
			if err := emit(ctx, connectors.Page{Resume: next.String()}); err != nil {
				return err
			}
			if next.Done {
				return nil
			}
			st = next
			continue
		}
		chunk := max(c.OrdersPerPage, 1)
		for start := 0; start < len(todo); start += chunk {
			part := todo[start:min(start+chunk, len(todo))]
			for i := range part {
				items, err := c.orderItems(ctx, part[i].ID)
				if err != nil {
					return fmt.Errorf("amazon: list orders page %d: order %s: %w", page, part[i].ID, err)
				}
				part[i].Data["OrderItems"] = items
			}
			st.Read += len(part)
			var next resumeState
			if start+chunk >= len(todo) {
				next = c.afterPage(st, resp.Payload.NextToken)
			} else {
				next = st
				for _, r := range part {
					next.Seen = append(next.Seen, r.ID)
				}
				st.Seen = next.Seen
			}
			remaining := c.ordersRemaining(next, part[len(part)-1].UpdatedAt, len(todo)-start-len(part))
			if err := emit(ctx, connectors.Page{Records: part, Resume: next.String(), Remaining: remaining}); err != nil {
				return err
			}
		}
		if resp.Payload.NextToken == "" {
			return nil
		}
		st = c.afterPage(st, resp.Payload.NextToken)
	}
}

// afterPage is the state after an API page whose successor is nextToken.
func (c *Connector) afterPage(st resumeState, nextToken string) resumeState {
	st.Seen = nil
	st.Token = nextToken
	st.Done = nextToken == ""
	return st
}

// ordersRemaining estimates the time left in an orders read. Orders come in LastUpdateDate order, so the
// share of the window already covered estimates the share of orders already read; each order still to read
// costs one getOrderItems token in v0 mode, and each page of 100 one getOrders (or searchOrders) token.
func (c *Connector) ordersRemaining(st resumeState, last time.Time, leftInPage int) time.Duration {
	if st.Done {
		return 0
	}
	orders := float64(leftInPage)
	if span := st.Before.Sub(st.Since); span > 0 && st.Token != "" {
		covered := float64(last.Sub(st.Since)) / float64(span)
		if covered > 0 && covered < 1 {
			orders += float64(st.Read) * (1 - covered) / covered
		}
	}
	pages := orders/ordersPageSize + 1
	if c.apiVersion == APIVersion20260101 {
		return time.Duration(pages * float64(c.client(OpSearchOrders).Rate().Interval()))
	}
	byItems := time.Duration(orders * float64(c.client(OpGetOrderItems).Rate().Interval()))
	byPages := time.Duration(pages * float64(c.client(OpGetOrders).Rate().Interval()))
	return max(byItems, byPages)
}

// orderItems reads every item of an order, following getOrderItems' own NextToken, and adds each item's
// UnitPrice: Amazon's ItemPrice is the price of the whole quantity. Pending orders have no prices.
func (c *Connector) orderItems(ctx context.Context, orderID string) ([]any, error) {
	var items []any
	token := ""
	for {
		var q url.Values
		if token != "" {
			q = url.Values{"NextToken": {token}}
		}
		var resp getOrderItemsResponse
		if err := c.get(ctx, OpGetOrderItems, "/orders/v0/orders/"+url.PathEscape(orderID)+"/orderItems", q, &resp); err != nil {
			return nil, fmt.Errorf("list order items: %w", err)
		}
		for _, it := range resp.Payload.OrderItems {
			addUnitPrice(it)
			items = append(items, it)
		}
		if resp.Payload.NextToken == "" {
			return items, nil
		}
		token = resp.Payload.NextToken
	}
}

// addUnitPrice sets item.UnitPrice to ItemPrice divided by QuantityOrdered.
func addUnitPrice(item map[string]any) {
	price, _ := item["ItemPrice"].(map[string]any)
	amount, _ := price["Amount"].(string)
	qty, _ := item["QuantityOrdered"].(float64)
	if amount == "" || qty <= 0 {
		return
	}
	r, ok := new(big.Rat).SetString(amount)
	if !ok {
		return
	}
	r.Quo(r, new(big.Rat).SetInt64(int64(qty)))
	item["UnitPrice"] = map[string]any{"CurrencyCode": price["CurrencyCode"], "Amount": decimalString(r)}
}

// decimalString formats r with at least two and at most six decimals, without trailing zeros beyond two.
func decimalString(r *big.Rat) string {
	s := r.FloatString(6)
	for strings.HasSuffix(s, "0") && len(s)-strings.IndexByte(s, '.') > 3 {
		s = s[:len(s)-1]
	}
	return s
}

// decodeOrders decodes raw orders into records keyed by the ID field and stamped by the time field.
func decodeOrders(raw []json.RawMessage, idKey, timeKey string) ([]connectors.Record, error) {
	out := make([]connectors.Record, 0, len(raw))
	for _, r := range raw {
		var m map[string]any
		if err := json.Unmarshal(r, &m); err != nil {
			return nil, connectors.Transient("MalformedResponse", 0, fmt.Errorf("decode order: %w", err))
		}
		id, _ := m[idKey].(string)
		ts, _ := m[timeKey].(string)
		t, err := time.Parse(time.RFC3339, ts)
		if id == "" || err != nil {
			return nil, connectors.Transient("MalformedResponse", 0, fmt.Errorf("order %q has no %s or no valid %s %q", id, idKey, timeKey, ts))
		}
		out = append(out, connectors.Record{ID: id, UpdatedAt: t.UTC(), Data: m})
	}
	return out, nil
}
