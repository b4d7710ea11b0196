package oauth

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

const (
	// LinkTTL is how long a connect link in status works; the controller renews it before then.
	LinkTTL = time.Hour
	// StateTTL is how long a started connect flow can take, from opening the link to the callback.
	StateTTL = 10 * time.Minute
	// cookieName binds a connect flow to the browser that started it.
	cookieName = "tether_oauth_state"

	purposeLink  = "connect-link/v1"
	purposeState = "state/v1"
)

// link is what a connect link carries: the integration and generation it was issued for.
type link struct {
	Namespace  string    `json:"ns"`
	Name       string    `json:"n"`
	UID        types.UID `json:"u"`
	Generation int64     `json:"g"`
	Expires    int64     `json:"e"`
}

// state is what the OAuth state parameter carries, sealed: besides the integration and generation, the
// nonce that makes it single use and the PKCE verifier, which never leaves the operator in the clear.
type state struct {
	link
	Platform v1alpha1.Platform `json:"p"`
	Nonce    string            `json:"nc"`
	Verifier string            `json:"v,omitempty"`
}

// Server serves the connect endpoint and the OAuth callback, and hands the controller connect links and
// token sources. It runs on every replica: any replica can complete a connect flow.
type Server struct {
	// ExternalURL is the base URL the browser reaches the endpoint at, for example
	// https://tether.example.com/operator. Links and the callback URL are built from it.
	ExternalURL string
	Keys        *Keys
	Secrets     *Secrets
	Keepers     *Keepers
	HTTPClient  *http.Client
	Log         logr.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu   sync.Mutex
	used map[string]time.Time // nonces of states already presented, until they expire
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) base() string { return strings.TrimRight(s.ExternalURL, "/") }

// CallbackURL is the redirect URI to register at each platform.
func (s *Server) CallbackURL() string { return s.base() + "/oauth/callback" }

// ConnectURL returns a link to connect obj's account, valid for LinkTTL, and when it expires.
func (s *Server) ConnectURL(obj *v1alpha1.Integration) (string, time.Time, error) {
	exp := s.now().Add(LinkTTL).Truncate(time.Second)
	t, err := s.Keys.seal(purposeLink, link{Namespace: obj.Namespace, Name: obj.Name, UID: obj.UID,
		Generation: obj.Generation, Expires: exp.Unix()})
	if err != nil {
		return "", time.Time{}, err
	}
	return s.base() + "/oauth/connect?t=" + t, exp, nil
}

// LinkMatches reports whether connectURL is a link this operator issued for obj's current generation.
func (s *Server) LinkMatches(connectURL string, obj *v1alpha1.Integration) bool {
	u, err := url.Parse(connectURL)
	if err != nil || !strings.HasPrefix(connectURL, s.base()+"/oauth/connect?") {
		return false
	}
	var l link
	if err := s.Keys.open(purposeLink, u.Query().Get("t"), &l); err != nil {
		return false
	}
	return l.UID == obj.UID && l.Generation == obj.Generation && l.Namespace == obj.Namespace && l.Name == obj.Name
}

// Handler serves /oauth/connect and /oauth/callback under the external URL's path.
func (s *Server) Handler() http.Handler {
	prefix := ""
	if u, err := url.Parse(s.ExternalURL); err == nil {
		prefix = strings.TrimRight(u.Path, "/")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/oauth/connect", s.connect)
	mux.HandleFunc("GET "+prefix+"/oauth/callback", s.callback)
	mux.HandleFunc("GET "+prefix+"/oauth/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	return securityHeaders(mux)
}

// securityHeaders keeps the pages out of caches, frames and Referer headers: the callback URL carries an
// authorization code.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		next.ServeHTTP(w, r)
	})
}

// connect opens a connect link: it checks the link, starts a flow (nonce, PKCE verifier), binds it to the
// browser with a cookie and sends the browser to the platform's authorize page.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	var l link
	if err := s.Keys.open(purposeLink, r.URL.Query().Get("t"), &l); err != nil {
		s.page(w, http.StatusBadRequest, "Invalid connect link", "This connect link was "+errSealed.Error()+
			". Open the link in the Integration's status.authorization.connectURL.")
		return
	}
	if s.now().Unix() > l.Expires {
		s.page(w, http.StatusGone, "Connect link expired", fmt.Sprintf("This connect link for %s/%s has expired. "+
			"The operator renews it: open the current one with kubectl get integration %s -n %s -o jsonpath='{.status.authorization.connectURL}'.",
			l.Namespace, l.Name, l.Name, l.Namespace))
		return
	}
	obj, creds, platform, msg, status := s.lookup(r.Context(), l)
	if msg != "" {
		s.page(w, status, "Cannot connect", msg)
		return
	}
	st := state{link: l, Platform: platform.Name, Nonce: newID()}
	st.Expires = s.now().Add(StateTTL).Unix()
	if platform.OAuth.PKCE {
		st.Verifier = oauth2.GenerateVerifier()
	}
	sealed, err := s.Keys.seal(purposeState, st)
	if err != nil {
		s.page(w, http.StatusInternalServerError, "Cannot connect", "The operator could not start the flow; try again.")
		return
	}
	authURL, err := platform.OAuth.AuthCodeURL(s.app(obj, creds), sealed, st.Verifier)
	if err != nil {
		s.page(w, http.StatusBadRequest, "Cannot connect", fmt.Sprintf("%s: %v", obj.Spec.Platform, err))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: sealed, Path: s.cookiePath(), MaxAge: int(StateTTL / time.Second),
		HttpOnly: true, Secure: strings.HasPrefix(s.ExternalURL, "https://"), SameSite: http.SameSiteLaxMode})
	s.Log.Info("connect flow started", "integration", l.Namespace+"/"+l.Name, "platform", platform.Name)
	http.Redirect(w, r, authURL, http.StatusFound)
}

