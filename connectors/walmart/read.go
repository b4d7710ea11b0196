package walmart

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tether/integration-operator/connectors"
)

// walmartTime is the date format of the lastModified filters: ISO 8601 in UTC with milliseconds.
const walmartTime = "2006-01-02T15:04:05.000Z"

// minWindow is the narrowest time window the order reader splits to when a window holds more orders than
// one query returns.
const minWindow = time.Second

// ordersList is GET /v3/orders. Orders are kept raw for the records and decoded for the derived fields.
type ordersList struct {
	List struct {
		Meta struct {
			TotalCount int    `json:"totalCount"`
			Limit      int    `json:"limit"`
			NextCursor string `json:"nextCursor"`
		} `json:"meta"`
		Elements struct {
			Order []json.RawMessage `json:"order"`
		} `json:"elements"`
	} `json:"list"`
}

// purchaseOrder is what the connector derives its fields from.
type purchaseOrder struct {
	PurchaseOrderID string `json:"purchaseOrderId"`
	CustomerOrderID string `json:"customerOrderId"`
	OrderDate       int64  `json:"orderDate"`
	OrderLines      struct {
		OrderLine []struct {
			LineNumber string `json:"lineNumber"`
			Item       struct {
				ProductName string `json:"productName"`
				SKU         string `json:"sku"`
			} `json:"item"`
			Charges struct {
				Charge []struct {
					ChargeType   string `json:"chargeType"`
					ChargeAmount money  `json:"chargeAmount"`
					Tax          *struct {
						TaxAmount money `json:"taxAmount"`
					} `json:"tax"`
				} `json:"charge"`
			} `json:"charges"`
			OrderLineQuantity struct {
				Amount json.Number `json:"amount"`
			} `json:"orderLineQuantity"`
			StatusDate        int64 `json:"statusDate"`
			OrderLineStatuses struct {
				OrderLineStatus []struct {
					Status string `json:"status"`
				} `json:"orderLineStatus"`
			} `json:"orderLineStatuses"`
		} `json:"orderLine"`
	} `json:"orderLines"`
}

type money struct {
	Currency string      `json:"currency"`
	Amount   json.Number `json:"amount"`
}

// readOrders reads purchase orders modified since `since` (no older than Walmart's 180 days), one ship node
// type after the other, each in time windows small enough for one query, page by page along nextCursor.
func (c *Connector) readOrders(ctx context.Context, since time.Time, tok *resumeState, emit connectors.EmitFunc) error {
	var st resumeState
	if tok != nil && !tok.End.IsZero() && tok.Node >= len(ShipNodeTypes) {
		return nil
	}
	if tok != nil && !tok.End.IsZero() {
		st = *tok
	} else {
		now := c.now().UTC()
		floor := now.Add(-MaxHistory + historyMargin)
		if since.Before(floor) {
			since = floor
		}
		since = since.UTC().Truncate(time.Millisecond)
		st = resumeState{Since: since, End: now.Truncate(time.Millisecond), WinStart: since, WinEnd: now.Truncate(time.Millisecond)}
	}
	started := c.now()
	pages, retriedCursor := 0, false
	for st.Node < len(ShipNodeTypes) {
		nodeType := ShipNodeTypes[st.Node]
		var u string
		if st.Cursor != "" {
			// The cursor is a query string; it must be sent exactly as Walmart returned it.
			u = c.base + "/orders" + st.Cursor
		} else {
			// A resumed or long read keeps inside the 180 days too: older orders are out of Walmart's reach.
			if floor := c.now().UTC().Add(-MaxHistory + historyMargin).Truncate(time.Millisecond); st.WinStart.Before(floor) {
				st.WinStart = floor
				if st.Since.Before(floor) {
					st.Since = floor
				}
				if st.WinEnd.Before(floor) {
					st.WinEnd = floor
				}
			}
			q := url.Values{}
			q.Set("lastModifiedStartDate", st.WinStart.UTC().Format(walmartTime))
			q.Set("lastModifiedEndDate", st.WinEnd.UTC().Format(walmartTime))
			q.Set("limit", strconv.Itoa(c.PageSizes.Orders))
			q.Set("shipNodeType", nodeType)
			u = c.base + "/orders?" + q.Encode()
		}
		body, err := c.get(ctx, epOrders, u)
		var list ordersList
		switch {
		case isNoContent(err):
		case err != nil && st.Cursor != "" && statusOf(err) == http.StatusBadRequest && !retriedCursor:
			// An expired or unknown cursor: read the window again from its start.
			c.log.Info("walmart rejected an orders cursor; reading the window again", "shipNodeType", nodeType, "error", err.Error())
			st.Cursor, retriedCursor = "", true
			continue
		case err != nil:
			return fmt.Errorf("walmart: list %s orders page %d: %w", nodeType, pages+1, err)
		default:
			if err := json.Unmarshal(body, &list); err != nil {
				return connectors.Transient("MalformedResponse", 0, fmt.Errorf("walmart: decode %s orders page %d: %w", nodeType, pages+1, err))
			}
		}
		retriedCursor = false
		meta := list.List.Meta
		if st.Cursor == "" && meta.TotalCount > c.MaxOrdersPerQuery && st.WinEnd.Sub(st.WinStart) > minWindow {
			// More than one query returns: halve the window and read the halves in turn.
			st.WinEnd = st.WinStart.Add(st.WinEnd.Sub(st.WinStart) / 2).Truncate(time.Millisecond)
			continue
		}
		if st.Cursor == "" && meta.TotalCount > c.MaxOrdersPerQuery {
			c.log.Info("a one-second window holds more orders than Walmart returns for a query; reading what it returns",
				"shipNodeType", nodeType, "window", st.WinStart, "orders", meta.TotalCount)
		}
		records := make([]connectors.Record, 0, len(list.List.Elements.Order))
		for _, raw := range list.List.Elements.Order {
			r, err := orderRecord(raw, nodeType)
			if err != nil {
				return fmt.Errorf("walmart: %s orders page %d: %w", nodeType, pages+1, err)
			}
			records = append(records, r)
		}
		if meta.NextCursor != "" && len(records) > 0 {
			st.Cursor = meta.NextCursor
		} else if st.Cursor = ""; st.WinEnd.Before(st.End) {
			st.WinStart, st.WinEnd = st.WinEnd, st.End
		} else {
			st.Node++
			st.WinStart, st.WinEnd = st.Since, st.End
		}
		if len(records) == 0 {
			continue
		}
		pages++
		page := connectors.Page{Records: records, Resume: st.String()}
		if st.Cursor != "" && meta.Limit > 0 && meta.TotalCount > 0 {
			left := (meta.TotalCount - pageIndex(st.Cursor) + meta.Limit - 1) / meta.Limit
			page.Remaining = estimate(started, pages, left)
		}
		if err := emit(ctx, page); err != nil {
			return err
		}
	}
	return nil
}

