package connectors_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// rotatingFlow refreshes against a sandbox authorization server that rotates refresh tokens, as Etsy, Xero,
// QuickBooks and Shopify's expiring tokens do.
func rotatingFlow(auth *sandboxkit.AuthServer) *connectors.OAuth {
	return &connectors.OAuth{Refresh: func(_ context.Context, _ connectors.App, tok connectors.Token) (connectors.Token, error) {
		g, oe := auth.Refresh(tok.RefreshToken, "app")
		if oe != nil {
			return connectors.Token{}, connectors.TokenEndpointError("test", oe.Status, oe.Code, oe.Description)
		}
		return connectors.Token{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken, Expiry: g.AccessExpiry}, nil
	}}
}

// TestKeeperSerialisesRotatingRefreshes: fifty requests find the access token expired at once; exactly one
// refresh happens, every request gets the new token, and the store holds the rotated refresh token. Without
// the lock, the second refresh would present a retired refresh token and disconnect the account.
func TestKeeperSerialisesRotatingRefreshes(t *testing.T) {
	auth := sandboxkit.NewAuthServer(sandboxkit.AuthServerOptions{ClientID: "app", ClientSecret: "s", AccessTTL: time.Hour, Rotate: true})
	seed := auth.Mint("read", nil)
	store := connectors.NewMemoryTokenStore(connectors.Token{RefreshToken: seed.RefreshToken})
	k := &connectors.Keeper{Flow: rotatingFlow(auth), Store: store}

	var wg sync.WaitGroup
	got := make([]string, 50)
	errs := make([]error, 50)
	for i := range got {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tok, err := k.Token(context.Background())
			got[i], errs[i] = tok.AccessToken, err
		}(i)
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("request %d got another access token than request 0", i)
		}
	}
	if _, ok := auth.Access(got[0]); !ok {
		t.Fatal("the token handed out is not live at the authorization server")
	}
	if _, refreshes, _ := auth.Counts(); refreshes != 1 || k.Refreshes() != 1 {
		t.Fatalf("refreshes: server %d, keeper %d; want exactly 1", refreshes, k.Refreshes())
	}
	saved, _ := store.Load(context.Background())
	if saved.RefreshToken == seed.RefreshToken {
		t.Fatal("the rotated refresh token was not saved")
	}
	// The retired refresh token no longer works: only the saved one keeps the account connected.
	if _, oe := auth.Refresh(seed.RefreshToken, "app"); oe == nil || oe.Code != "invalid_grant" {
		t.Fatalf("retired refresh token: %v, want invalid_grant", oe)
	}
}