func (s *Server) cookiePath() string {
	if u, err := url.Parse(s.ExternalURL); err == nil {
		return strings.TrimRight(u.Path, "/") + "/oauth/"
	}
	return "/oauth/"
}

// lookup finds the integration a link or state is for and checks it still is that integration, in that
// generation, waiting for OAuth. msg is the page to show when not.
func (s *Server) lookup(ctx context.Context, l link) (*v1alpha1.Integration, map[string][]byte, connectors.Platform, string, int) {
	obj := &v1alpha1.Integration{}
	key := types.NamespacedName{Namespace: l.Namespace, Name: l.Name}
	if err := s.Secrets.Reader.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, connectors.Platform{}, fmt.Sprintf("Integration %s no longer exists.", key), http.StatusNotFound
		}
		return nil, nil, connectors.Platform{}, "The operator could not read the Integration; try again.", http.StatusServiceUnavailable
	}
	if obj.UID != l.UID {
		return nil, nil, connectors.Platform{}, fmt.Sprintf("Integration %s was deleted and created again since this link was issued; open the new one from its status.", key), http.StatusConflict
	}
	if obj.Generation != l.Generation {
		return nil, nil, connectors.Platform{}, fmt.Sprintf("Integration %s changed since this link was issued (generation %d, now %d); open the current link from its status.", key, l.Generation, obj.Generation), http.StatusConflict
	}
	platform, ok := connectors.Lookup(obj.Spec.Platform)
	if !ok || platform.OAuth == nil || obj.Spec.Auth.Type != v1alpha1.AuthOAuth {
		return nil, nil, connectors.Platform{}, fmt.Sprintf("Integration %s does not connect with OAuth.", key), http.StatusBadRequest
	}
	if !obj.DeletionTimestamp.IsZero() {
		return nil, nil, connectors.Platform{}, fmt.Sprintf("Integration %s is being deleted.", key), http.StatusConflict
	}
	sec := &corev1.Secret{}
	if err := s.Secrets.Reader.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.Auth.SecretRef.Name}, sec); err != nil {
		return nil, nil, connectors.Platform{}, fmt.Sprintf("Secret %q with the app's credentials was not found in namespace %s.", obj.Spec.Auth.SecretRef.Name, obj.Namespace), http.StatusBadRequest
	}
	if missing := MissingKeys(sec.Data, platform.OAuth.AppKeys); len(missing) > 0 {
		return nil, nil, connectors.Platform{}, fmt.Sprintf("Secret %q has no %s; add the app's key(s) and open the link again.", sec.Name, strings.Join(missing, ", ")), http.StatusBadRequest
	}
	return obj, sec.Data, platform, "", 0
}

func (s *Server) app(obj *v1alpha1.Integration, creds map[string][]byte) connectors.App {
	return connectors.App{Connection: obj.ConnectionOrEmpty(), Credentials: creds, RedirectURL: s.CallbackURL(), HTTPClient: s.HTTPClient}
}

