package magento

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

// Credentials Secret keys. accessToken alone means bearer authentication (the store must allow integration
// tokens as bearer tokens); with consumerKey present every request is signed with OAuth 1.0a and all four keys
// are required.
const (
	CredentialAccessToken       = "accessToken"
	CredentialConsumerKey       = "consumerKey"
	CredentialConsumerSecret    = "consumerSecret"
	CredentialAccessTokenSecret = "accessTokenSecret"
)

// DefaultStorePath is the REST prefix used when the store URL does not name one: the default store view, as
// in Adobe's published schema (basePath /rest/default).
const DefaultStorePath = "/rest/default"

// DefaultOrderFields selects what orders are read with: the order's identity, state, customer, money and
// addresses, and its items' identity, product, quantities and prices. A FieldMapping that needs another
// order field needs it added here (Connector.OrderFields).
const DefaultOrderFields = "items[entity_id,increment_id,state,status,created_at,updated_at,store_id," +
	"customer_id,customer_email,customer_firstname,customer_lastname,customer_is_guest," +
	"base_currency_code,order_currency_code,subtotal,shipping_amount,tax_amount,discount_amount," +
	"grand_total,base_grand_total,total_paid,total_due,total_qty_ordered,shipping_description," +
	"billing_address,payment[method]," +
	"items[item_id,parent_item_id,product_id,product_type,sku,name,qty_ordered,qty_invoiced,qty_shipped," +
	"qty_refunded,qty_canceled,price,base_price,original_price,row_total,tax_amount,discount_amount]," +
	"extension_attributes[shipping_assignments[shipping[address,method]]]],total_count"

const (
	platformName = "magento"
	userAgent    = "tether-integration-operator (connectors/magento)"
)

func init() {
	connectors.Register(connectors.Platform{
		Name:           v1alpha1.PlatformMagento,
		Entities:       []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory},
		CredentialKeys: []string{CredentialAccessToken},
		DefaultMapping: DefaultMapping(),
		New: func(cfg connectors.Config) (connectors.Connector, error) {
			return New(cfg)
		},
		NewSandbox: newRegisteredSandbox,
	})
}

// PageSizes are the searchCriteria[pageSize] of each list call. Magento's input limits (on by default since
// 2.4.3 in many installs) reject more than 300.
type PageSizes struct {
	Orders      int // default 100
	Products    int // default 100
	Sources     int // default 100
	SourceItems int // default 300
	// Lookups is the page size of the trimmed (fields=...) product lists that resolve configurable parents and
	// SKU IDs (default 300).
	Lookups int
}

// Connector reads one Magento store. The exported fields tune it; New sets them to their defaults.
type Connector struct {
	// PageSizes are the page sizes of the list calls.
	PageSizes PageSizes
	// OrderFields is the fields= selector of order lists (default DefaultOrderFields); empty asks for whole
	// orders. A full order repeats its items under extension_attributes.shipping_assignments and each
	// configurable child repeats its parent item, about 15 KB an order: the selector cuts that by six.
	OrderFields string

	base   string // e.g. https://shop.example.com/rest/default
	bearer string
	oauth  *oauthCredentials
	client *kit.Client
	pacer  *kit.AdaptivePacer
	log    logr.Logger
	now    func() time.Time
}

var _ connectors.Connector = (*Connector)(nil)

// Options tune a connector beyond its Config.
type Options struct {
	// RequestsPerSecond caps the request rate from the start, for a store behind a WAF with a known rule.
	// Zero starts unpaced; either way a 429 slows the connector down to the rate the store admits
	// (kit.AdaptivePacer).
	RequestsPerSecond float64
}

// New builds a connector from the Integration's connection and credentials.
func New(cfg connectors.Config) (*Connector, error) {
	return NewWithOptions(cfg, Options{})
}

// NewWithOptions is New with tuning options.
func NewWithOptions(cfg connectors.Config, opts Options) (*Connector, error) {
	secret := func(key string) (string, error) {
		v := strings.TrimSpace(string(cfg.Credentials[key]))
		if v == "" {
			return "", connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
				fmt.Errorf("magento: the credentials Secret has no %q key (%s)", key, credentialHelp[key]))
		}
		return v, nil
	}
	token, err := secret(CredentialAccessToken)
	if err != nil {
		return nil, err
	}
	c := &Connector{
		PageSizes:   PageSizes{Orders: 100, Products: 100, Sources: 100, SourceItems: 300, Lookups: 300},
		OrderFields: DefaultOrderFields,
		log:         cfg.Log,
		now:         time.Now,
	}
	// consumerSecret or accessTokenSecret without consumerKey is a half-copied integration: sending the token
	// as a bearer token would fail on 2.4.4+ stores with a 401 that does not say which key is missing.
	if len(strings.TrimSpace(string(cfg.Credentials[CredentialConsumerKey]))) == 0 &&
		(len(strings.TrimSpace(string(cfg.Credentials[CredentialConsumerSecret]))) > 0 ||
			len(strings.TrimSpace(string(cfg.Credentials[CredentialAccessTokenSecret]))) > 0) {
		_, err := secret(CredentialConsumerKey)
		return nil, err
	}
	if len(strings.TrimSpace(string(cfg.Credentials[CredentialConsumerKey]))) > 0 {
		o := oauthCredentials{token: token}
		for _, kv := range []struct {
			key string
			dst *string
		}{
			{CredentialConsumerKey, &o.consumerKey},
			{CredentialConsumerSecret, &o.consumerSecret},
			{CredentialAccessTokenSecret, &o.tokenSecret},
		} {
			if *kv.dst, err = secret(kv.key); err != nil {
				return nil, err
			}
		}
		c.oauth = &o
	} else {
		c.bearer = token
	}

	base, err := restBase(cfg.Connection)
	if err != nil {
		return nil, err
	}
	c.base = base
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	c.pacer = &kit.AdaptivePacer{Floor: 0.2}
	c.pacer.SetMax(opts.RequestsPerSecond)
	c.client = &kit.Client{
		HTTP:       hc,
		Platform:   platformName,
		MaxRetries: 8,
		Pacer:      c.pacer,
		Check:      checkResponse,
	}
	return c, nil
}