// pageIndex reads soIndex, the count of orders already returned, from an orders cursor.
func pageIndex(cursor string) int {
	q, err := url.ParseQuery(strings.TrimPrefix(cursor, "?"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(q.Get("soIndex"))
	return n
}

// estimate extrapolates the time the remaining pages take from the pace so far.
func estimate(started time.Time, pages, left int) time.Duration {
	if pages == 0 || left <= 0 {
		return 0
	}
	return time.Since(started) / time.Duration(pages) * time.Duration(left)
}

// orderRecord turns a purchase order into a record: the order as Walmart sends it, plus flat fields the
// mapping reads by path (times in RFC 3339, money as decimal strings, the lines as a list with a stable ID).
func orderRecord(raw json.RawMessage, nodeType string) (connectors.Record, error) {
	var po purchaseOrder
	if err := json.Unmarshal(raw, &po); err != nil {
		return connectors.Record{}, fmt.Errorf("decode purchase order: %w", err)
	}
	data, err := decodeObject(raw)
	if err != nil {
		return connectors.Record{}, fmt.Errorf("decode purchase order %s: %w", po.PurchaseOrderID, err)
	}
	if po.PurchaseOrderID == "" {
		return connectors.Record{}, fmt.Errorf("a purchase order has no purchaseOrderId")
	}
	var total cents
	currency := ""
	updated := po.OrderDate
	statuses := map[string]int{}
	lines := make([]any, 0, len(po.OrderLines.OrderLine))
	for _, l := range po.OrderLines.OrderLine {
		var product cents
		for _, ch := range l.Charges.Charge {
			total = total.add(ch.ChargeAmount.Amount)
			if ch.Tax != nil {
				total = total.add(ch.Tax.TaxAmount.Amount)
			}
			if currency == "" {
				currency = ch.ChargeAmount.Currency
			}
			if ch.ChargeType == "PRODUCT" {
				product = product.add(ch.ChargeAmount.Amount)
			}
		}
		qty, _ := strconv.ParseInt(l.OrderLineQuantity.Amount.String(), 10, 64)
		status := ""
		if s := l.OrderLineStatuses.OrderLineStatus; len(s) > 0 {
			status = s[len(s)-1].Status
			statuses[status]++
		}
		if l.StatusDate > updated {
			updated = l.StatusDate
		}
		unit := product
		if qty > 1 {
			unit = product.div(qty)
		}
		lines = append(lines, map[string]any{
			"id":          po.PurchaseOrderID + "-" + l.LineNumber,
			"lineNumber":  l.LineNumber,
			"sku":         l.Item.SKU,
			"productName": l.Item.ProductName,
			"quantity":    float64(qty),
			"unitPrice":   unit.String(),
			"amount":      product.String(),
			"status":      status,
		})
	}
	updatedAt := time.UnixMilli(updated).UTC()
	data["lines"] = lines
	data["orderedAt"] = time.UnixMilli(po.OrderDate).UTC().Format(time.RFC3339Nano)
	data["updatedAt"] = updatedAt.Format(time.RFC3339Nano)
	data["status"] = orderStatus(statuses)
	data["currency"] = currency
	data["total"] = total.String()
	data["shipNodeType"] = nodeType
	return connectors.Record{ID: po.PurchaseOrderID, UpdatedAt: updatedAt, Data: data}, nil
}

// orderStatus summarises the line statuses: the one status all lines share, else the least advanced of the
// lines still open ("Created" < "Acknowledged" < "Shipped"), else the lines' statuses joined.
func orderStatus(statuses map[string]int) string {
	switch len(statuses) {
	case 0:
		return ""
	case 1:
		for s := range statuses {
			return s
		}
	}
	for _, s := range []string{"Created", "Acknowledged", "Shipped"} {
		if statuses[s] > 0 {
			return s
		}
	}
	all := make([]string, 0, len(statuses))
	for s := range statuses {
		all = append(all, s)
	}
	sort.Strings(all)
	return strings.Join(all, "/")
}

// cents is money in hundredths of a unit (Walmart amounts have at most two decimals in USD; more digits are
// rounded half away from zero).
type cents int64

func (c cents) add(n json.Number) cents {
	s := strings.TrimSpace(n.String())
	if s == "" {
		return c
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return c
	}
	if f < 0 {
		return c + cents(f*100-0.5)
	}
	return c + cents(f*100+0.5)
}

func (c cents) div(n int64) cents { return cents((int64(c) + n/2) / n) }

func (c cents) String() string {
	sign, v := "", int64(c)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// decodeObject decodes a JSON object into the plain map the mapping reads.
func decodeObject(raw []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not an object")
	}
	return m, nil
}

// itemsList is GET /v3/items.
type itemsList struct {
	ItemResponse []json.RawMessage `json:"ItemResponse"`
	TotalItems   int               `json:"totalItems"`
	NextCursor   string            `json:"nextCursor"`
}

// readItems reads the whole catalogue (Walmart has no modification filter on items), one record per SKU.
func (c *Connector) readItems(ctx context.Context, tok *resumeState, emit connectors.EmitFunc) error {
	cursor := "*"
	if tok != nil && tok.Done {
		return nil
	}
	if tok != nil && tok.Cursor != "" {
		cursor = tok.Cursor
	}
	started, pages, done, retried := c.now(), 0, 0, false
	for {
		q := url.Values{"limit": {strconv.Itoa(c.PageSizes.Items)}, "nextCursor": {cursor}}
		body, err := c.get(ctx, epItems, c.base+"/items?"+q.Encode())
		var list itemsList
		switch {
		case isNoContent(err):
		case err != nil && cursor != "*" && statusOf(err) == http.StatusBadRequest && !retried:
			c.log.Info("walmart rejected an items cursor; reading the items again", "error", err.Error())
			cursor, retried = "*", true
			continue
		case err != nil:
			return fmt.Errorf("walmart: list items page %d: %w", pages+1, err)
		default:
			if err := json.Unmarshal(body, &list); err != nil {
				return connectors.Transient("MalformedResponse", 0, fmt.Errorf("walmart: decode items page %d: %w", pages+1, err))
			}
		}
		retried = false
		records := make([]connectors.Record, 0, len(list.ItemResponse))
		for _, raw := range list.ItemResponse {
			data, err := decodeObject(raw)
			if err != nil {
				return fmt.Errorf("walmart: decode item on page %d: %w", pages+1, err)
			}
			sku, _ := data["sku"].(string)
			if sku == "" {
				return fmt.Errorf("walmart: an item on page %d has no sku", pages+1)
			}
			records = append(records, connectors.Record{ID: sku, Data: data})
		}
		if len(records) == 0 {
			return nil
		}
		pages++
		done += len(records)
		page := connectors.Page{Records: records, Resume: resumeState{Cursor: list.NextCursor, Done: list.NextCursor == ""}.String()}
		if list.NextCursor != "" {
			page.Remaining = estimate(started, pages, (list.TotalItems-done+c.PageSizes.Items-1)/c.PageSizes.Items)
		}
		if err := emit(ctx, page); err != nil {
			return err
		}
		if list.NextCursor == "" {
			return nil
		}
		cursor = list.NextCursor
	}
}

// shipNode is one entry of GET /v3/settings/shipping/shipnodes.
type shipNode struct {
	ShipNode string `json:"shipNode"`
	Status   string `json:"status"`
}

// readShipNodes reads the seller's ship nodes, Walmart's locations, in one page (the call is not paged).
func (c *Connector) readShipNodes(ctx context.Context, tok *resumeState, emit connectors.EmitFunc) error {
	if tok != nil && tok.Done {
		return nil
	}
	body, err := c.get(ctx, epShipNodes, c.base+"/settings/shipping/shipnodes")
	if isNoContent(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("walmart: list ship nodes: %w", err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return connectors.Transient("MalformedResponse", 0, fmt.Errorf("walmart: decode ship nodes: %w", err))
	}
	records := make([]connectors.Record, 0, len(raws))
	for _, raw := range raws {
		var n shipNode
		if err := json.Unmarshal(raw, &n); err != nil || n.ShipNode == "" {
			return fmt.Errorf("walmart: a ship node has no shipNode ID")
		}
		data, err := decodeObject(raw)
		if err != nil {
			return fmt.Errorf("walmart: decode ship node %s: %w", n.ShipNode, err)
		}
		data["active"] = strings.EqualFold(n.Status, "ACTIVE")
		records = append(records, connectors.Record{ID: n.ShipNode, Data: data})
	}
	if len(records) == 0 {
		return nil
	}
	return emit(ctx, connectors.Page{Records: records, Resume: resumeState{Done: true}.String()})
}

// inventoriesList is GET /v3/inventories: each SKU with its quantities at every ship node.
type inventoriesList struct {
	Meta struct {
		TotalCount int    `json:"totalCount"`
		NextCursor string `json:"nextCursor"`
	} `json:"meta"`
	Elements struct {
		Inventories []struct {
			SKU   string            `json:"sku"`
			Nodes []json.RawMessage `json:"nodes"`
		} `json:"inventories"`
	} `json:"elements"`
}

// readInventories reads the stock of every SKU at every ship node (no modification filter exists), one record
// per SKU and node.
func (c *Connector) readInventories(ctx context.Context, tok *resumeState, emit connectors.EmitFunc) error {
	cursor := ""
	if tok != nil && tok.Done {
		return nil
	}
	if tok != nil {
		cursor = tok.Cursor
	}
	started, pages, done, retried := c.now(), 0, 0, false
	for {
		q := url.Values{"limit": {strconv.Itoa(c.PageSizes.Inventories)}}
		if cursor != "" {
			q.Set("nextCursor", cursor)
		}
		body, err := c.get(ctx, epInventories, c.base+"/inventories?"+q.Encode())
		var list inventoriesList
		switch {
		case isNoContent(err):
		case err != nil && cursor != "" && statusOf(err) == http.StatusBadRequest && !retried:
			c.log.Info("walmart rejected an inventories cursor; reading inventory again", "error", err.Error())
			cursor, retried = "", true
			continue
		case err != nil:
			return fmt.Errorf("walmart: list inventories page %d: %w", pages+1, err)
		default:
			if err := json.Unmarshal(body, &list); err != nil {
				return connectors.Transient("MalformedResponse", 0, fmt.Errorf("walmart: decode inventories page %d: %w", pages+1, err))
			}
		}
		retried = false
		var records []connectors.Record
		for _, inv := range list.Elements.Inventories {
			for _, raw := range inv.Nodes {
				data, err := decodeObject(raw)
				if err != nil {
					return fmt.Errorf("walmart: decode inventory of %s: %w", inv.SKU, err)
				}
				node, _ := data["shipNode"].(string)
				if inv.SKU == "" || node == "" {
					return fmt.Errorf("walmart: an inventory entry on page %d has no sku or shipNode", pages+1)
				}
				data["sku"] = inv.SKU
				records = append(records, connectors.Record{ID: inv.SKU + "@" + node, Data: data})
			}
		}
		if len(list.Elements.Inventories) == 0 {
			return nil
		}
		pages++
		done += len(list.Elements.Inventories)
		page := connectors.Page{Records: records, Resume: resumeState{Cursor: list.Meta.NextCursor, Done: list.Meta.NextCursor == ""}.String()}
		if list.Meta.NextCursor != "" {
			page.Remaining = estimate(started, pages, (list.Meta.TotalCount-done+c.PageSizes.Inventories-1)/c.PageSizes.Inventories)
		}
		if err := emit(ctx, page); err != nil {
			return err
		}
		if list.Meta.NextCursor == "" {
			return nil
		}
		cursor = list.Meta.NextCursor
	}
}
