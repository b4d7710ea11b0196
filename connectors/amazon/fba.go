package amazon

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// Marketplace is an Amazon marketplace: its ID, country, site and currency.
type Marketplace struct {
	ID, Country, Site, Currency string
}

// Marketplaces are the marketplaces of commerce-apis.md's table, North America first.
var Marketplaces = []Marketplace{
	{"ATVPDKIKX0DER", "US", "Amazon.com", "USD"},
	{"A2EUQ1WTGCTBG2", "CA", "Amazon.ca", "CAD"},
	{"A1AM78C64UM0Y8", "MX", "Amazon.com.mx", "MXN"},
	{"A2Q3Y263D00KWC", "BR", "Amazon.com.br", "BRL"},
	{"A1F83G8C2ARO7P", "GB", "Amazon.co.uk", "GBP"},
	{"A1PA6795UKMFR9", "DE", "Amazon.de", "EUR"},
	{"A13V1IB3VIYZZH", "FR", "Amazon.fr", "EUR"},
	{"APJ6JRA9NG5V4", "IT", "Amazon.it", "EUR"},
	{"A1RKKUPIHCS9HS", "ES", "Amazon.es", "EUR"},
	{"A1805IZSGTT6HS", "NL", "Amazon.nl", "EUR"},
	{"A1C3SOZRARQ6R3", "PL", "Amazon.pl", "PLN"},
	{"A2NODRKZP88ZB9", "SE", "Amazon.se", "SEK"},
	{"A1VC38T7YXB528", "JP", "Amazon.co.jp", "JPY"},
	{"A39IBJ37TRP1C6", "AU", "Amazon.com.au", "AUD"},
}

// LookupMarketplace finds a marketplace by ID.
func LookupMarketplace(id string) (Marketplace, bool) {
	for _, m := range Marketplaces {
		if m.ID == id {
			return m, true
		}
	}
	return Marketplace{}, false
}

// WarehouseID is the ID of the synthetic warehouse that stands for a marketplace's FBA network: Amazon does
// not expose its fulfilment centres, and getInventorySummaries aggregates per marketplace.
func WarehouseID(marketplaceID string) string { return "FBA-" + marketplaceID }

// readLocations emits one warehouse per configured marketplace: its FBA network. It makes no request.
func (c *Connector) readLocations(ctx context.Context, emit connectors.EmitFunc) error {
	records := make([]connectors.Record, 0, len(c.marketplaces))
	for _, id := range c.marketplaces {
		m, ok := LookupMarketplace(id)
		if !ok {
			m = Marketplace{ID: id}
		}
		name := "Amazon FBA " + id
		if m.Site != "" {
			name = "Amazon FBA " + m.Site
		}
		records = append(records, connectors.Record{ID: WarehouseID(id), Data: map[string]any{
			"id": WarehouseID(id), "marketplaceId": id, "name": name, "code": "FBA-" + m.Country,
			"countryCode": m.Country, "site": m.Site, "fulfillmentChannel": "AFN", "active": true,
		}})
	}
	return emit(ctx, connectors.Page{Records: records, Resume: resumeState{Done: true}.String()})
}

type inventorySummariesResponse struct {
	Payload struct {
		InventorySummaries []map[string]any `json:"inventorySummaries"`
	} `json:"payload"`
	Pagination struct {
		NextToken string `json:"nextToken"`
	} `json:"pagination"`
}

// readSummaries reads getInventorySummaries for each marketplace in turn, as inventory levels (one per
// sellerSku and marketplace) or as SKUs (one per sellerSku).
//
// Inventory is incremental: a Since within the 18 months Amazon accepts becomes startDateTime; an older or
// zero one reads every summary. Products are always read in full: a summary's lastUpdatedTime dates its
// stock, not the SKU, and differs between marketplaces, so it cannot be a SKU's modification time. A SKU sold
// in several marketplaces is emitted once per run (its first marketplace's summary), with no UpdatedAt; the
// store skips the ones that did not change.
//
// The Resume token holds the marketplace and the nextToken after the page. Amazon's nextToken expires after
// 30 seconds, so a resumed read whose token was refused reads that marketplace again from its start.
func (c *Connector) readSummaries(ctx context.Context, entity connectors.Entity, since time.Time, tok *resumeState, emit connectors.EmitFunc) error {
	st := resumeState{Since: since.UTC().Truncate(time.Second)}
	if entity == v1alpha1.DataProducts || since.IsZero() || time.Since(since) > inventoryHistory {
		st.Since = time.Time{}
	}
	emitted := map[string]bool{}
	resumed := tok != nil
	if resumed {
		st = *tok
	}
	for page := 1; st.Market < len(c.marketplaces); page++ {
		mkt := c.marketplaces[st.Market]
		q := url.Values{
			"details":         {"true"},
			"granularityType": {"Marketplace"},
			"granularityId":   {mkt},
			"marketplaceIds":  {mkt},
		}
		if !st.Since.IsZero() {
			q.Set("startDateTime", isoTime(st.Since))
		}
		if st.Token != "" {
			q.Set("nextToken", st.Token)
		}
		var resp inventorySummariesResponse
		err := c.get(ctx, OpGetInventorySummaries, "/fba/inventory/v1/summaries", q, &resp)
		if err != nil && resumed && st.Token != "" && isInvalidInput(err) {
			c.log.Info("Amazon no longer accepts the saved nextToken; reading the marketplace again", "marketplace", mkt, "error", err.Error())
			st.Token, resumed = "", false
			continue
		}
		if err != nil {
			return fmt.Errorf("amazon: list inventory summaries of %s page %d: %w", mkt, page, err)
		}
		resumed = false
		records := make([]connectors.Record, 0, len(resp.Payload.InventorySummaries))
		for _, s := range resp.Payload.InventorySummaries {
			r, ok := summaryRecord(entity, mkt, s)
			if ok && !(entity == v1alpha1.DataProducts && emitted[r.ID]) {
				emitted[r.ID] = true
				records = append(records, r)
			}
		}
		next := st
		next.Token = resp.Pagination.NextToken
		next.Read += len(records)
		if next.Token == "" {
			next.Market++
			next.Done = next.Market >= len(c.marketplaces)
		}
		if err := emit(ctx, connectors.Page{Records: records, Resume: next.String()}); err != nil {
			return err
		}
		st = next
	}
	return nil
}

// summaryRecord turns an inventory summary into an Inventory or a Products record.
func summaryRecord(entity connectors.Entity, mkt string, s map[string]any) (connectors.Record, bool) {
	sku, _ := s["sellerSku"].(string)
	if sku == "" {
		return connectors.Record{}, false
	}
	var updated time.Time
	if ts, ok := s["lastUpdatedTime"].(string); ok {
		if t, err := time.Parse(time.RFC3339, ts); err == nil {
			updated = t.UTC()
		}
	}
	if entity == v1alpha1.DataProducts {
		data := map[string]any{"sellerSku": sku}
		for _, k := range []string{"asin", "fnSku", "productName", "condition"} {
			if v, ok := s[k]; ok {
				data[k] = v
			}
		}
		return connectors.Record{ID: sku, Data: data}, true
	}
	data := make(map[string]any, len(s)+2)
	for k, v := range s {
		data[k] = v
	}
	data["marketplaceId"] = mkt
	data["warehouseId"] = WarehouseID(mkt)
	return connectors.Record{ID: WarehouseID(mkt) + "/" + sku, UpdatedAt: updated, Data: data}, true
}