var credentialHelp = map[string]string{
	CredentialAccessToken:       "the integration's Access Token",
	CredentialConsumerKey:       "the integration's Consumer Key",
	CredentialConsumerSecret:    "the integration's Consumer Secret",
	CredentialAccessTokenSecret: "the integration's Access Token Secret",
}

// restBase turns the connection into the REST prefix the V1 paths hang off. Endpoint, when set, replaces the
// store URL. A URL that already contains a /rest or /rest/<store> segment is kept; otherwise /rest/default
// is appended.
func restBase(conn v1alpha1.Connection) (string, error) {
	raw := conn.Endpoint
	if raw == "" {
		raw = conn.StoreURL
	}
	if raw == "" {
		return "", connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("magento: connection.storeURL is required (for example https://shop.example.com)"))
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("magento: connection URL %q is not an http(s) URL", raw))
	}
	u.RawQuery, u.Fragment = "", ""
	path := strings.TrimRight(u.Path, "/")
	path = strings.TrimSuffix(path, "/V1")
	if i := strings.Index(path+"/", "/rest/"); i >= 0 {
		// Keep "/rest" or "/rest/<store>".
		rest := strings.Split(strings.TrimPrefix(path[i:], "/"), "/")
		path = path[:i] + "/" + strings.Join(rest[:min(len(rest), 2)], "/")
	} else {
		path += DefaultStorePath
	}
	u.Path = path
	return u.String(), nil
}

// Check lists one order with only its count in the answer: the cheapest authenticated call the integration's
// Sales permission allows.
func (c *Connector) Check(ctx context.Context) error {
	q := url.Values{}
	q.Set("searchCriteria[pageSize]", "1")
	q.Set("searchCriteria[currentPage]", "1")
	q.Set("fields", "total_count")
	var out struct {
		TotalCount int `json:"total_count"`
	}
	if err := c.get(ctx, "/V1/orders", q, &out); err != nil {
		return fmt.Errorf("magento: check connection: %w", err)
	}
	return nil
}

// resumeState is the Page.Resume token. Keyset reads (orders, products) store the updated_at and entity_id of
// the last record of the page; full reads (sources, source items) store the number of the last page.
type resumeState struct {
	After   string `json:"after,omitempty"`
	AfterID int64  `json:"afterID,omitempty"`
	Page    int    `json:"page,omitempty"`
}

func (r resumeState) String() string { return connectors.EncodeResume(r) }

// Read reads one entity from req.Since, or continues the read req.Resume describes.
func (c *Connector) Read(ctx context.Context, req connectors.ReadRequest, emit connectors.EmitFunc) error {
	var tok resumeState
	if req.Resume != "" {
		if err := json.Unmarshal([]byte(req.Resume), &tok); err != nil {
			c.log.Info("ignoring an unreadable resume token; reading from since", "entity", req.Entity, "error", err.Error())
			tok = resumeState{}
		}
	}
	switch req.Entity {
	case v1alpha1.DataOrders:
		return c.readKeyset(ctx, ordersSpec, req.Since, tok, emit)
	case v1alpha1.DataProducts:
		return c.readKeyset(ctx, productsSpec, req.Since, tok, emit)
	case v1alpha1.DataLocations:
		return c.readSources(ctx, tok.Page, emit)
	case v1alpha1.DataInventory:
		return c.readSourceItems(ctx, tok.Page, emit)
	}
	return connectors.Terminal("UnsupportedEntity", fmt.Errorf("magento: entity %q is not supported", req.Entity))
}

// Stats are a connector's traffic counters.
type Stats struct {
	kit.Stats
	// Limit is the pacing rate in requests per second now; zero means unpaced.
	Limit float64
}

// Stats returns the counters so far.
func (c *Connector) Stats() Stats {
	return Stats{Stats: c.client.Stats(), Limit: c.pacer.Rate()}
}
