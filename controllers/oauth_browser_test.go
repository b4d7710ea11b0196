package controllers

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/browser"
)

// TestConnectInHeadlessBrowser is the admin's path in a real browser (Debian's chromium, headless): open the
// connect link from status, log in on the platform's page, authorize, land on the operator's page, and the
// Integration becomes Connected and synced. The same browser then replays the callback and is refused.
func TestConnectInHeadlessBrowser(t *testing.T) {
	b := browser.New(t)
	for _, name := range []v1alpha1.Platform{v1alpha1.PlatformShopify, v1alpha1.PlatformEtsy} {
		t.Run(string(name), func(t *testing.T) {
			p, _ := connectors.Lookup(name)
			ns := newNamespace(t)
			f := startOAuthSandbox(t, p, 150)
			in := f.createOAuthIntegration(t, ns, "shop")

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			user, pass := f.oauth.Login()
			res, err := b.ConnectFlow(ctx, in.Status.Authorization.ConnectURL, user, pass)
			if err != nil {
				t.Fatalf("connect in the browser: %v", err)
			}
			if !strings.Contains(res.Text, "is connected to "+string(name)) || !strings.HasPrefix(res.FinalURL, oauthURL+"/oauth/callback") {
				t.Fatalf("the browser ended on %s (HTTP %d): %s", browser.Redact(res.FinalURL), res.Status, res.Text)
			}
			if u, err := url.Parse(res.FinalURL); err == nil && u.Query().Get("code") != "" {
				secrets.remember(map[string]string{"code": u.Query().Get("code")})
			}
			in = waitState(t, ns, "shop", v1alpha1.StateConnected)
			if run := in.Status.Runs[0]; run.Result != "Succeeded" || run.Read == 0 {
				t.Fatalf("first run: %+v", run)
			}
			if _, found := tokenSecret(t, in); !found {
				t.Fatal("no token Secret after connecting in the browser")
			}

			// Reloading the callback (the browser's history) is refused and changes nothing.
			again, err := b.Open(ctx, res.FinalURL)
			if err != nil {
				t.Fatal(err)
			}
			if again.Status != 409 || !strings.Contains(again.Text, "already used") {
				t.Fatalf("replayed callback in the browser: HTTP %d: %s", again.Status, again.Text)
			}
		})
	}
}
