package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// Labels and annotations of the Secrets the operator owns. The manager's Secret cache selects on
// LabelManagedBy, and the operator never writes a Secret without it.
const (
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	ManagedBy        = "tether-integration-operator"
	LabelPurpose     = "integrations.tether.io/secret-purpose"
	PurposeToken     = "oauth-token"
	PurposeStateKey  = "oauth-state-key"
	LabelIntegration = "integrations.tether.io/integration"

	// AnnotationFingerprint identifies the credentials a token belongs to (auth type, Secret, app, account):
	// when they change, the old token is revoked and deleted.
	AnnotationFingerprint = "integrations.tether.io/auth-fingerprint"
	// AnnotationGrant identifies one grant (one consent, or one seed); refreshes keep it.
	AnnotationGrant = "integrations.tether.io/grant"
	// AnnotationConnectedAt is when the grant was obtained.
	AnnotationConnectedAt = "integrations.tether.io/connected-at"
	// AnnotationNonce is the connect state that produced the grant: a replayed callback is refused.
	AnnotationNonce = "integrations.tether.io/connect-nonce"

	// SecretType marks the operator's token Secrets.
	SecretType corev1.SecretType = "integrations.tether.io/oauth-token"

	// Finalizer keeps an Integration until its tokens are revoked at the platform and its token Secret deleted.
	Finalizer = "integrations.tether.io/revoke-tokens"
)

// Secret data keys of a token Secret.
const (
	keyAccessToken   = "accessToken"
	keyRefreshToken  = "refreshToken"
	keyTokenType     = "tokenType"
	keyExpiry        = "expiry"
	keyRefreshExpiry = "refreshExpiry"
	keyScope         = "scope"
	extraPrefix      = "extra."
)

// TokenSecretName is the name of the Secret holding an integration's tokens.
func TokenSecretName(obj *v1alpha1.Integration) string {
	const suffix = "-oauth-token"
	name := obj.Name + suffix
	if len(name) <= 253 {
		return name
	}
	sum := sha256.Sum256([]byte(obj.Name))
	return obj.Name[:253-len(suffix)-9] + "-" + hex.EncodeToString(sum[:4]) + suffix
}

