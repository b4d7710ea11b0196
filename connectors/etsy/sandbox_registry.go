package etsy

import (
	"strconv"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/tether"
)

// registeredSandbox is the Sandbox as the registry offers it to tests, the demo and benchmarks.
type registeredSandbox struct{ *Sandbox }

var _ connectors.OAuthSandbox = registeredSandbox{}

func newRegisteredSandbox(o connectors.SandboxOptions) connectors.Sandbox {
	return registeredSandbox{NewSandbox(SandboxOptions{Seed: o.Seed, Orders: o.Orders, Products: o.Products,
		Locations: o.Locations, Unlimited: o.Unlimited})}
}

// Credentials are API credentials: the app's keys and the refresh token of a grant minted for this call
// (each call a new one, since refresh tokens rotate), and the shop ID.
func (s registeredSandbox) Credentials() map[string][]byte {
	return map[string][]byte{
		CredentialKeystring:    []byte(s.Keystring()),
		CredentialSharedSecret: []byte(s.SharedSecret()),
		CredentialRefreshToken: []byte(s.MintRefreshToken()),
		CredentialShopID:       []byte(strconv.FormatInt(s.ShopID(), 10)),
	}
}

func (s registeredSandbox) Connection(endpoint string) v1alpha1.Connection {
	return v1alpha1.Connection{Endpoint: endpoint}
}

func (s registeredSandbox) Expected() map[tether.Kind]int64 {
	c := s.Counts()
	return map[tether.Kind]int64{
		tether.KindSalesOrder:     int64(c.Receipts),
		tether.KindSalesOrderLine: int64(c.Transactions),
		tether.KindSKU:            int64(c.Products),
		tether.KindWarehouse:      1,
		tether.KindInventoryLevel: int64(c.Products),
	}
}

func (s registeredSandbox) TouchOrders(n int) {
	receipts := s.Receipts()
	for i := 0; i < n && i < len(receipts); i++ {
		s.TouchReceipt(receipts[i].ID)
	}
}
