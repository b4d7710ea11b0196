// Package oauth is the operator's side of the OAuth authorization-code flow: the connect links shown in
// status, the endpoint the admin's browser goes through (state, PKCE verifier, browser binding), the callback
// that exchanges the code, and the Secrets the operator owns to keep each integration's tokens, refreshed one
// at a time and written before use. Platform specifics come from each connector's connectors.OAuth.
package oauth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// keySize is the length of the manager's key, and the key Secret's data key.
const (
	keySize      = 32
	keySecretKey = "key"
)

// Keys seal the operator's connect links and states: authenticated encryption (AES-256-GCM) with a key
// every replica shares, so a link minted by one replica opens on another, nothing can be forged or altered,
// and the PKCE verifier inside a state stays secret on its way through the browser and the platform.
type Keys struct {
	aead cipher.AEAD
}

// NewKeys builds Keys from a 32-byte secret.
func NewKeys(secret []byte) (*Keys, error) {
	if len(secret) != keySize {
		return nil, fmt.Errorf("oauth: the key must be %d bytes, not %d", keySize, len(secret))
	}
	// Separate the sealing key from the stored secret, so the stored bytes are never used directly.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("tether oauth sealing key v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{aead: aead}, nil
}

// errSealed is returned for anything that does not open: forged, altered, truncated, or sealed for another
// purpose.
var errSealed = errors.New("not issued by this operator, or altered")

// seal encrypts v for purpose (the purpose is authenticated, so a link never opens as a state).
func (k *Keys) seal(purpose string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := k.aead.Seal(nonce, nonce, plain, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// open decrypts what seal produced for purpose into v.
func (k *Keys) open(purpose, sealed string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < k.aead.NonceSize() {
		return errSealed
	}
	nonce, body := raw[:k.aead.NonceSize()], raw[k.aead.NonceSize():]
	plain, err := k.aead.Open(nil, nonce, body, []byte(purpose))
	if err != nil {
		return errSealed
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return errSealed
	}
	return nil
}

// LoadOrCreateKey returns the manager's key from the Secret at key, creating the Secret with a random key
// when it does not exist. Every replica reads the same Secret, so they all open each other's links.
func LoadOrCreateKey(ctx context.Context, c client.Client, key types.NamespacedName) ([]byte, error) {
	for attempt := 0; attempt < 3; attempt++ {
		s := &corev1.Secret{}
		err := c.Get(ctx, key, s)
		if err == nil {
			if len(s.Data[keySecretKey]) != keySize {
				return nil, fmt.Errorf("oauth: Secret %s has no %d-byte %q key; delete it and the operator makes a new one", key, keySize, keySecretKey)
			}
			return s.Data[keySecretKey], nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("oauth: read the key Secret %s: %w", key, err)
		}
		secret := make([]byte, keySize)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace, Labels: map[string]string{
				LabelManagedBy: ManagedBy, LabelPurpose: PurposeStateKey}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{keySecretKey: secret},
		}
		err = c.Create(ctx, s)
		if err == nil {
			return secret, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("oauth: create the key Secret %s: %w", key, err)
		}
		// Another replica created it first: read theirs.
	}
	return nil, fmt.Errorf("oauth: could not read or create the key Secret %s", key)
}