// Fingerprint identifies the credentials a token is for: auth type, the user's Secret, the app (the first
// app key, the client ID), the account's connection, and for seeded tokens the seed itself. It is a hash:
// no value can be read back from it.
func Fingerprint(obj *v1alpha1.Integration, flow *connectors.OAuth, creds map[string][]byte, seed *connectors.Token) string {
	h := sha256.New()
	conn := obj.ConnectionOrEmpty()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00", obj.Spec.Platform, obj.Spec.Auth.Type,
		obj.Spec.Auth.SecretRef.Name, conn.ShopDomain, conn.StoreHash, conn.StoreURL, conn.Endpoint)
	if flow != nil && len(flow.AppKeys) > 0 {
		h.Write(creds[flow.AppKeys[0]])
	}
	h.Write([]byte{0})
	if seed != nil {
		h.Write([]byte(seed.RefreshToken))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// encode writes a token into Secret data.
func encode(tok connectors.Token) map[string][]byte {
	d := map[string][]byte{}
	put := func(k, v string) {
		if v != "" {
			d[k] = []byte(v)
		}
	}
	put(keyAccessToken, tok.AccessToken)
	put(keyRefreshToken, tok.RefreshToken)
	put(keyTokenType, tok.TokenType)
	put(keyScope, tok.Scope)
	if !tok.Expiry.IsZero() {
		put(keyExpiry, tok.Expiry.UTC().Format(time.RFC3339))
	}
	if !tok.RefreshExpiry.IsZero() {
		put(keyRefreshExpiry, tok.RefreshExpiry.UTC().Format(time.RFC3339))
	}
	for k, v := range tok.Extra {
		put(extraPrefix+k, v)
	}
	return d
}

// decode reads a token from Secret data.
func decode(d map[string][]byte) connectors.Token {
	tok := connectors.Token{AccessToken: string(d[keyAccessToken]), RefreshToken: string(d[keyRefreshToken]),
		TokenType: string(d[keyTokenType]), Scope: string(d[keyScope]), Extra: map[string]string{}}
	tok.Expiry, _ = time.Parse(time.RFC3339, string(d[keyExpiry]))
	tok.RefreshExpiry, _ = time.Parse(time.RFC3339, string(d[keyRefreshExpiry]))
	for k, v := range d {
		if strings.HasPrefix(k, extraPrefix) {
			tok.Extra[strings.TrimPrefix(k, extraPrefix)] = string(v)
		}
	}
	return tok
}

// ErrNotOwned is returned when a Secret with the token Secret's name exists but is not the operator's: it
// is never overwritten.
var ErrNotOwned = errors.New("exists and is not managed by the operator")

// owned reports whether s is this integration's token Secret.
func owned(s *corev1.Secret, obj *v1alpha1.Integration) bool {
	if s.Labels[LabelManagedBy] != ManagedBy || s.Labels[LabelPurpose] != PurposeToken {
		return false
	}
	for _, ref := range s.OwnerReferences {
		if ref.UID == obj.UID {
			return true
		}
	}
	return false
}

// grant is a token Secret's content and identity.
type grant struct {
	tok         connectors.Token
	fingerprint string
	id          string
	nonce       string
	connectedAt time.Time
	secret      *corev1.Secret
}

// Secrets reads and writes integrations' token Secrets. Reads go to the API server (reader), never to a
// cache, so a refresh never starts from a stale refresh token.
type Secrets struct {
	Client client.Client
	Reader client.Reader
}

// get returns the integration's token Secret; found is false when there is none. A Secret of that name that
// the operator does not own is an error.
func (s *Secrets) get(ctx context.Context, obj *v1alpha1.Integration) (*grant, bool, error) {
	sec := &corev1.Secret{}
	name := TokenSecretName(obj)
	if err := s.Reader.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: name}, sec); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("read token Secret %s: %w", name, err)
	}
	if !owned(sec, obj) {
		return nil, false, fmt.Errorf("Secret %q %w; rename or delete it so the operator can keep this integration's tokens there", name, ErrNotOwned)
	}
	g := &grant{tok: decode(sec.Data), fingerprint: sec.Annotations[AnnotationFingerprint], id: sec.Annotations[AnnotationGrant],
		nonce: sec.Annotations[AnnotationNonce], secret: sec}
	g.connectedAt, _ = time.Parse(time.RFC3339, sec.Annotations[AnnotationConnectedAt])
	return g, true, nil
}

// write creates or replaces the token Secret with g. With prev set (the Secret as last read) the update is
// conditional on its resourceVersion, so a write never overwrites a grant it has not seen.
func (s *Secrets) write(ctx context.Context, obj *v1alpha1.Integration, g *grant, prev *corev1.Secret) (*corev1.Secret, error) {
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: TokenSecretName(obj), Namespace: obj.Namespace,
			Labels: map[string]string{LabelManagedBy: ManagedBy, LabelPurpose: PurposeToken, LabelIntegration: labelValue(obj.Name)},
			Annotations: map[string]string{AnnotationFingerprint: g.fingerprint, AnnotationGrant: g.id,
				AnnotationConnectedAt: g.connectedAt.UTC().Format(time.RFC3339)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Integration",
				Name: obj.Name, UID: obj.UID, Controller: ptr(true), BlockOwnerDeletion: ptr(true)}},
		},
		Type: SecretType,
		Data: encode(g.tok),
	}
	if g.nonce != "" {
		sec.Annotations[AnnotationNonce] = g.nonce
	}
	if prev == nil {
		if err := s.Client.Create(ctx, sec); err != nil {
			return nil, err
		}
		return sec, nil
	}
	sec.ResourceVersion = prev.ResourceVersion
	if err := s.Client.Update(ctx, sec); err != nil {
		return nil, err
	}
	return sec, nil
}

