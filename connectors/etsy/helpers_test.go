package etsy

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

// smallShop needs several receipt and listing pages and stays fast.
var smallShop = SandboxOptions{Seed: 7, Orders: 400, Products: 40, Locations: 3}

type env struct {
	sb  *Sandbox
	srv *httptest.Server
}

// newEnv serves a sandbox; without a quota in opts the quota is off.
func newEnv(t testing.TB, opts SandboxOptions) *env {
	t.Helper()
	if opts.Orders == 0 {
		o := smallShop
		o.PerSecond, o.PerDay, o.Unlimited, o.RecordRequests, o.Now = opts.PerSecond, opts.PerDay, opts.Unlimited, opts.RecordRequests, opts.Now
		opts = o
	}
	if opts.PerSecond == 0 && opts.PerDay == 0 {
		opts.Unlimited = true
	}
	sb := NewSandbox(opts)
	return &env{sb: sb, srv: connectortest.Serve(t, sb)}
}

// credentials are API credentials with a newly minted grant's refresh token.
func (e *env) credentials() map[string][]byte {
	return map[string][]byte{
		CredentialKeystring:    []byte(e.sb.Keystring()),
		CredentialSharedSecret: []byte(e.sb.SharedSecret()),
		CredentialRefreshToken: []byte(e.sb.MintRefreshToken()),
	}
}

// connector builds a connector for the sandbox with test-speed retries.
func (e *env) connector(t testing.TB, creds map[string][]byte) *Connector {
	t.Helper()
	c, err := New(connectors.Config{
		Connection:  v1alpha1.Connection{Endpoint: e.srv.URL},
		Credentials: creds,
		HTTPClient:  e.srv.Client(),
		Log:         logr.Discard(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.SetRetryBackoff(time.Millisecond, 10*time.Millisecond, 5)
	return c
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// accessToken is the connector's current access token.
func accessToken(t testing.TB, c *Connector) string {
	t.Helper()
	tok, err := c.tokens.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}
