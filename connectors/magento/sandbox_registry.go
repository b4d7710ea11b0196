package magento

import (
	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/tether"
)

// registeredSandbox is the Sandbox as the registry offers it to tests, the demo and benchmarks. Its
// credentials hold all four OAuth values, so the connector signs every request.
type registeredSandbox struct{ *Sandbox }

func newRegisteredSandbox(o connectors.SandboxOptions) connectors.Sandbox {
	return registeredSandbox{NewSandbox(SandboxOptions{
		Seed: o.Seed, Orders: o.Orders, Products: o.Products, Locations: o.Locations, Unlimited: o.Unlimited,
	})}
}

func (s registeredSandbox) Credentials() map[string][]byte {
	return map[string][]byte{
		CredentialAccessToken:       []byte(s.AccessToken()),
		CredentialConsumerKey:       []byte(s.ConsumerKey()),
		CredentialConsumerSecret:    []byte(s.ConsumerSecret()),
		CredentialAccessTokenSecret: []byte(s.AccessTokenSecret()),
	}
}

func (s registeredSandbox) Connection(endpoint string) v1alpha1.Connection {
	return v1alpha1.Connection{StoreURL: "https://shop.example.com", Endpoint: endpoint}
}

func (s registeredSandbox) Expected() map[tether.Kind]int64 {
	c := s.Counts()
	return map[tether.Kind]int64{
		tether.KindSalesOrder:     int64(c.Orders),
		tether.KindSalesOrderLine: int64(c.OrderLines),
		tether.KindSKU:            int64(c.SKUs),
		tether.KindWarehouse:      int64(c.Sources),
		tether.KindInventoryLevel: int64(c.SourceItems),
	}
}

func (s registeredSandbox) TouchOrders(n int) {
	ids := s.OrderIDs()
	for i := 0; i < n && i < len(ids); i++ {
		s.TouchOrder(ids[i])
	}
}
