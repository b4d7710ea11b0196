package shopify

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// The sandbox executes queries over a small hand-written type table instead of the full schema: every field
// the connector uses, plus the neighbours a client would plausibly select, each with its kind (for the cost
// calculation and for "Field 'x' doesn't exist on type 'Y'") and its resolver.

type fieldKind int

const (
	kScalar fieldKind = iota
	kObject
	kList // a list of objects (typ set) or of scalars (typ empty)
	kConnection
)

type resolveFunc func(x *execution, src any, args map[string]any) (any, error)

type fieldDef struct {
	kind    fieldKind
	typ     string // object type (kObject, kList) or node type (kConnection)
	free    bool   // connection plumbing (edges, pageInfo) that costs nothing itself
	resolve resolveFunc
}

// gqlError is one entry of a GraphQL response's errors list.
type gqlError struct {
	Message    string         `json:"message"`
	Locations  []gqlLocation  `json:"locations,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

type gqlLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func errAt(pos *ast.Position, path []any, ext map[string]any, format string, a ...any) *gqlError {
	e := &gqlError{Message: fmt.Sprintf(format, a...), Extensions: ext}
	if pos != nil {
		e.Locations = []gqlLocation{{Line: pos.Line, Column: pos.Column}}
	}
	if len(path) > 0 {
		e.Path = append([]any(nil), path...)
	}
	return e
}

func (e *gqlError) Error() string { return e.Message }

// Source objects the resolvers work on.
type (
	queryRoot    struct{}
	mutationRoot struct{}
	shopObj      struct{}
	lineRef      struct {
		order *sbOrder
		line  *LineItem
	}
	moneyBag struct {
		cents    int64
		currency string
	}
	money struct {
		cents    int64
		currency string
	}
	locAddress struct{ loc *sbLocation }
	invQty     struct {
		level *sbLevel
		name  string
	}
	runPayload struct {
		job    *bulkJob
		errors []*userError
	}
	userError struct {
		field   []any
		message string
		code    string
	}
	connPage struct {
		typ     string
		items   []any
		cursors []string
		hasNext bool
		hasPrev bool
	}
	edge struct {
		typ    string
		cursor string
		node   any
	}
	pageInfo struct{ page *connPage }
	// bulkConn is a connection's nodes in a bulk query, written to the JSONL as child lines.
	bulkConn struct{ nodes []map[string]any }
)

func typeOf(src any) string {
	switch v := src.(type) {
	case queryRoot:
		return "QueryRoot"
	case mutationRoot:
		return "Mutation"
	case shopObj:
		return "Shop"
	case *sbOrder:
		return "Order"
	case lineRef:
		return "LineItem"
	case moneyBag:
		return "MoneyBag"
	case money:
		return "MoneyV2"
	case *sbProduct:
		return "Product"
	case *sbVariant:
		return "ProductVariant"
	case *sbItem:
		return "InventoryItem"
	case *sbLevel:
		return "InventoryLevel"
	case invQty:
		return "InventoryQuantity"
	case *sbLocation:
		return "Location"
	case locAddress:
		return "LocationAddress"
	case *bulkJob:
		return "BulkOperation"
	case *runPayload:
		return "BulkOperationRunQueryPayload"
	case *userError:
		return "BulkOperationUserError"
	case *connPage:
		return v.typ + "Connection"
	case *edge:
		return v.typ + "Edge"
	case *pageInfo:
		return "PageInfo"
	}
	return ""
}

// interfaces lists the abstract types a fragment may name, with the concrete types implementing them.
var interfaces = map[string]map[string]bool{
	"Node": {"Order": true, "LineItem": true, "Product": true, "ProductVariant": true, "InventoryItem": true,
		"InventoryLevel": true, "Location": true, "BulkOperation": true, "InventoryQuantity": true},
}

func sc[T any](f func(T) any) fieldDef {
	return fieldDef{kind: kScalar, resolve: func(_ *execution, src any, _ map[string]any) (any, error) {
		return f(src.(T)), nil
	}}
}

func obj[T any](typ string, f func(x *execution, v T, args map[string]any) (any, error)) fieldDef {
	return fieldDef{kind: kObject, typ: typ, resolve: func(x *execution, src any, args map[string]any) (any, error) {
		return f(x, src.(T), args)
	}}
}

func lst[T any](typ string, f func(x *execution, v T, args map[string]any) ([]any, error)) fieldDef {
	return fieldDef{kind: kList, typ: typ, resolve: func(x *execution, src any, args map[string]any) (any, error) {
		return f(x, src.(T), args)
	}}
}

func conn[T any](node string, f func(x *execution, v T, args map[string]any) (*connPage, error)) fieldDef {
	return fieldDef{kind: kConnection, typ: node, resolve: func(x *execution, src any, args map[string]any) (any, error) {
		return f(x, src.(T), args)
	}}
}

func ts(t time.Time) any { return t.UTC().Format(time.RFC3339) }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func u64(n int64) any { return strconv.FormatInt(n, 10) }

var types map[string]map[string]fieldDef

func init() {
	types = map[string]map[string]fieldDef{
		"QueryRoot": {
			"shop": obj("Shop", func(_ *execution, _ queryRoot, _ map[string]any) (any, error) { return shopObj{}, nil }),
			"orders": conn("Order", func(x *execution, _ queryRoot, a map[string]any) (*connPage, error) {
				items := make([]pageItem, len(x.st.orders))
				for i, o := range x.st.orders {
					items[i] = o
				}
				return x.paginate("Order", items, a, "PROCESSED_AT", "PROCESSED_AT", "CREATED_AT", "UPDATED_AT", "ID", "ORDER_NUMBER")
			}),
			"order": obj("Order", func(x *execution, _ queryRoot, a map[string]any) (any, error) { return x.lookup(a["id"], "Order"), nil }),
			"products": conn("Product", func(x *execution, _ queryRoot, a map[string]any) (*connPage, error) {
				items := make([]pageItem, len(x.st.products))
				for i, p := range x.st.products {
					items[i] = p
				}
				return x.paginate("Product", items, a, "ID", "ID", "TITLE", "CREATED_AT", "UPDATED_AT")
			}),
			"product": obj("Product", func(x *execution, _ queryRoot, a map[string]any) (any, error) {
				return x.lookup(a["id"], "Product"), nil
			}),
			"productVariants": conn("ProductVariant", func(x *execution, _ queryRoot, a map[string]any) (*connPage, error) {
				var items []pageItem
				for _, p := range x.st.products {
					for _, v := range p.variants {
						items = append(items, v)
					}
				}
				return x.paginate("ProductVariant", items, a, "ID", "ID", "SKU", "TITLE", "POSITION")
			}),
			"productVariant": obj("ProductVariant", func(x *execution, _ queryRoot, a map[string]any) (any, error) {
				return x.lookup(a["id"], "ProductVariant"), nil
			}),
			"locations": conn("Location", func(x *execution, _ queryRoot, a map[string]any) (*connPage, error) {
				var items []pageItem
				inactive, _ := a["includeInactive"].(bool)
				for _, l := range x.st.locations {
					if l.IsActive || inactive {
						items = append(items, l)
					}
				}
				return x.paginate("Location", items, a, "NAME", "NAME", "ID")
			}),
			"location": obj("Location", func(x *execution, _ queryRoot, a map[string]any) (any, error) {
				if a["id"] == nil && len(x.st.locations) > 0 {
					return x.st.locations[0], nil
				}
				return x.lookup(a["id"], "Location"), nil
			}),
			"inventoryItems": conn("InventoryItem", func(x *execution, _ queryRoot, a map[string]any) (*connPage, error) {
				items := make([]pageItem, len(x.st.items))
				for i, it := range x.st.items {
					items[i] = it
				}
				return x.paginate("InventoryItem", items, a, "ID", "ID")
			}),
			"inventoryItem": obj("InventoryItem", func(x *execution, _ queryRoot, a map[string]any) (any, error) {
				return x.lookup(a["id"], "InventoryItem"), nil
			}),
			"node": obj("Node", func(x *execution, _ queryRoot, a map[string]any) (any, error) { return x.lookup(a["id"], ""), nil }),
			"currentBulkOperation": obj("BulkOperation", func(x *execution, _ queryRoot, _ map[string]any) (any, error) {
				if j := x.sb.currentJob(); j != nil {
					x.sb.advance(j, x.sb.now())
					return j, nil
				}
				return nil, nil
			}),
		},
		"Mutation": {
			"bulkOperationRunQuery": obj("BulkOperationRunQueryPayload", func(x *execution, _ mutationRoot, a map[string]any) (any, error) {
				q, _ := a["query"].(string)
				return x.sb.runBulk(q), nil
			}),
		},
		"Shop": {
			"id":              sc(func(shopObj) any { return "gid://shopify/Shop/60000000001" }),
			"name":            fieldDef{kind: kScalar, resolve: func(x *execution, _ any, _ map[string]any) (any, error) { return x.sb.opts.ShopName, nil }},
			"myshopifyDomain": fieldDef{kind: kScalar, resolve: func(x *execution, _ any, _ map[string]any) (any, error) { return x.sb.opts.ShopDomain, nil }},
			"currencyCode":    sc(func(shopObj) any { return "USD" }),
			"ianaTimezone":    sc(func(shopObj) any { return "Etc/UTC" }),
		},
		"Order": {
			"id":                       sc(func(o *sbOrder) any { return o.GID() }),
			"legacyResourceId":         sc(func(o *sbOrder) any { return u64(o.ID) }),
			"name":                     sc(func(o *sbOrder) any { return o.Name() }),
			"createdAt":                sc(func(o *sbOrder) any { return ts(o.CreatedAt) }),
			"processedAt":              sc(func(o *sbOrder) any { return ts(o.CreatedAt) }),
			"updatedAt":                sc(func(o *sbOrder) any { return ts(o.UpdatedAt) }),
			"cancelledAt":              sc(func(o *sbOrder) any { return tsPtr(o.CancelledAt) }),
			"closed":                   sc(func(o *sbOrder) any { return o.FulfillmentStatus == "FULFILLED" || o.CancelledAt != nil }),
			"test":                     sc(func(*sbOrder) any { return false }),
			"displayFinancialStatus":   sc(func(o *sbOrder) any { return o.FinancialStatus }),
			"displayFulfillmentStatus": sc(func(o *sbOrder) any { return o.FulfillmentStatus }),
			"currencyCode":             sc(func(o *sbOrder) any { return o.Currency }),
			"presentmentCurrencyCode":  sc(func(o *sbOrder) any { return o.Currency }),
			"totalPriceSet": obj("MoneyBag", func(_ *execution, o *sbOrder, _ map[string]any) (any, error) {
				return moneyBag{o.TotalCents(), o.Currency}, nil
			}),
			"subtotalPriceSet": obj("MoneyBag", func(_ *execution, o *sbOrder, _ map[string]any) (any, error) {
				return moneyBag{o.TotalCents(), o.Currency}, nil
			}),
			"lineItems": conn("LineItem", func(x *execution, o *sbOrder, a map[string]any) (*connPage, error) {
				items := make([]pageItem, len(o.Lines))
				for i := range o.Lines {
					items[i] = lineRef{o, &o.Lines[i]}
				}
				return x.paginate("LineItem", items, a, "", "")
			}),
		},
		"MoneyBag": {
			"shopMoney":        obj("MoneyV2", func(_ *execution, m moneyBag, _ map[string]any) (any, error) { return money(m), nil }),
			"presentmentMoney": obj("MoneyV2", func(_ *execution, m moneyBag, _ map[string]any) (any, error) { return money(m), nil }),
		},
		"MoneyV2": {
			"amount":       sc(func(m money) any { return cents(m.cents) }),
			"currencyCode": sc(func(m money) any { return m.currency }),
		},
		"LineItem": {
			"id":              sc(func(l lineRef) any { return gid("LineItem", l.line.ID) }),
			"name":            sc(func(l lineRef) any { return l.line.Title }),
			"title":           sc(func(l lineRef) any { return l.line.Title }),
			"sku":             sc(func(l lineRef) any { return l.line.SKU }),
			"quantity":        sc(func(l lineRef) any { return l.line.Quantity }),
			"currentQuantity": sc(func(l lineRef) any { return l.line.Quantity }),
			"variant": obj("ProductVariant", func(x *execution, l lineRef, _ map[string]any) (any, error) {
				if v, ok := x.st.variants[l.line.VariantID]; ok {
					return v, nil
				}
				return nil, nil
			}),
			"product": obj("Product", func(x *execution, l lineRef, _ map[string]any) (any, error) {
				if v, ok := x.st.variants[l.line.VariantID]; ok {
					return v.product, nil
				}
				return nil, nil
			}),
			"originalUnitPriceSet": obj("MoneyBag", func(_ *execution, l lineRef, _ map[string]any) (any, error) {
				return moneyBag{l.line.UnitPriceCents, l.order.Currency}, nil
			}),
			"originalTotalSet": obj("MoneyBag", func(_ *execution, l lineRef, _ map[string]any) (any, error) {
				return moneyBag{l.line.UnitPriceCents * int64(l.line.Quantity), l.order.Currency}, nil
			}),
		},
		"Product": {
			"id":               sc(func(p *sbProduct) any { return gid("Product", p.ID) }),
			"legacyResourceId": sc(func(p *sbProduct) any { return u64(p.ID) }),
			"title":            sc(func(p *sbProduct) any { return p.Title }),
			"handle":           sc(func(p *sbProduct) any { return p.Handle }),
			"vendor":           sc(func(p *sbProduct) any { return p.Vendor }),
			"productType":      sc(func(p *sbProduct) any { return p.ProductType }),
			"status":           sc(func(*sbProduct) any { return "ACTIVE" }),
			"tags":             sc(func(*sbProduct) any { return []any{} }),
			"createdAt":        sc(func(p *sbProduct) any { return ts(p.CreatedAt) }),
			"updatedAt":        sc(func(p *sbProduct) any { return ts(p.UpdatedAt) }),
			"variants": conn("ProductVariant", func(x *execution, p *sbProduct, a map[string]any) (*connPage, error) {
				items := make([]pageItem, len(p.variants))
				for i, v := range p.variants {
					items[i] = v
				}
				return x.paginate("ProductVariant", items, a, "POSITION", "POSITION", "ID")
			}),
		},
		"ProductVariant": {
			"id":               sc(func(v *sbVariant) any { return gid("ProductVariant", v.ID) }),
			"legacyResourceId": sc(func(v *sbVariant) any { return u64(v.ID) }),
			"sku":              sc(func(v *sbVariant) any { return v.SKU }),
			"title":            sc(func(v *sbVariant) any { return v.Title }),
			"displayName":      sc(func(v *sbVariant) any { return v.product.Title + " - " + v.Title }),
			"barcode":          sc(func(v *sbVariant) any { return v.Barcode }),
			"price":            sc(func(v *sbVariant) any { return cents(v.PriceCents) }),
			"compareAtPrice":   sc(func(*sbVariant) any { return nil }),
			"position":         sc(func(v *sbVariant) any { return v.Position }),
			"availableForSale": sc(func(*sbVariant) any { return true }),
			"inventoryQuantity": sc(func(v *sbVariant) any {
				n := 0
				for _, l := range v.item.levels {
					n += l.Available
				}
				return n
			}),
			"createdAt": sc(func(v *sbVariant) any { return ts(v.CreatedAt) }),
			"updatedAt": sc(func(v *sbVariant) any { return ts(v.UpdatedAt) }),
			"product":   obj("Product", func(_ *execution, v *sbVariant, _ map[string]any) (any, error) { return v.product, nil }),
			"inventoryItem": obj("InventoryItem", func(_ *execution, v *sbVariant, _ map[string]any) (any, error) {
				return v.item, nil
			}),
		},
		"InventoryItem": {
			"id":               sc(func(i *sbItem) any { return gid("InventoryItem", i.ID) }),
			"legacyResourceId": sc(func(i *sbItem) any { return u64(i.ID) }),
			"sku":              sc(func(i *sbItem) any { return i.variant.SKU }),
			"tracked":          sc(func(*sbItem) any { return true }),
			"requiresShipping": sc(func(*sbItem) any { return true }),
			"createdAt":        sc(func(i *sbItem) any { return ts(i.CreatedAt) }),
			"updatedAt":        sc(func(i *sbItem) any { return ts(i.UpdatedAt) }),
			"variant":          obj("ProductVariant", func(_ *execution, i *sbItem, _ map[string]any) (any, error) { return i.variant, nil }),
			"inventoryLevels": conn("InventoryLevel", func(x *execution, i *sbItem, a map[string]any) (*connPage, error) {
				items := make([]pageItem, len(i.levels))
				for k, l := range i.levels {
					items[k] = l
				}
				return x.paginate("InventoryLevel", items, a, "", "")
			}),
		},
		"InventoryLevel": {
			"id": sc(func(l *sbLevel) any {
				return fmt.Sprintf("gid://shopify/InventoryLevel/%d?inventory_item_id=%d", l.ID, l.item.ID)
			}),
			"createdAt": sc(func(l *sbLevel) any { return ts(l.CreatedAt) }),
			"updatedAt": sc(func(l *sbLevel) any { return ts(l.UpdatedAt) }),
			"item":      obj("InventoryItem", func(_ *execution, l *sbLevel, _ map[string]any) (any, error) { return l.item, nil }),
			"location":  obj("Location", func(_ *execution, l *sbLevel, _ map[string]any) (any, error) { return l.location, nil }),
			"quantities": lst("InventoryQuantity", func(_ *execution, l *sbLevel, a map[string]any) ([]any, error) {
				names, ok := a["names"].([]any)
				if !ok {
					return nil, fmt.Errorf("Field 'quantities' is missing required arguments: names")
				}
				out := make([]any, 0, len(names))
				for _, n := range names {
					s, _ := n.(string)
					switch s {
					case "available", "on_hand", "committed", "incoming", "reserved", "damaged", "safety_stock", "quality_control":
					default:
						return nil, fmt.Errorf("The quantity name '%s' is not valid.", s)
					}
					out = append(out, invQty{l, s})
				}
				return out, nil
			}),
		},
		"InventoryQuantity": {
			"id": sc(func(q invQty) any {
				return fmt.Sprintf("gid://shopify/InventoryQuantity/%d?inventory_item_id=%d&name=%s", q.level.location.ID, q.level.item.ID, q.name)
			}),
			"name": sc(func(q invQty) any { return q.name }),
			"quantity": sc(func(q invQty) any {
				switch q.name {
				case "available":
					return q.level.Available
				case "on_hand":
					return q.level.OnHand
				case "committed":
					return q.level.Committed
				}
				return 0
			}),
			"updatedAt": sc(func(q invQty) any { return ts(q.level.UpdatedAt) }),
		},
		"Location": {
			"id":                   sc(func(l *sbLocation) any { return gid("Location", l.ID) }),
			"legacyResourceId":     sc(func(l *sbLocation) any { return u64(l.ID) }),
			"name":                 sc(func(l *sbLocation) any { return l.Name }),
			"isActive":             sc(func(l *sbLocation) any { return l.IsActive }),
			"fulfillsOnlineOrders": sc(func(l *sbLocation) any { return l.IsActive }),
			"shipsInventory":       sc(func(l *sbLocation) any { return l.IsActive }),
			"deactivatedAt":        sc(func(*sbLocation) any { return nil }),
			"createdAt":            sc(func(l *sbLocation) any { return ts(l.CreatedAt) }),
			"updatedAt":            sc(func(l *sbLocation) any { return ts(l.UpdatedAt) }),
			"address":              obj("LocationAddress", func(_ *execution, l *sbLocation, _ map[string]any) (any, error) { return locAddress{l}, nil }),
			"inventoryLevels": conn("InventoryLevel", func(x *execution, l *sbLocation, a map[string]any) (*connPage, error) {
				var items []pageItem
				for _, lv := range x.st.levels {
					if lv.location == l {
						items = append(items, lv)
					}
				}
				return x.paginate("InventoryLevel", items, a, "", "")
			}),
		},
		"LocationAddress": {
			"address1":    sc(func(a locAddress) any { return a.loc.Address1 }),
			"address2":    sc(func(locAddress) any { return nil }),
			"city":        sc(func(a locAddress) any { return a.loc.City }),
			"province":    sc(func(a locAddress) any { return a.loc.Province }),
			"zip":         sc(func(a locAddress) any { return a.loc.Zip }),
			"country":     sc(func(a locAddress) any { return a.loc.Country }),
			"countryCode": sc(func(a locAddress) any { return a.loc.CountryCode }),
			"phone":       sc(func(locAddress) any { return nil }),
			"formatted": sc(func(a locAddress) any {
				return []any{a.loc.Address1, a.loc.City + " " + a.loc.Zip, a.loc.Country}
			}),
		},
		"BulkOperation": {
			"id":        sc(func(j *bulkJob) any { return gid("BulkOperation", j.id) }),
			"status":    sc(func(j *bulkJob) any { return j.status }),
			"type":      sc(func(*bulkJob) any { return "QUERY" }),
			"query":     sc(func(j *bulkJob) any { return j.query }),
			"createdAt": sc(func(j *bulkJob) any { return ts(j.createdAt) }),
			"completedAt": sc(func(j *bulkJob) any {
				if j.completedAt.IsZero() {
					return nil
				}
				return ts(j.completedAt)
			}),
			"errorCode": sc(func(j *bulkJob) any {
				if j.errorCode == "" {
					return nil
				}
				return j.errorCode
			}),
			"objectCount":     sc(func(j *bulkJob) any { return u64(j.progress(j.lines)) }),
			"rootObjectCount": sc(func(j *bulkJob) any { return u64(j.progress(j.roots)) }),
			"fileSize": sc(func(j *bulkJob) any {
				if j.status != "COMPLETED" {
					return nil
				}
				return u64(int64(len(j.data)))
			}),
			"url": fieldDef{kind: kScalar, resolve: func(x *execution, src any, _ map[string]any) (any, error) {
				j := src.(*bulkJob)
				if j.status != "COMPLETED" || j.lines == 0 {
					return nil, nil
				}
				return x.baseURL + j.path(false), nil
			}},
			"partialDataUrl": fieldDef{kind: kScalar, resolve: func(x *execution, src any, _ map[string]any) (any, error) {
				j := src.(*bulkJob)
				if j.status != "FAILED" || j.lines == 0 {
					return nil, nil
				}
				return x.baseURL + j.path(true), nil
			}},
		},
		"BulkOperationRunQueryPayload": {
			"bulkOperation": obj("BulkOperation", func(_ *execution, p *runPayload, _ map[string]any) (any, error) {
				if p.job == nil {
					return nil, nil
				}
				return p.job, nil
			}),
			"userErrors": lst("BulkOperationUserError", func(_ *execution, p *runPayload, _ map[string]any) ([]any, error) {
				out := make([]any, len(p.errors))
				for i, e := range p.errors {
					out[i] = e
				}
				return out, nil
			}),
		},
		"BulkOperationUserError": {
			"field": sc(func(e *userError) any {
				if e.field == nil {
					return nil
				}
				return e.field
			}),
			"message": sc(func(e *userError) any { return e.message }),
			"code":    sc(func(e *userError) any { return e.code }),
		},
		"PageInfo": {
			"hasNextPage":     sc(func(p *pageInfo) any { return p.page.hasNext }),
			"hasPreviousPage": sc(func(p *pageInfo) any { return p.page.hasPrev }),
			"startCursor": sc(func(p *pageInfo) any {
				if len(p.page.cursors) == 0 {
					return nil
				}
				return p.page.cursors[0]
			}),
			"endCursor": sc(func(p *pageInfo) any {
				if len(p.page.cursors) == 0 {
					return nil
				}
				return p.page.cursors[len(p.page.cursors)-1]
			}),
		},
		"Node": {"id": {kind: kScalar}},
	}
	for _, n := range []string{"Order", "LineItem", "Product", "ProductVariant", "InventoryItem", "InventoryLevel", "Location"} {
		types[n+"Connection"] = map[string]fieldDef{
			"edges": {kind: kList, typ: n + "Edge", free: true, resolve: func(_ *execution, src any, _ map[string]any) (any, error) {
				p := src.(*connPage)
				out := make([]any, len(p.items))
				for i, it := range p.items {
					out[i] = &edge{typ: p.typ, cursor: p.cursors[i], node: it}
				}
				return out, nil
			}},
			"nodes": {kind: kList, typ: n, resolve: func(_ *execution, src any, _ map[string]any) (any, error) {
				return append([]any(nil), src.(*connPage).items...), nil
			}},
			"pageInfo": {kind: kObject, typ: "PageInfo", free: true, resolve: func(_ *execution, src any, _ map[string]any) (any, error) {
				return &pageInfo{src.(*connPage)}, nil
			}},
		}
		types[n+"Edge"] = map[string]fieldDef{
			"cursor": sc(func(e *edge) any { return e.cursor }),
			"node":   {kind: kObject, typ: n, resolve: func(_ *execution, src any, _ map[string]any) (any, error) { return src.(*edge).node, nil }},
		}
	}
}

// pageItem is what a connection lists.
type pageItem interface {
	numID() int64
	sortValue(key string) (int64, string)
	filterValue(field string) (time.Time, bool)
}

func (o *sbOrder) numID() int64 { return o.ID }
func (o *sbOrder) sortValue(k string) (int64, string) {
	switch k {
	case "UPDATED_AT":
		return o.UpdatedAt.Unix(), ""
	case "CREATED_AT", "PROCESSED_AT":
		return o.CreatedAt.Unix(), ""
	case "ORDER_NUMBER":
		return int64(o.Number), ""
	}
	return o.ID, ""
}
func (o *sbOrder) filterValue(f string) (time.Time, bool) {
	switch f {
	case "updated_at":
		return o.UpdatedAt, true
	case "created_at", "processed_at":
		return o.CreatedAt, true
	}
	return time.Time{}, false
}

func (l lineRef) numID() int64                         { return l.line.ID }
func (l lineRef) sortValue(string) (int64, string)     { return l.line.ID, "" }
func (l lineRef) filterValue(string) (time.Time, bool) { return time.Time{}, false }
func (p *sbProduct) numID() int64                      { return p.ID }
func (p *sbProduct) filterValue(f string) (time.Time, bool) {
	switch f {
	case "updated_at":
		return p.UpdatedAt, true
	case "created_at":
		return p.CreatedAt, true
	}
	return time.Time{}, false
}
func (p *sbProduct) sortValue(k string) (int64, string) {
	switch k {
	case "UPDATED_AT":
		return p.UpdatedAt.Unix(), ""
	case "CREATED_AT":
		return p.CreatedAt.Unix(), ""
	case "TITLE":
		return 0, p.Title
	}
	return p.ID, ""
}
func (v *sbVariant) numID() int64 { return v.ID }
func (v *sbVariant) filterValue(f string) (time.Time, bool) {
	switch f {
	case "updated_at":
		return v.UpdatedAt, true
	case "created_at":
		return v.CreatedAt, true
	}
	return time.Time{}, false
}
func (v *sbVariant) sortValue(k string) (int64, string) {
	switch k {
	case "SKU":
		return 0, v.SKU
	case "TITLE":
		return 0, v.Title
	case "POSITION":
		return int64(v.Position), ""
	}
	return v.ID, ""
}
func (i *sbItem) numID() int64                     { return i.ID }
func (i *sbItem) sortValue(string) (int64, string) { return i.ID, "" }
func (i *sbItem) filterValue(f string) (time.Time, bool) {
	switch f {
	case "updated_at":
		return i.UpdatedAt, true
	case "created_at":
		return i.CreatedAt, true
	}
	return time.Time{}, false
}
func (l *sbLevel) numID() int64                     { return l.ID }
func (l *sbLevel) sortValue(string) (int64, string) { return l.ID, "" }
func (l *sbLevel) filterValue(f string) (time.Time, bool) {
	switch f {
	case "updated_at":
		return l.UpdatedAt, true
	case "created_at":
		return l.CreatedAt, true
	}
	return time.Time{}, false
}
func (l *sbLocation) numID() int64 { return l.ID }
func (l *sbLocation) sortValue(k string) (int64, string) {
	if k == "NAME" {
		return 0, l.Name
	}
	return l.ID, ""
}
func (l *sbLocation) filterValue(f string) (time.Time, bool) {
	switch f {
	case "updated_at":
		return l.UpdatedAt, true
	case "created_at":
		return l.CreatedAt, true
	}
	return time.Time{}, false
}

// cursorData is what a sandbox cursor encodes, in the shape of Shopify's own (base64 JSON) cursors.
type cursorData struct {
	LastID    int64 `json:"last_id"`
	LastValue any   `json:"last_value"`
}

func encodeCursor(id, n int64, s string, key string) string {
	var v any = n
	switch key {
	case "NAME", "TITLE", "SKU":
		v = s
	}
	b, _ := json.Marshal(cursorData{LastID: id, LastValue: v})
	return base64.StdEncoding.EncodeToString(b)
}

func decodeCursor(c string) (id, n int64, s string, err error) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, "", err
	}
	var d cursorData
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return 0, 0, "", err
	}
	switch v := d.LastValue.(type) {
	case json.Number:
		n, err = v.Int64()
	case string:
		s = v
	default:
		err = fmt.Errorf("bad cursor value")
	}
	return d.LastID, n, s, err
}

func less(an int64, as string, aid int64, bn int64, bs string, bid int64) bool {
	if an != bn {
		return an < bn
	}
	if as != bs {
		return as < bs
	}
	return aid < bid
}

// paginate filters, sorts and slices items for a connection field. sortKeys[0] is the default sort key and the
// rest are the keys accepted; an empty default means the connection takes no sortKey argument.
func (x *execution) paginate(typ string, items []pageItem, args map[string]any, def string, accepted ...string) (*connPage, error) {
	if _, ok := args["last"]; ok && args["last"] != nil {
		return nil, fmt.Errorf("The sandbox supports forward pagination only (first/after).")
	}
	first := -1
	if v, ok := args["first"]; ok && v != nil {
		n, ok := toInt(v)
		if !ok {
			return nil, fmt.Errorf("Argument 'first' has an invalid value.")
		}
		first = n
	}
	if !x.bulk {
		if first < 0 {
			return nil, fmt.Errorf("you must provide one of first or last")
		}
		if first > maxPageSize {
			return nil, fmt.Errorf("The page size %d is greater than the maximum page size (%d).", first, maxPageSize)
		}
	} else {
		first = -1
	}
	key := def
	if v, ok := args["sortKey"]; ok && v != nil {
		s, _ := v.(string)
		okKey := false
		for _, k := range accepted {
			okKey = okKey || k == s
		}
		if !okKey {
			return nil, fmt.Errorf("Argument 'sortKey' on Field has an invalid value (%v). Expected type '%sSortKeys'.", v, typ)
		}
		key = s
	}
	reverse, _ := args["reverse"].(bool)
	var pred func(pageItem) bool
	if q, ok := args["query"].(string); ok && q != "" {
		p, warnings, err := parseSearch(q)
		if err != nil {
			return nil, err
		}
		x.warnings = append(x.warnings, warnings...)
		pred = p
	}
	type row struct {
		it pageItem
		n  int64
		s  string
	}
	rows := make([]row, 0, len(items))
	for _, it := range items {
		if pred != nil && !pred(it) {
			continue
		}
		n, s := it.sortValue(key)
		rows = append(rows, row{it, n, s})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if reverse {
			return less(rows[j].n, rows[j].s, rows[j].it.numID(), rows[i].n, rows[i].s, rows[i].it.numID())
		}
		return less(rows[i].n, rows[i].s, rows[i].it.numID(), rows[j].n, rows[j].s, rows[j].it.numID())
	})
	start := 0
	if a, ok := args["after"].(string); ok && a != "" {
		id, n, s, err := decodeCursor(a)
		if err != nil {
			return nil, fmt.Errorf("Invalid cursor for current pagination sort.")
		}
		start = len(rows)
		for i, r := range rows {
			after := less(n, s, id, r.n, r.s, r.it.numID())
			if reverse {
				after = less(r.n, r.s, r.it.numID(), n, s, id)
			}
			if after {
				start = i
				break
			}
		}
	}
	end := len(rows)
	if first >= 0 && start+first < end {
		end = start + first
	}
	p := &connPage{typ: typ, hasNext: end < len(rows), hasPrev: start > 0}
	for _, r := range rows[start:end] {
		p.items = append(p.items, r.it)
		p.cursors = append(p.cursors, encodeCursor(r.it.numID(), r.n, r.s, key))
	}
	return p, nil
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), n == float64(int(n))
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

// parseSearch understands the subset of Shopify's search syntax the connector relies on: space- or
// AND-separated terms `field:value`, `field:>value`, `field:>=value`, `field:<value`, `field:<=value` on the
// time fields updated_at, created_at and processed_at, values optionally quoted. Other terms are ignored with a
// warning, as Shopify does for fields a resource cannot be searched by.
func parseSearch(q string) (func(pageItem) bool, []string, error) {
	var preds []func(pageItem) bool
	var warnings []string
	for _, term := range splitTerms(q) {
		if strings.EqualFold(term, "AND") {
			continue
		}
		field, rest, ok := strings.Cut(term, ":")
		if !ok {
			warnings = append(warnings, fmt.Sprintf("Free text search term %q is ignored by the sandbox.", term))
			continue
		}
		op := ""
		for _, o := range []string{">=", "<=", ">", "<"} {
			if strings.HasPrefix(rest, o) {
				op, rest = o, rest[len(o):]
				break
			}
		}
		val := strings.Trim(rest, `'"`)
		switch field {
		case "updated_at", "created_at", "processed_at":
		default:
			warnings = append(warnings, fmt.Sprintf("Invalid search field for this query: %s", field))
			continue
		}
		t, err := parseSearchTime(val)
		if err != nil {
			return nil, nil, fmt.Errorf("Invalid value %q for search field %s.", val, field)
		}
		f := field
		preds = append(preds, func(it pageItem) bool {
			v, ok := it.filterValue(f)
			if !ok {
				return true
			}
			v = v.Truncate(time.Second)
			switch op {
			case ">":
				return v.After(t)
			case ">=":
				return !v.Before(t)
			case "<":
				return v.Before(t)
			case "<=":
				return !v.After(t)
			}
			return v.Equal(t)
		})
	}
	return func(it pageItem) bool {
		for _, p := range preds {
			if !p(it) {
				return false
			}
		}
		return true
	}, warnings, nil
}

