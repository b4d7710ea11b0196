package amazon

import (
	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/tether"
)

// registeredSandbox is the Sandbox as the registry offers it to tests, the demo and benchmarks. Amazon has
// no asynchronous jobs on the paths the connector reads, so SandboxOptions.Fast changes nothing.
type registeredSandbox struct{ *Sandbox }

func newRegisteredSandbox(o connectors.SandboxOptions) connectors.Sandbox {
	return registeredSandbox{NewSandbox(SandboxOptions{
		Seed: o.Seed, Orders: o.Orders, Products: o.Products, Locations: o.Locations, Unlimited: o.Unlimited,
	})}
}

func (s registeredSandbox) Credentials() map[string][]byte {
	return map[string][]byte{
		CredentialClientID:     []byte(s.ClientID()),
		CredentialClientSecret: []byte(s.ClientSecret()),
		CredentialRefreshToken: []byte(s.RefreshToken()),
	}
}

func (s registeredSandbox) Connection(endpoint string) v1alpha1.Connection {
	return v1alpha1.Connection{Region: "NA", MarketplaceIDs: s.MarketplaceIDs(), Endpoint: endpoint}
}

func (s registeredSandbox) Expected() map[tether.Kind]int64 { return s.Sandbox.Expected() }

func (s registeredSandbox) TouchOrders(n int) {
	for i := 0; i < n && i < len(s.Catalog().Orders); i++ {
		s.TouchOrder(i)
	}
}

// Expected counts the Tether records the sandbox's data becomes under DefaultMapping: every order and line,
// one SKU per seller SKU, one warehouse per marketplace, and one inventory level per seller SKU and
// marketplace.
func (s *Sandbox) Expected() map[tether.Kind]int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	variants := int64(len(s.cat.Variants()))
	return map[tether.Kind]int64{
		tether.KindSalesOrder:     int64(len(s.cat.Orders)),
		tether.KindSalesOrderLine: int64(s.cat.LineCount()),
		tether.KindSKU:            variants,
		tether.KindWarehouse:      int64(len(s.markets)),
		tether.KindInventoryLevel: variants * int64(len(s.markets)),
	}
}
