package magento

import (
	"fmt"

	"github.com/tether/integration-operator/connectors"
)

// orderRecords makes one record per order. Data is the order as Magento returns it plus `lines`: its items
// with each configurable pair folded into one line (see orderLines).
func orderRecords(items []map[string]any) ([]connectors.Record, error) {
	out := make([]connectors.Record, 0, len(items))
	for _, it := range items {
		id := idString(it["entity_id"])
		if id == "" {
			return nil, fmt.Errorf("order without entity_id")
		}
		updated, err := parseDate(it["updated_at"])
		if err != nil {
			return nil, fmt.Errorf("order %s: updated_at: %w", id, err)
		}
		raw, _ := it["items"].([]any)
		it["lines"] = orderLines(raw)
		out = append(out, connectors.Record{ID: id, UpdatedAt: updated, Data: it})
	}
	return out, nil
}

// orderLines turns an order's items into its lines. A configurable product is ordered as two items: the
// parent (product_type "configurable", the configurable's product_id, the price and quantity, and already the
// chosen child's SKU) and the child (the simple product's product_id, price 0, parent_item_id pointing at the
// parent). They become one line: the parent's item_id, quantity and prices with the child's SKU and
// product_id (the SKU that leaves the warehouse); the configurable's ID is kept as parent_product_id. Items
// with a parent of another type (bundle components) stay lines of their own, as do their parents.
func orderLines(items []any) []any {
	byID := map[string]map[string]any{}
	childOf := map[string]map[string]any{}
	for _, raw := range items {
		it, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		byID[idString(it["item_id"])] = it
	}
	for _, it := range byID {
		if pid := idString(it["parent_item_id"]); pid != "" {
			if p := byID[pid]; p != nil && p["product_type"] == "configurable" {
				childOf[pid] = it
			}
		}
	}
	lines := make([]any, 0, len(items))
	for _, raw := range items {
		it, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		if pid := idString(it["parent_item_id"]); pid != "" {
			if p := byID[pid]; p != nil && p["product_type"] == "configurable" {
				continue
			}
		}
		line := make(map[string]any, len(it)+3)
		for k, v := range it {
			if k != "parent_item" {
				line[k] = v
			}
		}
		if child := childOf[idString(it["item_id"])]; child != nil {
			line["parent_product_id"] = it["product_id"]
			line["product_id"] = child["product_id"]
			line["child_item_id"] = child["item_id"]
			if sku, ok := child["sku"].(string); ok && sku != "" {
				line["sku"] = sku
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// productRecords makes one record per stock-keeping product. A configurable product with children is not a
// SKU (it has no stock of its own; its children do) and is left out; every other product type is one
// record. Data is the product as Magento returns it plus `attributes` (custom_attributes as a map by
// attribute_code) and, for a configurable's child, `parent` {id, sku, name}.
func productRecords(items []map[string]any, parents map[int64]parent) ([]connectors.Record, error) {
	out := make([]connectors.Record, 0, len(items))
	for _, it := range items {
		id, ok := intValue(it["id"])
		if !ok {
			return nil, fmt.Errorf("product without id")
		}
		if it["type_id"] == "configurable" {
			ext, _ := it["extension_attributes"].(map[string]any)
			if links, _ := ext["configurable_product_links"].([]any); len(links) > 0 {
				continue
			}
		}
		updated, err := parseDate(it["updated_at"])
		if err != nil {
			return nil, fmt.Errorf("product %d: updated_at: %w", id, err)
		}
		attrs := map[string]any{}
		list, _ := it["custom_attributes"].([]any)
		for _, raw := range list {
			a, _ := raw.(map[string]any)
			if code, ok := a["attribute_code"].(string); ok {
				attrs[code] = a["value"]
			}
		}
		it["attributes"] = attrs
		if p, ok := parents[id]; ok {
			it["parent"] = map[string]any{"id": float64(p.ID), "sku": p.SKU, "name": p.Name}
		}
		out = append(out, connectors.Record{ID: idString(it["id"]), UpdatedAt: updated, Data: it})
	}
	return out, nil
}

// sourceRecords makes one record per MSI source, keyed by source_code. Sources have no modification time:
// UpdatedAt stays zero.
func sourceRecords(items []map[string]any) ([]connectors.Record, error) {
	out := make([]connectors.Record, 0, len(items))
	for _, it := range items {
		code, _ := it["source_code"].(string)
		if code == "" {
			return nil, fmt.Errorf("source without source_code")
		}
		out = append(out, connectors.Record{ID: code, Data: it})
	}
	return out, nil
}

// SourceItemID is the record ID of the stock of a SKU at a source: "sku|source_code" (Magento's own key for
// a source item is the pair).
func SourceItemID(sku, sourceCode string) string { return sku + "|" + sourceCode }

// sourceItemRecords makes one record per MSI source item. Data is the source item plus `product_id`, looked
// up by SKU. Source items have no modification time: UpdatedAt stays zero.
func sourceItemRecords(items []map[string]any, ids map[string]int64) ([]connectors.Record, error) {
	out := make([]connectors.Record, 0, len(items))
	for _, it := range items {
		sku, _ := it["sku"].(string)
		code, _ := it["source_code"].(string)
		if sku == "" || code == "" {
			return nil, fmt.Errorf("source item without sku or source_code")
		}
		if id, ok := ids[sku]; ok {
			it["product_id"] = float64(id)
		}
		out = append(out, connectors.Record{ID: SourceItemID(sku, code), Data: it})
	}
	return out, nil
}