func splitTerms(q string) []string {
	var out []string
	var b strings.Builder
	quote := rune(0)
	for _, r := range q {
		switch {
		case quote != 0:
			b.WriteRune(r)
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
			b.WriteRune(r)
		case r == ' ' || r == '\t' || r == '\n':
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

func parseSearchTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC().Truncate(time.Second), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", v)
}

// lookup resolves a GID to an object; kind restricts the type ("" accepts any node).
func (x *execution) lookup(v any, kind string) any {
	s, _ := v.(string)
	rest, ok := strings.CutPrefix(s, "gid://shopify/")
	if !ok {
		return nil
	}
	k, num, ok := strings.Cut(rest, "/")
	if !ok || (kind != "" && k != kind) {
		return nil
	}
	num, _, _ = strings.Cut(num, "?")
	id, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return nil
	}
	switch k {
	case "Order":
		for _, o := range x.st.orders {
			if o.ID == id {
				return o
			}
		}
	case "Product":
		for _, p := range x.st.products {
			if p.ID == id {
				return p
			}
		}
	case "ProductVariant":
		if v, ok := x.st.variants[id]; ok {
			return v
		}
	case "InventoryItem":
		for _, i := range x.st.items {
			if i.ID == id {
				return i
			}
		}
	case "Location":
		for _, l := range x.st.locations {
			if l.ID == id {
				return l
			}
		}
	case "BulkOperation":
		if j := x.sb.jobs[id]; j != nil {
			x.sb.advance(j, x.sb.now())
			return j
		}
	}
	return nil
}

// execution is one request's run of a query document.
type execution struct {
	sb       *Sandbox
	st       *store
	doc      *ast.QueryDocument
	vars     map[string]any
	bulk     bool
	baseURL  string
	actual   int
	errors   []*gqlError
	warnings []string
}

func (x *execution) args(f *ast.Field) (map[string]any, error) {
	out := make(map[string]any, len(f.Arguments))
	for _, a := range f.Arguments {
		v, err := a.Value.Value(x.vars)
		if err != nil {
			return nil, err
		}
		out[a.Name] = v
	}
	return out, nil
}

func typeMatches(concrete, cond string) bool {
	return cond == "" || cond == concrete || interfaces[cond][concrete]
}

// cost validates a selection set against the type table and returns its requested cost: objects 1,
// connections 2 plus first times the cost of one node, scalars 0.
func (x *execution) cost(typ string, set ast.SelectionSet, path []any) (int, error) {
	fields, ok := types[typ]
	if !ok {
		return 0, errAt(nil, path, nil, "No such type %s", typ)
	}
	total, fragMax := 0, 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__typename" {
				continue
			}
			def, ok := fields[s.Name]
			if !ok {
				return 0, errAt(s.Position, append(path, s.Name), map[string]any{"code": "undefinedField", "typeName": typ, "fieldName": s.Name},
					"Field '%s' doesn't exist on type '%s'", s.Name, typ)
			}
			p := append(append([]any(nil), path...), s.Alias)
			switch def.kind {
			case kScalar:
				if len(s.SelectionSet) > 0 {
					return 0, errAt(s.Position, p, nil, "Selections can't be made on scalars (field '%s' returns a scalar)", s.Name)
				}
			case kList:
				if def.typ == "" {
					continue
				}
				fallthrough
			case kObject:
				if len(s.SelectionSet) == 0 {
					return 0, errAt(s.Position, p, nil, "Field must have selections (field '%s' returns %s but has no selections.)", s.Name, def.typ)
				}
				c, err := x.cost(def.typ, s.SelectionSet, p)
				if err != nil {
					return 0, err
				}
				if !def.free {
					c++
				}
				total += c
			case kConnection:
				if len(s.SelectionSet) == 0 {
					return 0, errAt(s.Position, p, nil, "Field must have selections (field '%s' returns %sConnection but has no selections.)", s.Name, def.typ)
				}
				args, err := x.args(s)
				if err != nil {
					return 0, errAt(s.Position, p, nil, "%v", err)
				}
				first := 1
				if n, ok := toInt(args["first"]); ok {
					first = n
				} else if n, ok := toInt(args["last"]); ok {
					first = n
				}
				c, err := x.cost(def.typ+"Connection", s.SelectionSet, p)
				if err != nil {
					return 0, err
				}
				total += 2 + first*c
			}
		case *ast.InlineFragment:
			c, err := x.fragmentCost(typ, s.TypeCondition, s.SelectionSet, path)
			if err != nil {
				return 0, err
			}
			if interfaces[typ] != nil {
				fragMax = max(fragMax, c)
			} else {
				total += c
			}
		case *ast.FragmentSpread:
			fd := x.doc.Fragments.ForName(s.Name)
			if fd == nil {
				return 0, errAt(s.Position, path, nil, "Fragment %s was used, but not defined", s.Name)
			}
			c, err := x.fragmentCost(typ, fd.TypeCondition, fd.SelectionSet, path)
			if err != nil {
				return 0, err
			}
			if interfaces[typ] != nil {
				fragMax = max(fragMax, c)
			} else {
				total += c
			}
		}
	}
	return total + fragMax, nil
}

