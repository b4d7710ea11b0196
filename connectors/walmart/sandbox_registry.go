package walmart

import (
	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/sandboxkit"
	"github.com/tether/integration-operator/internal/tether"
)

// registeredSandbox is the Sandbox as the registry offers it to tests, the demo and benchmarks.
type registeredSandbox struct{ *Sandbox }

func newRegisteredSandbox(o connectors.SandboxOptions) connectors.Sandbox {
	return registeredSandbox{NewSandbox(SandboxOptions{
		Seed:      sandboxkit.Options{Seed: o.Seed, Orders: o.Orders, Products: o.Products, Locations: o.Locations},
		Unlimited: o.Unlimited,
	})}
}

func (s registeredSandbox) Credentials() map[string][]byte {
	return map[string][]byte{CredentialClientID: []byte(s.ClientID()), CredentialClientSecret: []byte(s.ClientSecret())}
}

func (s registeredSandbox) Connection(endpoint string) v1alpha1.Connection {
	return v1alpha1.Connection{Endpoint: endpoint + "/v3"}
}

func (s registeredSandbox) Expected() map[tether.Kind]int64 {
	c := s.Counts()
	return map[tether.Kind]int64{
		tether.KindSalesOrder:     int64(c.Orders),
		tether.KindSalesOrderLine: int64(c.Lines),
		tether.KindSKU:            int64(c.Items),
		tether.KindWarehouse:      int64(c.ShipNodes),
		tether.KindInventoryLevel: int64(c.InventoryLevels),
	}
}

func (s registeredSandbox) TouchOrders(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byPO := map[string]*order{}
	for _, so := range s.account.orders {
		byPO[so.po] = so
	}
	for i := 0; i < n && i < len(s.account.cat.Orders); i++ {
		s.touch(byPO[fmtPO(s.account.cat.Orders[i].ID)])
	}
}
