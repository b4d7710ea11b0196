package ebay

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

// AppCredentials is the OAuth Secret of the registered app.
func (s registeredSandbox) AppCredentials() map[string][]byte {
	return map[string][]byte{
		CredentialClientID:     []byte(s.ClientID()),
		CredentialClientSecret: []byte(s.ClientSecret()),
		CredentialRuName:       []byte(s.RuName()),
	}
}

// RegisterRedirect makes callbackURL the accept (and declined) URL of the app's RuName.
func (s registeredSandbox) RegisterRedirect(callbackURL string) { s.SetAcceptURL(callbackURL) }

// Login is the seller's eBay sign-in.
func (s registeredSandbox) Login() (string, string) {
	o := s.auth.Options()
	return o.Username, o.Password
}

func (s registeredSandbox) Auth() *sandboxkit.AuthServer { return s.auth }

func (s registeredSandbox) Connection(endpoint string) v1alpha1.Connection {
	return v1alpha1.Connection{Endpoint: endpoint}
}

func (s registeredSandbox) Expected() map[tether.Kind]int64 {
	c := s.Counts()
	return map[tether.Kind]int64{
		tether.KindSalesOrder:     int64(c.Orders),
		tether.KindSalesOrderLine: int64(c.LineItems),
		tether.KindSKU:            int64(c.SKUs),
		tether.KindWarehouse:      int64(c.Locations),
		tether.KindInventoryLevel: int64(c.InventoryLevels),
	}
}
