package woocommerce

import (
	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/tether"
)

// registeredSandbox is the Sandbox as the registry offers it to tests, the demo and benchmarks.
type registeredSandbox struct{ *Sandbox }

func newRegisteredSandbox(o connectors.SandboxOptions) connectors.Sandbox {
	opts := SandboxOptions{Seed: o.Seed, Orders: o.Orders, Products: o.Products, Locations: o.Locations}
	if !o.Unlimited {
		opts.RateLimit = DefaultSandboxRateLimit
	}
	return registeredSandbox{NewSandbox(opts)}
}

func (s registeredSandbox) Credentials() map[string][]byte {
	return map[string][]byte{
		CredentialConsumerKey:    []byte(s.ConsumerKey()),
		CredentialConsumerSecret: []byte(s.ConsumerSecret()),
	}
}

func (s registeredSandbox) Connection(endpoint string) v1alpha1.Connection {
	return v1alpha1.Connection{StoreURL: s.StoreURL(), Endpoint: endpoint}
}

// Expected counts what the data becomes under DefaultMapping: every order and line, one SKU per simple product
// or variation, the one default warehouse, and one inventory level per stock-managed SKU.
func (s registeredSandbox) Expected() map[tether.Kind]int64 {
	c := s.Counts()
	return map[tether.Kind]int64{
		tether.KindSalesOrder:     int64(c.Orders),
		tether.KindSalesOrderLine: int64(c.LineItems),
		tether.KindSKU:            int64(c.SKUs),
		tether.KindWarehouse:      1,
		tether.KindInventoryLevel: int64(c.ManagedSKUs),
	}
}
