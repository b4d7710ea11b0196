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

type searchOrdersResponse struct {
	Orders     []json.RawMessage `json:"orders"`
	Pagination struct {
		NextToken string `json:"nextToken"`
	} `json:"pagination"`
}

// searchIncludedData are the datasets searchOrders is asked for: the totals and the fulfilment status.
const searchIncludedData = "PROCEEDS,FULFILLMENT"

// searchOrders reads orders with the Orders API 2026-01-01, whose pages carry each order's items. A page is
// emitted as Amazon returns it; the Resume token holds the paginationToken of the next.
func (c *Connector) searchOrders(ctx context.Context, since time.Time, tok *resumeState, emit connectors.EmitFunc) error {
	st := newOrdersRun(since)
	resumed := tok != nil
	if resumed {
		st = *tok
	}
	for page := 1; ; page++ {
		if !st.Since.Before(st.Before) {
			return nil
		}
		q := url.Values{
			"marketplaceIds":    {strings.Join(c.marketplaces, ",")},
			"lastUpdatedAfter":  {isoTime(st.Since)},
			"lastUpdatedBefore": {isoTime(st.Before)},
			"maxResultsPerPage": {fmt.Sprint(ordersPageSize)},
			"includedData":      {searchIncludedData},
		}
		if st.Token != "" {
			q.Set("paginationToken", st.Token)
		}
		var resp searchOrdersResponse
		err := c.get(ctx, OpSearchOrders, "/orders/2026-01-01/orders", q, &resp)
		if err != nil && resumed && st.Token != "" && isInvalidInput(err) {
			c.log.Info("Amazon no longer accepts the saved paginationToken; reading the window again from its start", "error", err.Error())
			st, resumed = newOrdersRun(since), false
			continue
		}
		if err != nil {
			return fmt.Errorf("amazon: search orders page %d: %w", page, err)
		}
		resumed = false
		records, err := decodeOrders(resp.Orders, "orderId", "lastUpdatedTime")
		if err != nil {
			return fmt.Errorf("amazon: search orders page %d: %w", page, err)
		}
		for _, r := range records {
			addV0Names(r.Data)
		}
		st.Read += len(records)
		next := c.afterPage(st, resp.Pagination.NextToken)
		remaining := c.ordersRemaining(next, lastUpdated(records, st), 0)
		if err := emit(ctx, connectors.Page{Records: records, Resume: next.String(), Remaining: remaining}); err != nil {
			return err
		}
		if next.Done {
			return nil
		}
		st = next
	}
}

func lastUpdated(records []connectors.Record, st resumeState) time.Time {
	if len(records) == 0 {
		return st.Since
	}
	return records[len(records)-1].UpdatedAt
}

// v0Status maps the 2026-01-01 fulfillmentStatus values to the v0 OrderStatus values.
var v0Status = map[string]string{
	"PENDING_AVAILABILITY": "PendingAvailability",
	"PENDING":              "Pending",
	"UNSHIPPED":            "Unshipped",
	"PARTIALLY_SHIPPED":    "PartiallyShipped",
	"SHIPPED":              "Shipped",
	"CANCELLED":            "Canceled",
	"UNFULFILLABLE":        "Unfulfillable",
}

// addV0Names adds to a 2026-01-01 order the Orders v0 names the default mapping reads (AmazonOrderId,
// PurchaseDate, LastUpdateDate, OrderStatus, OrderTotal, MarketplaceId, FulfillmentChannel and OrderItems
// with OrderItemId, ASIN, SellerSKU, Title, QuantityOrdered, ItemPrice and UnitPrice), so one mapping serves
// both API versions. The order's own fields stay as Amazon sent them; their names are camelCase, the v0
// names PascalCase, so none is overwritten.
func addV0Names(o map[string]any) {
	o["AmazonOrderId"] = o["orderId"]
	o["PurchaseDate"] = o["createdTime"]
	o["LastUpdateDate"] = o["lastUpdatedTime"]
	if ch, ok := o["salesChannel"].(map[string]any); ok {
		o["MarketplaceId"] = ch["marketplaceId"]
	}
	if f, ok := o["fulfillment"].(map[string]any); ok {
		if s, ok := f["fulfillmentStatus"].(string); ok {
			o["OrderStatus"] = v0Status[s]
		}
		switch f["fulfilledBy"] {
		case "AMAZON":
			o["FulfillmentChannel"] = "AFN"
		case "MERCHANT":
			o["FulfillmentChannel"] = "MFN"
		}
	}
	if p, ok := o["proceeds"].(map[string]any); ok {
		if gt, ok := p["grandTotal"].(map[string]any); ok {
			o["OrderTotal"] = map[string]any{"CurrencyCode": gt["currencyCode"], "Amount": gt["amount"]}
		}
	}
	raw, _ := o["orderItems"].([]any)
	items := make([]any, 0, len(raw))
	for _, r := range raw {
		it, ok := r.(map[string]any)
		if !ok {
			continue
		}
		v0 := map[string]any{"OrderItemId": it["orderItemId"], "QuantityOrdered": it["quantityOrdered"]}
		if f, ok := it["fulfillment"].(map[string]any); ok {
			v0["QuantityShipped"] = f["quantityFulfilled"]
		}
		if p, ok := it["product"].(map[string]any); ok {
			v0["ASIN"], v0["SellerSKU"], v0["Title"] = p["asin"], p["sellerSku"], p["title"]
			if price, ok := p["price"].(map[string]any); ok {
				if unit, ok := price["unitPrice"].(map[string]any); ok {
					v0["UnitPrice"] = map[string]any{"CurrencyCode": unit["currencyCode"], "Amount": unit["amount"]}
					if amt, ok := unit["amount"].(string); ok {
						if r, ok := new(big.Rat).SetString(amt); ok {
							qty, _ := it["quantityOrdered"].(float64)
							r.Mul(r, new(big.Rat).SetInt64(int64(qty)))
							v0["ItemPrice"] = map[string]any{"CurrencyCode": unit["currencyCode"], "Amount": decimalString(r)}
						}
					}
				}
			}
		}
		items = append(items, v0)
	}
	o["OrderItems"] = items
}