func (x *execution) fragmentCost(typ, cond string, set ast.SelectionSet, path []any) (int, error) {
	if cond == "" {
		cond = typ
	}
	if _, ok := types[cond]; !ok {
		return 0, errAt(nil, path, nil, "No such type %s, so it can't be a fragment condition", cond)
	}
	if !typeMatches(typ, cond) && !interfaces[typ][cond] {
		return 0, errAt(nil, path, nil, "Fragment on %s can't be spread inside %s", cond, typ)
	}
	return x.cost(cond, set, path)
}

// execSet runs a selection set on src and returns the result object.
func (x *execution) execSet(src any, set ast.SelectionSet, path []any) map[string]any {
	typ := typeOf(src)
	out := map[string]any{}
	x.collect(src, typ, set, path, out)
	return out
}

func (x *execution) collect(src any, typ string, set ast.SelectionSet, path []any, out map[string]any) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			if s.Name == "__typename" {
				out[key] = typ
				continue
			}
			p := append(append([]any(nil), path...), key)
			out[key] = x.field(src, typ, s, p)
		case *ast.InlineFragment:
			if typeMatches(typ, s.TypeCondition) {
				x.collect(src, typ, s.SelectionSet, path, out)
			}
		case *ast.FragmentSpread:
			if fd := x.doc.Fragments.ForName(s.Name); fd != nil && typeMatches(typ, fd.TypeCondition) {
				x.collect(src, typ, fd.SelectionSet, path, out)
			}
		}
	}
}

