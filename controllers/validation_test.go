package controllers

import (
	"context"
	"strconv"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestInvalidManifestsAreRejected applies bad manifests to the real API server: each must be refused before it
// is stored, with a message that names the field.
func TestInvalidManifestsAreRejected(t *testing.T) {
	ns := newNamespace(t)
	const okSpec = `
platform: Shopify
connection: {shopDomain: acme.myshopify.com}
auth: {secretRef: {name: creds}}`
	tests := []struct {
		name     string
		manifest string
		want     []string // every string must appear in the error
	}{
		{"unknown platform", `kind: Integration
spec: {platform: Shopfy, connection: {shopDomain: a.myshopify.com}, auth: {secretRef: {name: c}}}`, []string{"spec.platform", "Unsupported value"}},
		{"platform missing", `kind: Integration
spec: {auth: {secretRef: {name: c}}}`, []string{"spec.platform", "Required"}},
		{"auth missing", `kind: Integration
spec: {platform: Shopify, connection: {shopDomain: a.myshopify.com}}`, []string{"spec.auth", "Required"}},
		{"secretRef name empty", `kind: Integration
spec: {platform: Shopify, connection: {shopDomain: a.myshopify.com}, auth: {secretRef: {name: ""}}}`, []string{"spec.auth.secretRef.name"}},
		{"auth type unknown", `kind: Integration
spec: {platform: Shopify, connection: {shopDomain: a.myshopify.com}, auth: {type: Password, secretRef: {name: c}}}`, []string{"spec.auth.type", "Unsupported value"}},
		{"shopify without shopDomain", `kind: Integration
spec: {platform: Shopify, auth: {secretRef: {name: c}}}`, []string{"spec.connection.shopDomain", "required for platform Shopify"}},
		{"shopDomain not a myshopify domain", `kind: Integration
spec: {platform: Shopify, connection: {shopDomain: acme.com}, auth: {secretRef: {name: c}}}`, []string{"spec.connection.shopDomain", "should match"}},
		{"woocommerce without storeURL", `kind: Integration
spec: {platform: WooCommerce, auth: {secretRef: {name: c}}}`, []string{"spec.connection.storeURL", "required for platforms WooCommerce and Magento"}},
		{"storeURL not a URL", `kind: Integration
spec: {platform: Magento, connection: {storeURL: "shop example"}, auth: {secretRef: {name: c}}}`, []string{"spec.connection.storeURL", "should match"}},
		{"bigcommerce without storeHash", `kind: Integration
spec: {platform: BigCommerce, auth: {secretRef: {name: c}}}`, []string{"spec.connection.storeHash", "required for platform BigCommerce"}},
		{"amazon without marketplaces", `kind: Integration
spec: {platform: Amazon, connection: {region: NA}, auth: {secretRef: {name: c}}}`, []string{"spec.connection", "marketplaceIDs are required for platform Amazon"}},
		{"amazon region unknown", `kind: Integration
spec: {platform: Amazon, connection: {region: US, marketplaceIDs: [ATVPDKIKX0DER]}, auth: {secretRef: {name: c}}}`, []string{"spec.connection.region", "Unsupported value"}},
		{"quickbooks without realmID", `kind: Integration
spec: {platform: QuickBooks, auth: {type: APICredentials, secretRef: {name: c}}}`, []string{"spec.connection.realmID", "required for platform QuickBooks"}},
		{"xero without tenantID", `kind: Integration
spec: {platform: Xero, auth: {type: APICredentials, secretRef: {name: c}}}`, []string{"spec.connection.tenantID", "required for platform Xero"}},
		{"oauth for a platform without a connect flow", `kind: Integration
spec: {platform: WooCommerce, connection: {storeURL: "https://shop.example.com"}, auth: {type: OAuth, secretRef: {name: c}}}`, []string{"spec.auth.type", "use APICredentials for this platform"}},
		{"netsuite without accountID", `kind: Integration
spec: {platform: NetSuite, auth: {secretRef: {name: c}}}`, []string{"spec.connection.accountID", "required for platform NetSuite"}},
		{"custom without endpoint", `kind: Integration
spec: {platform: Custom, auth: {secretRef: {name: c}}}`, []string{"spec.connection.endpoint", "required for platform Custom"}},
		{"historicalData with both", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {historicalData: {since: "2024-01-01T00:00:00Z", duration: 24h}}}`, []string{"spec.sync.historicalData", "exactly one of since"}},
		{"historicalData with neither", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {historicalData: {}}}`, []string{"spec.sync.historicalData", "exactly one of since"}},
		{"historicalData since not a time", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {historicalData: {since: "last year"}}}`, []string{"spec.sync.historicalData.since"}},
		{"historicalData too long", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {historicalData: {duration: 100000h}}}`, []string{"spec.sync.historicalData.duration", "between 1h and 87600h"}},
		{"interval too short", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {interval: 10s}}`, []string{"spec.sync.interval", "between 1m and 168h"}},
		{"interval too long", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {interval: 200h}}`, []string{"spec.sync.interval", "between 1m and 168h"}},
		{"interval not a duration", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {interval: hourly}}`, []string{"spec.sync.interval", "should match"}},
		{"frequency unknown", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {frequency: Weekly}}`, []string{"spec.sync.frequency", "Unsupported value"}},
		{"direction unknown", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {direction: Sideways}}`, []string{"spec.sync.direction", "Unsupported value"}},
		{"dataTypes empty", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {dataTypes: []}}`, []string{"spec.sync.dataTypes", "at least 1"}},
		{"dataTypes unknown", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {dataTypes: [Customers]}}`, []string{"spec.sync.dataTypes[0]", "Unsupported value"}},
		{"dataTypes duplicated", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {dataTypes: [Orders, Orders]}}`, []string{"spec.sync.dataTypes[1]", "Duplicate value"}},
		{"timeout too short", `kind: Integration
spec: {` + flow(okSpec) + `, timeout: 1s}`, []string{"spec.timeout", "between 30s and 24h"}},
		{"overlap too long", `kind: Integration
spec: {` + flow(okSpec) + `, sync: {overlapWindow: 48h}}`, []string{"spec.sync.overlapWindow", "at most 24h"}},
		{"skuKey unknown", `kind: Integration
spec: {` + flow(okSpec) + `, deduplication: {skuKey: Title}}`, []string{"spec.deduplication.skuKey", "Unsupported value"}},
		{"fieldmapping without entities", `kind: FieldMapping
spec: {platform: Shopify}`, []string{"spec.entities", "Required"}},
		{"fieldmapping rule with from and expression", `kind: FieldMapping
spec: {entities: [{entity: Products, fields: [{field: name, from: title, expression: record.title}]}]}`, []string{"spec.entities[0].fields[0]", "exactly one of from"}},
		{"fieldmapping rule with neither", `kind: FieldMapping
spec: {entities: [{entity: Products, fields: [{field: name}]}]}`, []string{"spec.entities[0].fields[0]", "exactly one of from"}},
		{"fieldmapping bad path", `kind: FieldMapping
spec: {entities: [{entity: Products, fields: [{field: name, from: "product..title"}]}]}`, []string{"spec.entities[0].fields[0].from", "should match"}},
		{"fieldmapping unknown entity", `kind: FieldMapping
spec: {entities: [{entity: Customers, fields: [{field: name, from: title}]}]}`, []string{"spec.entities[0].entity", "Unsupported value"}},
		{"fieldmapping duplicate field", `kind: FieldMapping
spec: {entities: [{entity: Products, fields: [{field: name, from: title}, {field: name, from: sku}]}]}`, []string{"spec.entities[0].fields[1]", "Duplicate value"}},
		{"channel displayName too long", `kind: Channel
spec: {displayName: "` + strings.Repeat("x", 129) + `"}`, []string{"spec.displayName", "Too long"}},
		{"fieldmapping field not a field name", `kind: FieldMapping
spec: {entities: [{entity: Products, fields: [{field: "Name!", from: title}]}]}`, []string{"spec.entities[0].fields[0].field", "should match"}},
		{"fieldmapping lines without from", `kind: FieldMapping
spec: {entities: [{entity: Orders, lines: {fields: [{field: quantity, from: qty}]}}]}`, []string{"spec.entities[0].lines.from", "Required"}},
		{"amazon marketplace id malformed", `kind: Integration
spec: {platform: Amazon, connection: {region: NA, marketplaceIDs: [us-east]}, auth: {secretRef: {name: c}}}`, []string{"spec.connection.marketplaceIDs[0]", "should match"}},
		{"xero tenantID not a UUID", `kind: Integration
spec: {platform: Xero, connection: {tenantID: acme}, auth: {type: OAuth, secretRef: {name: c}}}`, []string{"spec.connection.tenantID", "should match"}},
		{"quickbooks realmID not numeric", `kind: Integration
spec: {platform: QuickBooks, connection: {realmID: acme}, auth: {type: OAuth, secretRef: {name: c}}}`, []string{"spec.connection.realmID", "should match"}},
		{"channelRef name empty", `kind: Integration
spec: {` + flow(okSpec) + `, channelRef: {name: ""}}`, []string{"spec.channelRef.name"}},
		{"paused not a boolean", `kind: Integration
spec: {` + flow(okSpec) + `, paused: "yes"}`, []string{"spec.paused", "boolean"}},
		{"channel type unknown", `kind: Channel
spec: {type: Telepathy}`, []string{"spec.type", "Unsupported value"}},
	}
	if len(tests) < 40 {
		t.Fatalf("the table must hold at least 40 manifests, has %d", len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte("apiVersion: integrations.tether.io/v1alpha1\n"+tt.manifest), &u.Object); err != nil {
				t.Fatalf("bad test manifest: %v", err)
			}
			u.SetNamespace(ns)
			u.SetName(strings.ToLower(u.GetKind()) + "-" + itoa(i))
			err := k8s.Create(context.Background(), u)
			if err == nil {
				t.Fatalf("the API server accepted the manifest; want it rejected mentioning %q", tt.want)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestPlatformIsImmutable checks the CEL transition rule on spec.platform.
func TestPlatformIsImmutable(t *testing.T) {
	ns := newNamespace(t)
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(`apiVersion: integrations.tether.io/v1alpha1
kind: Integration
metadata: {name: immutable}
spec: {platform: Shopify, paused: true, connection: {shopDomain: a.myshopify.com, storeURL: "https://a.example.com"}, auth: {secretRef: {name: c}}}`), &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetNamespace(ns)
	ctx := context.Background()
	if err := k8s.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	// A merge patch, as kubectl apply sends: no resourceVersion, so only the CEL rule can refuse it.
	before := u.DeepCopy()
	if err := unstructured.SetNestedField(u.Object, "WooCommerce", "spec", "platform"); err != nil {
		t.Fatal(err)
	}
	err := k8s.Patch(ctx, u, client.MergeFrom(before))
	if err == nil || !strings.Contains(err.Error(), "spec.platform") || !strings.Contains(err.Error(), "platform is immutable") {
		t.Fatalf("want the platform change rejected naming spec.platform, got %v", err)
	}
}

// flow turns a small block of YAML mappings into flow-style entries.
func flow(block string) string {
	var parts []string
	for _, l := range strings.Split(strings.TrimSpace(block), "\n") {
		parts = append(parts, strings.TrimSpace(l))
	}
	return strings.Join(parts, ", ")
}

func itoa(i int) string { return strconv.Itoa(i) }
