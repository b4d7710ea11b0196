package shopify

import (
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/tether"
)

// registeredSandbox is the Sandbox as the registry offers it to tests, the demo and benchmarks.
type registeredSandbox struct{ *Sandbox }

func newRegisteredSandbox(o connectors.SandboxOptions) connectors.Sandbox {
	opts := SandboxOptions{
		ShopDomain: "acme.myshopify.com",
		ShopName:   "Acme",
		Unlimited:  o.Unlimited,
		Seed:       SeedOptions{Seed: o.Seed, Orders: o.Orders, Products: o.Products, Locations: o.Locations},
	}
	if o.Fast {
		opts.BulkPollsToComplete, opts.BulkRunTime = 1, 20*time.Millisecond
	}
	return registeredSandbox{NewSandbox(opts)}
}

func (s registeredSandbox) Credentials() map[string][]byte {
	return map[string][]byte{CredentialAccessToken: []byte(s.AccessToken())}
}

func (s registeredSandbox) Connection(endpoint string) v1alpha1.Connection {
	return v1alpha1.Connection{ShopDomain: s.ShopDomain(), Endpoint: endpoint}
}

func (s registeredSandbox) Expected() map[tether.Kind]int64 {
	c := s.Counts()
	return map[tether.Kind]int64{
		tether.KindSalesOrder:     int64(c.Orders),
		tether.KindSalesOrderLine: int64(c.LineItems),
		tether.KindSKU:            int64(c.Variants),
		tether.KindWarehouse:      int64(c.Locations),
		tether.KindInventoryLevel: int64(c.InventoryLevels),
	}
}

func (s registeredSandbox) TouchOrders(n int) {
	orders := s.Orders()
	for i := 0; i < n && i < len(orders); i++ {
		s.TouchOrder(orders[i].ID)
	}
}

var _ connectors.OAuthSandbox = registeredSandbox{}

// AppCredentials is the user Secret of an OAuth integration: the sandbox app's client ID and secret.
func (s registeredSandbox) AppCredentials() map[string][]byte {
	return map[string][]byte{AppKeyClientID: []byte(SandboxClientID), AppKeyClientSecret: []byte(SandboxClientSecret)}
}

// RegisterRedirect adds an allowed redirection URL to the app, as its configuration in the Dev Dashboard does.
func (s registeredSandbox) RegisterRedirect(callbackURL string) {
	s.Auth().RegisterRedirect(callbackURL)
}

// Login is the shop owner's login on the install page.
func (s registeredSandbox) Login() (username, password string) {
	return SandboxUsername, SandboxPassword
}