// Delete deletes the integration's token Secret if the operator owns it.
func (s *Secrets) Delete(ctx context.Context, obj *v1alpha1.Integration) error {
	g, found, err := s.get(ctx, obj)
	if err != nil || !found {
		return err
	}
	err = s.Client.Delete(ctx, g.secret, client.Preconditions{UID: &g.secret.UID})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// store is the connectors.TokenStore of one integration's grant. It keeps the token it last read or wrote,
// so the requests of a sync cost no API call; writes are conditional, and a write that finds the Secret
// changed re-reads it: when the grant is the same (someone edited a label) the write is applied again, when
// it is a new grant (the admin connected again) the refreshed old grant is dropped.
type store struct {
	secrets     *Secrets
	obj         *v1alpha1.Integration
	fingerprint string
	// seed is the token to start from when no Secret exists yet (API credentials with a refresh token).
	seed *connectors.Token

	mu      sync.Mutex
	current *grant
}

// Load implements connectors.TokenStore.
func (st *store) Load(ctx context.Context) (connectors.Token, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.current != nil {
		return st.current.tok, nil
	}
	g, found, err := st.secrets.get(ctx, st.obj)
	if err != nil {
		return connectors.Token{}, connectors.Transient("TokenSecretUnavailable", 0, err)
	}
	if found && g.fingerprint == st.fingerprint {
		st.current = g
		return g.tok, nil
	}
	if st.seed != nil {
		st.current = &grant{tok: *st.seed, fingerprint: st.fingerprint, id: newID(), connectedAt: time.Now()}
		if found {
			st.current.secret = g.secret
		}
		return st.current.tok, nil
	}
	return connectors.Token{}, connectors.Auth(v1alpha1.ReasonAuthorizationRequired,
		errors.New("the account is not connected: open status.authorization.connectURL to connect it"))
}

// Save implements connectors.TokenStore.
func (st *store) Save(ctx context.Context, tok connectors.Token) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.current == nil {
		return errors.New("save before load")
	}
	next := *st.current
	next.tok = tok
	for attempt := 0; attempt < 5; attempt++ {
		sec, err := st.secrets.write(ctx, st.obj, &next, next.secret)
		if err == nil {
			next.secret = sec
			st.current = &next
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			return err
		}
		g, found, gerr := st.secrets.get(ctx, st.obj)
		if gerr != nil {
			return gerr
		}
		if found && g.id != next.id {
			// A new grant replaced ours while we refreshed: it wins, and ours is dropped.
			st.current = nil
			return errors.New("the account was connected again while its token was refreshed; the next run uses the new connection")
		}
		next.secret = nil
		if found {
			next.secret = g.secret
		}
	}
	return errors.New("the token Secret kept changing while the refreshed token was written")
}

// Keepers hands out one connectors.Keeper per integration and credentials, so every run and every request
// of an integration shares one refresh lock and one view of the token.
type Keepers struct {
	Secrets *Secrets

	mu sync.Mutex
	m  map[types.UID]*keeperEntry
}

type keeperEntry struct {
	fingerprint string
	keeper      *connectors.Keeper
}

// For returns the integration's Keeper for these credentials, a new one when they changed.
func (k *Keepers) For(obj *v1alpha1.Integration, flow *connectors.OAuth, app connectors.App, fingerprint string, seed *connectors.Token) *connectors.Keeper {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[types.UID]*keeperEntry{}
	}
	if e, ok := k.m[obj.UID]; ok && e.fingerprint == fingerprint {
		e.keeper.App = app
		return e.keeper
	}
	st := &store{secrets: k.Secrets, obj: obj.DeepCopy(), fingerprint: fingerprint, seed: seed}
	e := &keeperEntry{fingerprint: fingerprint, keeper: &connectors.Keeper{Flow: flow, App: app, Store: st}}
	k.m[obj.UID] = e
	return e.keeper
}

// Forget drops an integration's Keeper: after a new grant was written, or when the integration is gone.
func (k *Keepers) Forget(uid types.UID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, uid)
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func ptr[T any](v T) *T { return &v }

// labelValue fits a name into a label value (63 characters).
func labelValue(name string) string {
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:54] + "-" + hex.EncodeToString(sum[:4])
}
