package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// ErrAuthorizationRequired means an OAuth integration has no grant for its current credentials: an admin must
// open the connect link.
var ErrAuthorizationRequired = errors.New("authorization required")

// Manager is what the Integration controller uses: token sources backed by the token Secrets, connect links,
// and disconnection (revoke, then delete).
type Manager struct {
	Secrets *Secrets
	Keepers *Keepers
	// Server serves the connect flow; nil when the operator runs without an OAuth endpoint, in which case
	// OAuth integrations cannot be connected (API credentials with refresh tokens still work).
	Server     *Server
	HTTPClient *http.Client
}

// Kept reports whether the operator keeps tokens for obj: OAuth integrations, and API credentials that
// carry a refresh token. Those Integrations get the revocation finalizer.
func Kept(obj *v1alpha1.Integration, platform connectors.Platform, creds map[string][]byte) bool {
	if platform.OAuth == nil {
		return false
	}
	if obj.Spec.Auth.Type == v1alpha1.AuthOAuth {
		return true
	}
	if platform.OAuth.Seed == nil {
		return false
	}
	_, ok := platform.OAuth.Seed(creds)
	return ok
}

// App is the connectors.App of obj with its user Secret's data.
func (m *Manager) App(obj *v1alpha1.Integration, creds map[string][]byte) connectors.App {
	app := connectors.App{Connection: obj.ConnectionOrEmpty(), Credentials: creds, HTTPClient: m.HTTPClient}
	if m.Server != nil {
		app.RedirectURL = m.Server.CallbackURL()
	}
	return app
}

// Tokens returns the token source for obj, or nil when its credentials are static. version changes whenever
// the token Secret does. For an OAuth integration without a grant for its current credentials, the error is
// ErrAuthorizationRequired; a grant for other credentials (spec.auth or the app changed) is revoked and
// deleted first.
func (m *Manager) Tokens(ctx context.Context, log logr.Logger, obj *v1alpha1.Integration, platform connectors.Platform,
	creds map[string][]byte) (tokens connectors.Tokens, version string, err error) {
	flow := platform.OAuth
	if flow == nil {
		return nil, "", nil
	}
	var seed *connectors.Token
	if obj.Spec.Auth.Type != v1alpha1.AuthOAuth {
		if flow.Seed == nil {
			return nil, "", nil
		}
		tok, ok := flow.Seed(creds)
		if !ok {
			return nil, "", nil
		}
		seed = &tok
	}
	fp := Fingerprint(obj, flow, creds, seed)
	g, found, err := m.Secrets.get(ctx, obj)
	if err != nil {
		return nil, "", err
	}
	if found && g.fingerprint != fp {
		log.Info("the credentials changed: revoking and deleting the tokens of the previous ones", "secret", TokenSecretName(obj))
		if err := m.revoke(ctx, log, obj, platform, creds, g.tok); err != nil {
			return nil, "", err
		}
		if err := m.Secrets.Delete(ctx, obj); err != nil {
			return nil, "", fmt.Errorf("delete the previous token Secret: %w", err)
		}
		m.Keepers.Forget(obj.UID)
		found = false
	}
	if !found && seed == nil {
		return nil, "", ErrAuthorizationRequired
	}
	if found {
		version = g.secret.ResourceVersion
	}
	return m.Keepers.For(obj, flow, m.App(obj, creds), fp, seed), version, nil
}

// Disconnect revokes obj's grant at the platform where the platform supports it, then deletes the token
// Secret. creds may be nil when the user's Secret is gone; the grant is then deleted without revocation,
// and revoked reports false. A transient revocation failure is returned so the caller retries.
func (m *Manager) Disconnect(ctx context.Context, log logr.Logger, obj *v1alpha1.Integration, platform connectors.Platform,
	creds map[string][]byte) (revoked bool, err error) {
	g, found, err := m.Secrets.get(ctx, obj)
	if err != nil {
		if errors.Is(err, ErrNotOwned) {
			return false, nil
		}
		return false, err
	}
	if found {
		if creds != nil && platform.OAuth != nil && platform.OAuth.Revoke != nil {
			if err := m.revoke(ctx, log, obj, platform, creds, g.tok); err != nil {
				return false, err
			}
			revoked = true
		}
		if err := m.Secrets.Delete(ctx, obj); err != nil {
			return revoked, fmt.Errorf("delete token Secret: %w", err)
		}
	}
	m.Keepers.Forget(obj.UID)
	return revoked, nil
}

// revoke revokes tok where the platform can. A token the platform already refuses counts as revoked;
// transient failures are returned.
func (m *Manager) revoke(ctx context.Context, log logr.Logger, obj *v1alpha1.Integration, platform connectors.Platform,
	creds map[string][]byte, tok connectors.Token) error {
	if platform.OAuth == nil || platform.OAuth.Revoke == nil || (tok.AccessToken == "" && tok.RefreshToken == "") {
		return nil
	}
	err := platform.OAuth.Revoke(ctx, m.App(obj, creds), tok)
	if err == nil {
		log.Info("revoked the tokens at the platform", "platform", platform.Name)
		return nil
	}
	if class, _ := connectors.Classify(err); class == connectors.ClassTransient {
		return fmt.Errorf("revoke the tokens at %s: %w", platform.Name, err)
	}
	log.Info("the platform refused the revocation; treating the tokens as revoked", "platform", platform.Name, "error", err.Error())
	return nil
}
