package amazon

import (
	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/sandboxkit"
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

var _ connectors.OAuthSandbox = registeredSandbox{}

// AppCredentials is the OAuth Secret of the registered SP-API app.
func (s registeredSandbox) AppCredentials() map[string][]byte {
	return map[string][]byte{
		CredentialApplicationID: []byte(s.ApplicationID()),
		CredentialClientID:      []byte(s.ClientID()),
		CredentialClientSecret:  []byte(s.ClientSecret()),
	}
}

// RegisterRedirect adds an OAuth redirect URI to the app, as the developer does in Solution Provider Portal.
func (s registeredSandbox) RegisterRedirect(callbackURL string) { s.auth.RegisterRedirect(callbackURL) }

// Login is the seller's Seller Central login.
func (s registeredSandbox) Login() (string, string) {
	o := s.auth.Options()
	return o.Username, o.Password
}

func (s registeredSandbox) Auth() *sandboxkit.AuthServer { return s.auth }

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