// TestKeeperRenewsOnlyStaleTokens: after the platform rejects a token, Renew refreshes once; a second caller
// holding the same stale token gets the new one without another refresh.
func TestKeeperRenewsOnlyStaleTokens(t *testing.T) {
	auth := sandboxkit.NewAuthServer(sandboxkit.AuthServerOptions{ClientID: "app", ClientSecret: "s", AccessTTL: time.Hour, Rotate: true})
	g := auth.Mint("read", nil)
	k := &connectors.Keeper{Flow: rotatingFlow(auth),
		Store: connectors.NewMemoryTokenStore(connectors.Token{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken, Expiry: g.AccessExpiry})}
	auth.ExpireAccessTokens()
	first, err := k.Renew(context.Background(), g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	second, err := k.Renew(context.Background(), g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if first.AccessToken == g.AccessToken || second.AccessToken != first.AccessToken || k.Refreshes() != 1 {
		t.Fatalf("renewals: refreshes %d, first new %v, second same %v", k.Refreshes(), first.AccessToken != g.AccessToken, second.AccessToken == first.AccessToken)
	}
}

// TestKeeperRevokedGrant: a revoked grant gives an Auth error with reason TokenRevoked, and nothing is saved.
func TestKeeperRevokedGrant(t *testing.T) {
	auth := sandboxkit.NewAuthServer(sandboxkit.AuthServerOptions{ClientID: "app", ClientSecret: "s", AccessTTL: time.Hour, Rotate: true})
	g := auth.Mint("read", nil)
	store := connectors.NewMemoryTokenStore(connectors.Token{RefreshToken: g.RefreshToken})
	k := &connectors.Keeper{Flow: rotatingFlow(auth), Store: store}
	auth.RevokeAll()
	_, err := k.Token(context.Background())
	if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked {
		t.Fatalf("revoked grant: %v (%v %s), want Auth TokenRevoked", err, class, reason)
	}
	if strings.Contains(err.Error(), g.RefreshToken) {
		t.Fatal("the error carries the refresh token")
	}
	if store.Saves != 0 {
		t.Fatalf("%d saves after a failed refresh", store.Saves)
	}
}

// failingStore fails every Save, as an API server outage would.
type failingStore struct{ *connectors.MemoryTokenStore }

func (failingStore) Save(context.Context, connectors.Token) error {
	return errors.New("API server unavailable")
}

// TestKeeperDoesNotUseUnsavedTokens: a refreshed token that could not be saved is not handed out (the
// failure is transient and retried), so no request ever runs on a token a restart would lose.
func TestKeeperDoesNotUseUnsavedTokens(t *testing.T) {
	auth := sandboxkit.NewAuthServer(sandboxkit.AuthServerOptions{ClientID: "app", ClientSecret: "s", AccessTTL: time.Hour})
	g := auth.Mint("read", nil)
	k := &connectors.Keeper{Flow: rotatingFlow(auth),
		Store: failingStore{connectors.NewMemoryTokenStore(connectors.Token{RefreshToken: g.RefreshToken})}}
	tok, err := k.Token(context.Background())
	if err == nil || tok.AccessToken != "" {
		t.Fatal("a token that was not saved was handed out")
	}
	if class, _ := connectors.Classify(err); class != connectors.ClassTransient {
		t.Fatalf("unsaved token: %v, want a transient error", err)
	}
}

// TestTokenErrorClassification covers RFC 6749 token endpoint answers as golang.org/x/oauth2 reports them.
func TestTokenErrorClassification(t *testing.T) {
	cases := []struct {
		status int
		code   string
		class  connectors.Class
		reason string
	}{
		{400, "invalid_grant", connectors.ClassAuth, v1alpha1.ReasonTokenRevoked},
		{401, "invalid_client", connectors.ClassAuth, v1alpha1.ReasonUnauthorized},
		{400, "unauthorized_client", connectors.ClassAuth, v1alpha1.ReasonUnauthorized},
		{503, "", connectors.ClassTransient, "TokenEndpointUnavailable"},
		{429, "", connectors.ClassTransient, "TokenEndpointUnavailable"},
		{400, "invalid_request", connectors.ClassTerminal, "TokenRequestRejected"},
	}
	for _, c := range cases {
		err := connectors.TokenError("test", &oauth2.RetrieveError{Response: &http.Response{StatusCode: c.status}, ErrorCode: c.code, Body: []byte("refresh_token=secret")})
		class, reason := connectors.Classify(err)
		if class != c.class || reason != c.reason {
			t.Errorf("HTTP %d %s: %v %s, want %v %s", c.status, c.code, class, reason, c.class, c.reason)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("HTTP %d %s: the message repeats the response body: %v", c.status, c.code, err)
		}
	}
}

// BenchmarkKeeperToken is what every platform request pays to get its access token: the Keeper's lock and a
// look at the stored token (the operator's store keeps the token it last read or wrote in memory).
func BenchmarkKeeperToken(b *testing.B) {
	auth := sandboxkit.NewAuthServer(sandboxkit.AuthServerOptions{ClientID: "app", ClientSecret: "s", AccessTTL: time.Hour})
	g := auth.Mint("read", nil)
	k := &connectors.Keeper{Flow: rotatingFlow(auth),
		Store: connectors.NewMemoryTokenStore(connectors.Token{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken, Expiry: g.AccessExpiry})}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := k.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
