package bigcommerce

import (
	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/tether"
)

// registeredSandbox is the Sandbox as the registry offers it to tests, the demo and benchmarks.
type registeredSandbox struct{ *Sandbox }

// newRegisteredSandbox builds a Standard-plan sandbox (150 requests per 30 s) from the registry's options.
// BigCommerce has no asynchronous jobs, so Fast changes nothing.
func newRegisteredSandbox(o connectors.SandboxOptions) connectors.Sandbox {
	return registeredSandbox{NewSandbox(SandboxOptions{
		Seed: o.Seed, Orders: o.Orders, Products: o.Products, Locations: o.Locations, Unlimited: o.Unlimited,
	})}
}

func (s registeredSandbox) Credentials() map[string][]byte {
	return map[string][]byte{CredentialAccessToken: []byte(s.AccessToken())}
}

func (s registeredSandbox) Connection(endpoint string) v1alpha1.Connection {
	return v1alpha1.Connection{StoreHash: s.StoreHash(), Endpoint: endpoint}
}

// Expected counts what the data becomes under DefaultMapping: one SalesOrder per order with a line per
// order product, one SKU per variant, one Warehouse per location, and one InventoryLevel per variant and
// location.
func (s registeredSandbox) Expected() map[tether.Kind]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cat
	return map[tether.Kind]int64{
		tether.KindSalesOrder:     int64(len(c.Orders)),
		tether.KindSalesOrderLine: int64(c.LineCount()),
		tether.KindSKU:            int64(len(c.Variants())),
		tether.KindWarehouse:      int64(len(c.Locations)),
		tether.KindInventoryLevel: int64(len(c.Levels)),
	}
}

var _ connectors.OAuthSandbox = registeredSandbox{}

// AppCredentials is the user Secret of an OAuth integration: the sandbox app's client ID and secret.
func (s registeredSandbox) AppCredentials() map[string][]byte {
	return map[string][]byte{AppKeyClientID: []byte(SandboxClientID), AppKeyClientSecret: []byte(SandboxClientSecret)}
}

// RegisterRedirect sets the app's Auth Callback URL.
func (s registeredSandbox) RegisterRedirect(callbackURL string) { s.SetAuthCallback(callbackURL) }

// Login is the store owner's login on the install page.
func (s registeredSandbox) Login() (username, password string) {
	return SandboxUsername, SandboxPassword
}
