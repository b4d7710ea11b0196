package controllers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
	"github.com/tether/integration-operator/connectors/sandboxkit"
	"github.com/tether/integration-operator/internal/conditions"
	"github.com/tether/integration-operator/internal/oauth"
	"github.com/tether/integration-operator/internal/tether"
)

// oauthFixture is an OAuth platform's sandbox with the suite's callback registered.
type oauthFixture struct {
	*sandboxFixture
	oauth    connectors.OAuthSandbox
	platform connectors.Platform
}

// oauthPlatforms lists the registered platforms that connect with OAuth and whose sandbox includes the
// authorization server.
func oauthPlatforms(t *testing.T) []connectors.Platform {
	var out []connectors.Platform
	for _, p := range connectors.Platforms() {
		if p.OAuth == nil {
			continue
		}
		if _, ok := p.NewSandbox(connectors.SandboxOptions{Seed: 1, Orders: 1, Products: 1, Locations: 1}).(connectors.OAuthSandbox); !ok {
			t.Errorf("%s has an OAuth flow but its sandbox has no authorization server (connectors.OAuthSandbox)", p.Name)
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatal("no platform registers an OAuth flow")
	}
	return out
}

func startOAuthSandbox(t *testing.T, p connectors.Platform, orders int) *oauthFixture {
	return startOAuthSandboxWith(t, p, orders, nil)
}

// startOAuthSandboxWith serves the sandbox through wrap (nil: directly).
func startOAuthSandboxWith(t *testing.T, p connectors.Platform, orders int, wrap func(connectors.OAuthSandbox) http.Handler) *oauthFixture {
	t.Helper()
	sb := p.NewSandbox(connectors.SandboxOptions{Seed: 5, Orders: orders, Products: 20, Locations: 2, Unlimited: true, Fast: true})
	os := sb.(connectors.OAuthSandbox)
	var h http.Handler = sb
	if wrap != nil {
		h = wrap(os)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	os.RegisterRedirect(oauthURL + "/oauth/callback")
	return &oauthFixture{sandboxFixture: &sandboxFixture{Sandbox: sb, URL: srv.URL}, oauth: os, platform: p}
}

// appSecretData is the app registration as Secret string data.
func (f *oauthFixture) appSecretData() map[string]string {
	out := map[string]string{}
	for k, v := range f.oauth.AppCredentials() {
		out[k] = string(v)
	}
	return out
}

// createOAuthIntegration creates the app's Secret and an Integration with auth type OAuth, and waits for the
// connect link.
func (f *oauthFixture) createOAuthIntegration(t *testing.T, ns, name string) *v1alpha1.Integration {
	t.Helper()
	createSecret(t, ns, name, f.appSecretData())
	in := newIntegration(ns, name, f.platform.Name, f.Connection(f.URL))
	in.Spec.Auth.Type = v1alpha1.AuthOAuth
	if err := k8s.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	return waitConnectLink(t, ns, name)
}

// waitConnectLink waits until the integration asks for a connection with a link for its current generation.
func waitConnectLink(t *testing.T, ns, name string) *v1alpha1.Integration {
	t.Helper()
	var obj *v1alpha1.Integration
	eventually(t, waitLong, name+" to show a connect link", func() (bool, string) {
		obj = getIntegration(t, ns, name)
		c := conditions.Get(obj, v1alpha1.ConditionConnected)
		a := obj.Status.Authorization
		ok := c != nil && c.Status == metav1.ConditionFalse && c.Reason == v1alpha1.ReasonAuthorizationRequired &&
			a != nil && a.ConnectURL != "" && obj.Status.ObservedGeneration == obj.Generation
		return ok, fmt.Sprintf("connected=%+v authorization=%+v", c, a)
	})
	return obj
}

// browserSession is an HTTP client with cookies that follows redirects and remembers every URL it visited, as
// a browser's history would.
type browserSession struct {
	client  *http.Client
	visited []*url.URL
}

func newBrowserSession() *browserSession {
	b := &browserSession{}
	jar, _ := cookiejar.New(nil)
	b.client = &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.visited = append(b.visited, req.URL)
		if len(via) > 10 {
			return fmt.Errorf("too many redirects")
		}
		return nil
	}}
	return b
}