// callback completes a flow: it checks the state (sealed by this operator, unexpired, unused, bound to this
// browser, for the integration's current generation), lets the platform check the rest and exchange the code,
// and writes the tokens into the integration's token Secret.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cookieState := ""
	if c, err := r.Cookie(cookieName); err == nil {
		cookieState = c.Value
	}
	sealed := q.Get("state")
	switch {
	case sealed == "" && cookieState == "":
		s.page(w, http.StatusBadRequest, "Cannot connect", "The callback has no state. Start again from the Integration's status.authorization.connectURL.")
		return
	case sealed != "" && cookieState != "" && sealed != cookieState:
		s.page(w, http.StatusBadRequest, "Cannot connect", "This callback belongs to a connect flow started in another browser or tab. Start again from the Integration's status.authorization.connectURL.")
		return
	case sealed == "":
		sealed = cookieState
	}
	var st state
	if err := s.Keys.open(purposeState, sealed, &st); err != nil {
		s.page(w, http.StatusBadRequest, "Cannot connect", "The callback's state was "+errSealed.Error()+"; nothing was saved. Start again from the Integration's status.authorization.connectURL.")
		return
	}
	clearCookie := func() {
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: s.cookiePath(), MaxAge: -1, HttpOnly: true,
			Secure: strings.HasPrefix(s.ExternalURL, "https://"), SameSite: http.SameSiteLaxMode})
	}
	key := st.Namespace + "/" + st.Name
	if s.now().Unix() > st.Expires {
		clearCookie()
		s.page(w, http.StatusGone, "Connect flow expired", fmt.Sprintf("This connect flow for %s took longer than %s; nothing was saved. Start again from the Integration's status.authorization.connectURL.", key, StateTTL))
		return
	}
	if !s.spend(st.Nonce, time.Unix(st.Expires, 0)) {
		s.page(w, http.StatusConflict, "Cannot connect", fmt.Sprintf("This callback for %s was already used; nothing was saved. Start again from the Integration's status.authorization.connectURL.", key))
		return
	}
	clearCookie()
	obj, creds, platform, msg, status := s.lookup(r.Context(), st.link)
	if msg != "" {
		s.page(w, status, "Cannot connect", msg+" Nothing was saved.")
		return
	}
	if platform.Name != st.Platform {
		s.page(w, http.StatusBadRequest, "Cannot connect", "The callback's state is for another platform; nothing was saved.")
		return
	}
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		s.Log.Info("connect flow declined at the platform", "integration", key, "error", e)
		s.page(w, http.StatusOK, "Not connected", fmt.Sprintf("%s did not authorize the connection (%s%s). Nothing was saved; the connect link in status still works.",
			platform.Name, e, prefixed(": ", desc)))
		return
	}
	if prev, found, err := s.Secrets.get(r.Context(), obj); err != nil {
		s.page(w, http.StatusConflict, "Cannot connect", err.Error())
		return
	} else if found && prev.nonce == st.Nonce {
		s.page(w, http.StatusConflict, "Cannot connect", fmt.Sprintf("This callback for %s was already used; nothing was saved.", key))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	tok, err := platform.OAuth.Exchange(ctx, s.app(obj, creds), q, st.Verifier)
	if err != nil {
		s.Log.Info("connect flow failed at the code exchange", "integration", key, "error", err.Error())
		s.page(w, http.StatusBadGateway, "Cannot connect", fmt.Sprintf("%s did not complete the connection: %v. Nothing was saved; start again from the Integration's status.authorization.connectURL.", platform.Name, err))
		return
	}
	g := &grant{tok: tok, fingerprint: Fingerprint(obj, platform.OAuth, creds, nil), id: newID(), nonce: st.Nonce, connectedAt: s.now()}
	if err := s.save(ctx, obj, g); err != nil {
		s.Log.Error(err, "save the token Secret", "integration", key)
		s.page(w, http.StatusServiceUnavailable, "Cannot connect", "The operator could not save the connection ("+err.Error()+"). Start again from the Integration's status.authorization.connectURL.")
		return
	}
	s.Keepers.Forget(obj.UID)
	s.Log.Info("account connected", "integration", key, "platform", platform.Name, "secret", TokenSecretName(obj))
	s.page(w, http.StatusOK, "Connected", fmt.Sprintf("%s is connected to %s. The first sync starts now; you can close this window and follow it with kubectl get integration %s -n %s.",
		key, platform.Name, obj.Name, obj.Namespace))
}

// save writes a new grant, replacing whatever grant the Secret held.
func (s *Server) save(ctx context.Context, obj *v1alpha1.Integration, g *grant) error {
	for attempt := 0; attempt < 5; attempt++ {
		prev, found, err := s.Secrets.get(ctx, obj)
		if err != nil {
			return err
		}
		var prevSecret *corev1.Secret
		if found {
			prevSecret = prev.secret
		}
		if _, err = s.Secrets.write(ctx, obj, g, prevSecret); err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return errors.New("the token Secret kept changing")
}

// spend marks a state's nonce used; false when it already was.
func (s *Server) spend(nonce string, until time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used == nil {
		s.used = map[string]time.Time{}
	}
	now := s.now()
	for n, exp := range s.used {
		if now.After(exp) {
			delete(s.used, n)
		}
	}
	if _, ok := s.used[nonce]; ok {
		return false
	}
	s.used[nonce] = until
	return true
}

func (s *Server) page(w http.ResponseWriter, status int, title, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, struct{ Title, Message string }{title, message})
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Tether: {{.Title}}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1 id="title">{{.Title}}</h1>
<p id="message">{{.Message}}</p>
</body></html>
`))

// MissingKeys lists the keys that are absent or empty in a Secret's data, in the order given.
func MissingKeys(data map[string][]byte, keys []string) []string {
	var missing []string
	for _, k := range keys {
		if len(data[k]) == 0 {
			missing = append(missing, k)
		}
	}
	return missing
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}