func (x *execution) field(src any, typ string, f *ast.Field, path []any) any {
	def, ok := types[typ][f.Name]
	if !ok || def.resolve == nil {
		x.errors = append(x.errors, errAt(f.Position, path, nil, "Field '%s' doesn't exist on type '%s'", f.Name, typ))
		return nil
	}
	args, err := x.args(f)
	if err != nil {
		x.errors = append(x.errors, errAt(f.Position, path, nil, "%v", err))
		return nil
	}
	val, err := def.resolve(x, src, args)
	if err != nil {
		x.errors = append(x.errors, errAt(f.Position, path, nil, "%v", err))
		return nil
	}
	if val == nil {
		return nil
	}
	switch def.kind {
	case kScalar:
		return val
	case kObject:
		if !def.free {
			x.actual++
		}
		return x.execSet(val, f.SelectionSet, path)
	case kList:
		items := val.([]any)
		if def.typ == "" {
			return items
		}
		out := make([]any, len(items))
		for i, it := range items {
			if !def.free {
				x.actual++
			}
			out[i] = x.execSet(it, f.SelectionSet, append(append([]any(nil), path...), i))
		}
		return out
	case kConnection:
		x.actual += 2
		res := x.execSet(val, f.SelectionSet, path)
		if !x.bulk {
			return res
		}
		return toBulkConn(res)
	}
	return nil
}

// toBulkConn collects the nodes of an executed connection for the JSONL writer.
func toBulkConn(res map[string]any) bulkConn {
	var bc bulkConn
	for _, k := range sortedKeys(res) {
		switch items := res[k].(type) {
		case []any:
			for _, it := range items {
				m, _ := it.(map[string]any)
				if m == nil {
					continue
				}
				if n, ok := m["node"].(map[string]any); ok {
					bc.nodes = append(bc.nodes, n)
				} else if _, isEdge := m["cursor"]; !isEdge {
					bc.nodes = append(bc.nodes, m)
				}
			}
		}
	}
	return bc
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