// callbackURL is the operator callback the browser was sent to, with the platform's code in it.
func (b *browserSession) callbackURL() *url.URL {
	for _, u := range b.visited {
		if strings.HasSuffix(u.Path, "/oauth/callback") {
			return u
		}
	}
	return nil
}

func (b *browserSession) get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := b.client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", strings.SplitN(u, "?", 2)[0], err)
	}
	return resp.StatusCode, connectortest.ReadPage(resp)
}

// connect does what an admin does: open the connect link, log in on the platform's page, authorize. It
// returns the operator's final page.
func (f *oauthFixture) connect(t *testing.T, b *browserSession, connectURL string) (int, string) {
	t.Helper()
	b.visited = nil
	resp, err := b.client.Get(connectURL)
	if err != nil {
		t.Fatalf("open the connect link: %v", err)
	}
	page := connectortest.ReadPage(resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="username"`) {
		t.Fatalf("the connect link did not lead to the %s login page: HTTP %d: %s", f.platform.Name, resp.StatusCode, page)
	}
	user, pass := f.oauth.Login()
	resp, err = connectortest.SubmitConsent(b.client, resp.Request.URL.String(), page, user, pass, false)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	final := connectortest.ReadPage(resp)
	if cb := b.callbackURL(); cb != nil {
		// The code must never show up in logs, events or status.
		for _, k := range []string{"code", "spapi_oauth_code"} {
			if v := cb.Query().Get(k); v != "" {
				secrets.remember(map[string]string{k: v})
			}
		}
	}
	return resp.StatusCode, final
}

// tokenSecret returns the integration's token Secret, remembering its values for the secret scan.
func tokenSecret(t *testing.T, in *v1alpha1.Integration) (*corev1.Secret, bool) {
	t.Helper()
	s := &corev1.Secret{}
	err := k8s.Get(context.Background(), types.NamespacedName{Namespace: in.Namespace, Name: oauth.TokenSecretName(in)}, s)
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]string{}
	for k, v := range s.Data {
		if k == "accessToken" || k == "refreshToken" {
			data[k] = string(v)
		}
	}
	secrets.remember(data)
	return s, true
}

// TestOAuthConnectFlow connects an account of every OAuth platform the way an admin does, through the
// operator's endpoint and the platform's consent page, and checks what the admin and the cluster see: the
// Integration Connected and synced, the tokens in a Secret the operator owns, a replayed callback refused,
// and deleting the Integration revoking the tokens (where the platform can) and deleting the Secret.
func TestOAuthConnectFlow(t *testing.T) {
	for _, p := range oauthPlatforms(t) {
		t.Run(string(p.Name), func(t *testing.T) {
			ns := newNamespace(t)
			f := startOAuthSandbox(t, p, 200)
			in := f.createOAuthIntegration(t, ns, "shop")
			if in.Status.State != v1alpha1.StateDisconnected || !conditions.IsTrue(in, v1alpha1.ConditionStalled) {
				t.Fatalf("waiting for a connection: state %s, want Disconnected and Stalled", in.Status.State)
			}
			if got := in.Status.Authorization.RedirectURI; got != oauthURL+"/oauth/callback" {
				t.Fatalf("status.authorization.redirectURI = %q, want the callback to register", got)
			}
			if _, found := tokenSecret(t, in); found {
				t.Fatal("a token Secret exists before anyone connected")
			}

			b := newBrowserSession()
			status, page := f.connect(t, b, in.Status.Authorization.ConnectURL)
			if status != http.StatusOK || !strings.Contains(page, "is connected to") {
				t.Fatalf("after authorizing: HTTP %d: %s", status, page)
			}
			in = waitState(t, ns, "shop", v1alpha1.StateConnected)
			if a := in.Status.Authorization; a == nil || a.ConnectURL != "" || a.TokenSecretName != oauth.TokenSecretName(in) {
				t.Fatalf("connected status.authorization = %+v, want the token Secret and no connect link", a)
			}
			sec, found := tokenSecret(t, in)
			if !found {
				t.Fatal("no token Secret after connecting")
			}
			if sec.Labels[oauth.LabelManagedBy] != oauth.ManagedBy || sec.Type != oauth.SecretType || len(sec.Data["accessToken"]) == 0 {
				t.Fatalf("token Secret: labels %v, type %s, has access token %v", sec.Labels, sec.Type, len(sec.Data["accessToken"]) > 0)
			}
			if ref := metav1.GetControllerOf(sec); ref == nil || ref.UID != in.UID {
				t.Fatalf("token Secret owner = %+v, want the Integration", ref)
			}
			user := &corev1.Secret{}
			if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "shop"}, user); err != nil {
				t.Fatal(err)
			}
			if len(user.Data) != len(f.oauth.AppCredentials()) || user.Labels[oauth.LabelManagedBy] != "" {
				t.Fatal("the user's Secret was written")
			}
			if run := in.Status.Runs[0]; run.Result != "Succeeded" || run.Read == 0 {
				t.Fatalf("first run: %+v", run)
			}

			// The same callback again (a reload, or someone replaying it) is refused and changes nothing.
			cb := b.callbackURL()
			if cb == nil {
				t.Fatal("the browser never reached the operator's callback")
			}
			status, page = b.get(t, cb.String())
			// With state in the callback it is spent; without (BigCommerce), the browser's connect cookie was.
			if (status != http.StatusConflict || !strings.Contains(page, "already used")) &&
				(status != http.StatusBadRequest || !strings.Contains(page, "has no state")) {
				t.Fatalf("replayed callback: HTTP %d: %s", status, page)
			}
			if again, _ := tokenSecret(t, in); again.ResourceVersion != sec.ResourceVersion {
				t.Fatal("a replayed callback changed the token Secret")
			}

			// Deleting the Integration revokes at the platform, where it can, and deletes the tokens.
			access := string(sec.Data["accessToken"])
			if err := k8s.Delete(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			eventually(t, waitLong, "the Integration and its token Secret to be deleted", func() (bool, string) {
				err := k8s.Get(context.Background(), client.ObjectKeyFromObject(in), &v1alpha1.Integration{})
				_, found := tokenSecret(t, in)
				return apierrors.IsNotFound(err) && !found, fmt.Sprintf("integration: %v, token Secret exists: %v", err, found)
			})
			if p.OAuth.Revoke != nil {
				if _, _, revocations := f.oauth.Auth().Counts(); revocations == 0 {
					t.Fatal("the tokens were not revoked at the platform")
				}
				if _, live := f.oauth.Auth().Access(access); live {
					t.Fatal("the access token still works after the Integration was deleted")
				}
			}
		})
	}
}

// TestOAuthRejectsBadCallbacks: forged state, a state from another browser, a link for an older generation,
// a declined consent and a wrong login: each is refused with a page that says what to do, and nothing is
// written.
func TestOAuthRejectsBadCallbacks(t *testing.T) {
	p := oauthPlatforms(t)[0]
	ns := newNamespace(t)
	f := startOAuthSandbox(t, p, 20)
	in := f.createOAuthIntegration(t, ns, "shop")
	link := in.Status.Authorization.ConnectURL

	noSecret := func(what string) {
		t.Helper()
		if _, found := tokenSecret(t, in); found {
			t.Fatalf("%s wrote a token Secret", what)
		}
	}

	// A forged state.
	b := newBrowserSession()
	status, page := b.get(t, oauthURL+"/oauth/callback?code=stolen&state=forged")
	if status != http.StatusBadRequest || !strings.Contains(page, "not issued by this operator") {
		t.Fatalf("forged state: HTTP %d: %s", status, page)
	}
	noSecret("a forged state")

	// A tampered connect link.
	status, page = b.get(t, link[:len(link)-3]+"abc")
	if status != http.StatusBadRequest || !strings.Contains(page, "Invalid connect link") {
		t.Fatalf("tampered link: HTTP %d: %s", status, page)
	}

	// A callback completed in another browser than the one that started the flow (login CSRF): the state in
	// the URL does not match this browser's connect cookie.
	victim, attacker := newBrowserSession(), newBrowserSession()
	resp, err := victim.client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	_ = connectortest.ReadPage(resp)
	resp, err = attacker.client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page = connectortest.ReadPage(resp)
	user, pass := f.oauth.Login()
	noRedirect := *attacker.client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = connectortest.SubmitConsent(&noRedirect, resp.Request.URL.String(), page, user, pass, false)
	if err != nil {
		t.Fatal(err)
	}
	_ = connectortest.ReadPage(resp)
	attackerCallback := resp.Header.Get("Location")
	if !strings.Contains(attackerCallback, "/oauth/callback") {
		t.Fatalf("the consent page did not redirect to the callback: %q", attackerCallback)
	}
	if cb, err := url.Parse(attackerCallback); err == nil && cb.Query().Get("state") != "" {
		status, page = victim.get(t, attackerCallback)
		if status != http.StatusBadRequest || !strings.Contains(page, "another browser") {
			t.Fatalf("callback in another browser: HTTP %d: %s", status, page)
		}
		noSecret("a callback from another browser")
	}

	// Declining at the platform.
	d := newBrowserSession()
	resp, err = d.client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page = connectortest.ReadPage(resp)
	resp, err = connectortest.SubmitConsent(d.client, resp.Request.URL.String(), page, user, pass, true)
	if err != nil {
		t.Fatal(err)
	}
	if page = connectortest.ReadPage(resp); !strings.Contains(page, "did not authorize") {
		t.Fatalf("declined consent: HTTP %d: %s", resp.StatusCode, page)
	}
	noSecret("a declined consent")

	// A wrong password stays on the platform's page.
	w := newBrowserSession()
	resp, err = w.client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page = connectortest.ReadPage(resp)
	resp, err = connectortest.SubmitConsent(w.client, resp.Request.URL.String(), page, user, "wrong-password", false)
	if err != nil {
		t.Fatal(err)
	}
	if page = connectortest.ReadPage(resp); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, `id="username"`) {
		t.Fatalf("wrong password: HTTP %d: %s", resp.StatusCode, page)
	}
	noSecret("a wrong login")

	// After a spec change the old link stops working and status shows a new one.
	patchSpec(t, ns, "shop", func(in *v1alpha1.Integration) { in.Spec.Sync.Frequency = v1alpha1.FrequencyDaily })
	eventually(t, waitLong, "a connect link for the new generation", func() (bool, string) {
		in = getIntegration(t, ns, "shop")
		a := in.Status.Authorization
		return a != nil && a.ConnectURL != "" && a.ConnectURL != link && in.Status.ObservedGeneration == in.Generation, fmt.Sprintf("%+v", a)
	})
	status, page = newBrowserSession().get(t, link)
	if status != http.StatusConflict || !strings.Contains(page, "changed since this link was issued") {
		t.Fatalf("old link after a spec change: HTTP %d: %s", status, page)
	}
	// The victim's flow, started under the old generation, can no longer complete either.
	noSecret("an old link")

	// The new link works.
	status, page = f.connect(t, newBrowserSession(), in.Status.Authorization.ConnectURL)
	if status != http.StatusOK || !strings.Contains(page, "is connected to") {
		t.Fatalf("new link: HTTP %d: %s", status, page)
	}
	waitState(t, ns, "shop", v1alpha1.StateConnected)
}

// TestOAuthMissingAppKeys: an OAuth integration whose Secret lacks the app's keys says which, before any
// connect link is offered.
func TestOAuthMissingAppKeys(t *testing.T) {
	p := oauthPlatforms(t)[0]
	ns := newNamespace(t)
	f := startOAuthSandbox(t, p, 20)
	data := f.appSecretData()
	missing := p.OAuth.AppKeys[len(p.OAuth.AppKeys)-1]
	delete(data, missing)
	createSecret(t, ns, "shop", data)
	in := newIntegration(ns, "shop", p.Name, f.Connection(f.URL))
	in.Spec.Auth.Type = v1alpha1.AuthOAuth
	if err := k8s.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	in = waitState(t, ns, "shop", v1alpha1.StateDisconnected)
	c := conditions.Get(in, v1alpha1.ConditionConnected)
	if c.Reason != v1alpha1.ReasonCredentialsNotFound || !strings.Contains(c.Message, missing) {
		t.Fatalf("Connected = %s: %s; want CredentialsNotFound naming %s", c.Reason, c.Message, missing)
	}
}

// TestOAuthRevokedGrant: when the platform stops accepting the grant (the merchant uninstalled the app),
// the next sync drops the dead tokens, says why, and offers a fresh connect link; connecting again recovers.
func TestOAuthRevokedGrant(t *testing.T) {
	var p connectors.Platform
	for _, c := range oauthPlatforms(t) {
		if c.OAuth.Refresh != nil {
			p = c
			break
		}
	}
	if p.Name == "" {
		t.Fatal("no OAuth platform with expiring tokens")
	}
	ns := newNamespace(t)
	f := startOAuthSandbox(t, p, 40)
	in := f.createOAuthIntegration(t, ns, "shop")
	if status, page := f.connect(t, newBrowserSession(), in.Status.Authorization.ConnectURL); status != http.StatusOK {
		t.Fatalf("connect: HTTP %d: %s", status, page)
	}
	waitState(t, ns, "shop", v1alpha1.StateConnected)

	f.oauth.Auth().RevokeAll()
	requestSync(t, ns, "shop", time.Now().Format(time.RFC3339Nano))
	eventually(t, waitLong, "the integration to ask for a new connection", func() (bool, string) {
		in = getIntegration(t, ns, "shop")
		c := conditions.Get(in, v1alpha1.ConditionConnected)
		a := in.Status.Authorization
		return c != nil && c.Reason == v1alpha1.ReasonAuthorizationRequired && strings.Contains(c.Message, "no longer accepts") &&
			a != nil && a.ConnectURL != "", fmt.Sprintf("connected=%+v", c)
	})
	if in.Status.State != v1alpha1.StateDisconnected {
		t.Fatalf("state %s, want Disconnected", in.Status.State)
	}
	if _, found := tokenSecret(t, in); found {
		t.Fatal("the dead tokens were kept")
	}
	if status, page := f.connect(t, newBrowserSession(), in.Status.Authorization.ConnectURL); status != http.StatusOK {
		t.Fatalf("reconnect: HTTP %d: %s", status, page)
	}
	waitState(t, ns, "shop", v1alpha1.StateConnected)
}

// TestOAuthTokenExpiresBetweenSyncs: the platform expires the access token early; the next sync is refused
// once, refreshes (saving the new token to the Secret before using it) and completes with every record.
func TestOAuthTokenExpiresBetweenSyncs(t *testing.T) {
	for _, p := range oauthPlatforms(t) {
		if p.OAuth.Refresh == nil {
			continue
		}
		t.Run(string(p.Name), func(t *testing.T) {
			ns := newNamespace(t)
			f := startOAuthSandbox(t, p, 120)
			in := f.createOAuthIntegration(t, ns, "shop")
			if status, page := f.connect(t, newBrowserSession(), in.Status.Authorization.ConnectURL); status != http.StatusOK {
				t.Fatalf("connect: HTTP %d: %s", status, page)
			}
			in = waitState(t, ns, "shop", v1alpha1.StateConnected)
			before, _ := tokenSecret(t, in)
			_, refreshesBefore, _ := f.oauth.Auth().Counts()

			f.oauth.Auth().ExpireAccessTokens()
			f.TouchOrders(30)
			requestSync(t, ns, "shop", time.Now().Format(time.RFC3339Nano))
			var run v1alpha1.SyncRun
			eventually(t, waitLong, "a second successful run", func() (bool, string) {
				in = getIntegration(t, ns, "shop")
				if len(in.Status.Runs) < 2 {
					return false, fmt.Sprintf("%d runs", len(in.Status.Runs))
				}
				run = in.Status.Runs[0]
				return run.Result == "Succeeded", fmt.Sprintf("%+v", run)
			})
			if run.Written < 30 {
				t.Fatalf("second run wrote %d records, want the 30 touched orders at least", run.Written)
			}
			after, _ := tokenSecret(t, in)
			if _, refreshes, _ := f.oauth.Auth().Counts(); refreshes <= refreshesBefore {
				t.Fatal("no refresh happened")
			}
			if string(after.Data["accessToken"]) == string(before.Data["accessToken"]) {
				t.Fatal("the refreshed access token was not saved to the token Secret")
			}
		})
	}
}

// TestOAuthNewCredentialsRevokeTheOldGrant: pointing spec.auth at other credentials disconnects the old grant
// (revoked at the platform where it can be, its Secret deleted) and asks for a new connection.
func TestOAuthNewCredentialsRevokeTheOldGrant(t *testing.T) {
	p, _ := connectors.Lookup(v1alpha1.PlatformShopify)
	if p.OAuth == nil || p.OAuth.Revoke == nil {
		t.Fatal("Shopify has no OAuth revocation")
	}
	ns := newNamespace(t)
	f := startOAuthSandbox(t, p, 20)
	in := f.createOAuthIntegration(t, ns, "shop")
	if status, page := f.connect(t, newBrowserSession(), in.Status.Authorization.ConnectURL); status != http.StatusOK {
		t.Fatalf("connect: HTTP %d: %s", status, page)
	}
	in = waitState(t, ns, "shop", v1alpha1.StateConnected)
	old, _ := tokenSecret(t, in)
	access := string(old.Data["accessToken"])

	createSecret(t, ns, "shop-v2", f.appSecretData())
	patchSpec(t, ns, "shop", func(in *v1alpha1.Integration) { in.Spec.Auth.SecretRef.Name = "shop-v2" })
	in = waitConnectLink(t, ns, "shop")
	if _, live := f.oauth.Auth().Access(access); live {
		t.Fatal("the old grant still works after spec.auth changed")
	}
	if sec, found := tokenSecret(t, in); found && string(sec.Data["accessToken"]) == access {
		t.Fatal("the old grant's tokens were kept")
	}
	if status, page := f.connect(t, newBrowserSession(), in.Status.Authorization.ConnectURL); status != http.StatusOK {
		t.Fatalf("reconnect: HTTP %d: %s", status, page)
	}
	waitState(t, ns, "shop", v1alpha1.StateConnected)
}

// TestOAuthRefusesACodeForAnotherIntegration: a code obtained in another integration's flow (another app),
// delivered with this integration's state in the browser that started it, fails at the exchange and nothing
// is written.
func TestOAuthRefusesACodeForAnotherIntegration(t *testing.T) {
	p, _ := connectors.Lookup(v1alpha1.PlatformEtsy)
	ns := newNamespace(t)
	a := startOAuthSandbox(t, p, 10)
	other := startOAuthSandbox(t, p, 10)
	inA := a.createOAuthIntegration(t, ns, "shop-a")
	inB := other.createOAuthIntegration(t, ns, "shop-b")

	// The admin opens A's link: the browser holds A's connect cookie, the authorize URL A's state.
	admin := newBrowserSession()
	stop := *admin.client
	stop.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := stop.Get(inA.Status.Authorization.ConnectURL)
	if err != nil {
		t.Fatal(err)
	}
	_ = connectortest.ReadPage(resp)
	authorize, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || authorize.Query().Get("state") == "" {
		t.Fatalf("the connect link did not redirect to the platform with a state: %q", resp.Header.Get("Location"))
	}
	stateA := authorize.Query().Get("state")

	// Someone completes B's flow and takes its code.
	b := newBrowserSession()
	resp, err = b.client.Get(inB.Status.Authorization.ConnectURL)
	if err != nil {
		t.Fatal(err)
	}
	page := connectortest.ReadPage(resp)
	user, pass := other.oauth.Login()
	noFollow := *b.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = connectortest.SubmitConsent(&noFollow, resp.Request.URL.String(), page, user, pass, false)
	if err != nil {
		t.Fatal(err)
	}
	_ = connectortest.ReadPage(resp)
	cbB, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || cbB.Query().Get("code") == "" {
		t.Fatalf("B's consent did not redirect with a code: %q", resp.Header.Get("Location"))
	}
	secrets.remember(map[string]string{"code": cbB.Query().Get("code")})

	// B's code with A's state, in the admin's browser.
	crossed := oauthURL + "/oauth/callback?" + url.Values{"code": {cbB.Query().Get("code")}, "state": {stateA}}.Encode()
	status, page := admin.get(t, crossed)
	if status != http.StatusBadGateway || !strings.Contains(page, "did not complete the connection") {
		t.Fatalf("crossed code: HTTP %d: %s", status, page)
	}
	if strings.Contains(page, cbB.Query().Get("code")) {
		t.Fatal("the error page repeats the code")
	}
	if _, found := tokenSecret(t, inA); found {
		t.Fatal("a code for another integration wrote a token Secret")
	}
	if in := getIntegration(t, ns, "shop-a"); conditions.IsTrue(in, v1alpha1.ConditionConnected) {
		t.Fatal("integration A reports Connected")
	}
}

// tokenTrouble sits in front of a sandbox: once armed, it lets the platform expire every access token after a
// number of API requests (mid-sync), and it can make the token endpoint fail its next refreshes with 503.
type tokenTrouble struct {
	next        http.Handler
	auth        *sandboxkit.AuthServer
	armed       atomic.Bool
	expireAt    atomic.Int64
	requests    atomic.Int64
	failRefresh atomic.Int64
	refreshes   atomic.Int64
}

func (m *tokenTrouble) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.Body != nil {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte("refresh_token")) && bytes.Contains(body, []byte("grant_type")) {
			m.refreshes.Add(1)
			if m.failRefresh.Add(-1) >= 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, `{"error":"temporarily_unavailable","error_description":"try again later"}`)
				return
			}
			m.next.ServeHTTP(w, r)
			return
		}
	}
	if m.armed.Load() && m.requests.Add(1) == m.expireAt.Load() {
		m.auth.ExpireAccessTokens()
	}
	m.next.ServeHTTP(w, r)
}

// TestOAuthTokenExpiresMidSync: the platform expires the access token in the middle of a sync that reads many
// pages; the connector is refused, the operator refreshes (one refresh, saved to the token Secret first) and
// the sync goes on from where it was: it completes with every record and nothing lost or doubled.
func TestOAuthTokenExpiresMidSync(t *testing.T) {
	for _, p := range oauthPlatforms(t) {
		if p.OAuth.Refresh == nil {
			continue
		}
		t.Run(string(p.Name), func(t *testing.T) {
			var trouble *tokenTrouble
			const orders = 900
			f := startOAuthSandboxWith(t, p, orders, func(sb connectors.OAuthSandbox) http.Handler {
				trouble = &tokenTrouble{next: sb, auth: sb.Auth()}
				return trouble
			})
			ns := newNamespace(t)
			in := f.createOAuthIntegration(t, ns, "shop")
			if status, page := f.connect(t, newBrowserSession(), in.Status.Authorization.ConnectURL); status != http.StatusOK {
				t.Fatalf("connect: HTTP %d: %s", status, page)
			}
			in = waitState(t, ns, "shop", v1alpha1.StateConnected)
			before, _ := tokenSecret(t, in)
			refreshesBefore := trouble.refreshes.Load()

			// Every order changes, so the next sync reads them all again, page by page; the token dies after
			// the third request of it.
			f.TouchOrders(orders)
			trouble.expireAt.Store(3)
			trouble.armed.Store(true)
			requestSync(t, ns, "shop", time.Now().Format(time.RFC3339Nano))
			var run v1alpha1.SyncRun
			eventually(t, waitLong, "the second run to finish", func() (bool, string) {
				in = getIntegration(t, ns, "shop")
				if len(in.Status.Runs) < 2 {
					return false, fmt.Sprintf("%d runs", len(in.Status.Runs))
				}
				run = in.Status.Runs[0]
				return true, ""
			})
			if run.Result != "Succeeded" {
				t.Fatalf("the run with an expired token: %+v", run)
			}
			if trouble.requests.Load() < 4 {
				t.Fatalf("the sync made %d requests: the token never expired mid-sync", trouble.requests.Load())
			}
			if got := trouble.refreshes.Load() - refreshesBefore; got != 1 {
				t.Fatalf("%d refreshes during the run, want exactly 1", got)
			}
			// Every changed order was read again, through the expiry, and the store holds exactly the platform's
			// records: nothing lost, nothing doubled.
			if want := f.Expected()[tether.KindSalesOrder]; run.Read < want {
				t.Fatalf("the run read %d records, want the %d changed orders the platform serves at least", run.Read, want)
			}
			storedMatches(t, testStore, ns+"/shop", f.Sandbox)
			after, _ := tokenSecret(t, in)
			if string(after.Data["accessToken"]) == string(before.Data["accessToken"]) {
				t.Fatal("the refreshed token was not saved to the token Secret")
			}
		})
	}
}

// TestOAuthTokenEndpointOutageIsRetried: a token endpoint that answers 503 when the token must be refreshed is
// a transient Error, not a disconnection: the tokens are kept, and the retry connects and syncs.
func TestOAuthTokenEndpointOutageIsRetried(t *testing.T) {
	p, _ := connectors.Lookup(v1alpha1.PlatformEtsy)
	var trouble *tokenTrouble
	f := startOAuthSandboxWith(t, p, 30, func(sb connectors.OAuthSandbox) http.Handler {
		trouble = &tokenTrouble{next: sb, auth: sb.Auth()}
		return trouble
	})
	ns := newNamespace(t)
	in := f.createOAuthIntegration(t, ns, "shop")
	if status, page := f.connect(t, newBrowserSession(), in.Status.Authorization.ConnectURL); status != http.StatusOK {
		t.Fatalf("connect: HTTP %d: %s", status, page)
	}
	waitState(t, ns, "shop", v1alpha1.StateConnected)

	f.oauth.Auth().ExpireAccessTokens()
	trouble.failRefresh.Store(1)
	requestSync(t, ns, "shop", time.Now().Format(time.RFC3339Nano))
	eventually(t, waitLong, "a transient Error while the token endpoint is down", func() (bool, string) {
		in = getIntegration(t, ns, "shop")
		ready := conditions.Get(in, v1alpha1.ConditionReady)
		return in.Status.State == v1alpha1.StateError && ready != nil && ready.Reason == v1alpha1.ReasonSyncFailed &&
			conditions.IsTrue(in, v1alpha1.ConditionConnected), fmt.Sprintf("state %s ready %+v", in.Status.State, ready)
	})
	if _, found := tokenSecret(t, in); !found {
		t.Fatal("a token endpoint outage deleted the tokens")
	}
	eventually(t, 2*waitLong, "the retry to connect and sync", func() (bool, string) {
		in = getIntegration(t, ns, "shop")
		return in.Status.State == v1alpha1.StateConnected && len(in.Status.Runs) > 0 && in.Status.Runs[0].Result == "Succeeded",
			fmt.Sprintf("state %s", in.Status.State)
	})
}

// TestOAuthNeverOverwritesAForeignSecret: a Secret that already has the token Secret's name but is not the
// operator's stops the integration with a message, and is left as it was.
func TestOAuthNeverOverwritesAForeignSecret(t *testing.T) {
	p, _ := connectors.Lookup(v1alpha1.PlatformEtsy)
	ns := newNamespace(t)
	f := startOAuthSandbox(t, p, 10)
	createSecret(t, ns, "shop-oauth-token", map[string]string{"note": "someone else's"})
	createSecret(t, ns, "shop", f.appSecretData())
	in := newIntegration(ns, "shop", p.Name, f.Connection(f.URL))
	in.Spec.Auth.Type = v1alpha1.AuthOAuth
	if err := k8s.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	in = waitState(t, ns, "shop", v1alpha1.StateError)
	if c := conditions.Get(in, v1alpha1.ConditionStalled); c == nil || c.Reason != v1alpha1.ReasonInvalidConfiguration ||
		!strings.Contains(c.Message, "not managed by the operator") {
		t.Fatalf("Stalled = %+v, want InvalidConfiguration naming the foreign Secret", c)
	}
	s := &corev1.Secret{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "shop-oauth-token"}, s); err != nil {
		t.Fatal(err)
	}
	if string(s.Data["note"]) != "someone else's" || len(s.Data) != 1 || s.Labels[oauth.LabelManagedBy] != "" {
		t.Fatal("the foreign Secret was changed")
	}
}
