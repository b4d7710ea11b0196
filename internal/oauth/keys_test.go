package oauth

import (
	"crypto/rand"
	"strings"
	"testing"
)

func testKeys(t *testing.T) *Keys {
	t.Helper()
	secret := make([]byte, keySize)
	_, _ = rand.Read(secret)
	k, err := NewKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSealedStates: a state opens only with the key that sealed it and only for its purpose; any change to
// it is detected; the PKCE verifier inside cannot be read from the sealed form.
func TestSealedStates(t *testing.T) {
	k := testKeys(t)
	st := state{link: link{Namespace: "shop", Name: "acme", UID: "u1", Generation: 3, Expires: 99}, Nonce: "n1", Verifier: "verifier-that-must-stay-secret"}
	sealed, err := k.seal(purposeState, st)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "verifier") {
		t.Fatal("the sealed state shows the verifier")
	}
	var got state
	if err := k.open(purposeState, sealed, &got); err != nil || got != st {
		t.Fatalf("open: %v, %+v", err, got)
	}
	if err := k.open(purposeLink, sealed, &got); err == nil {
		t.Fatal("a state opened as a connect link")
	}
	if err := testKeys(t).open(purposeState, sealed, &got); err == nil {
		t.Fatal("a state opened with another operator's key")
	}
	for i := 0; i < len(sealed); i += 7 {
		b := []byte(sealed)
		b[i] ^= 0x01
		if err := k.open(purposeState, string(b), &got); err == nil {
			t.Fatalf("a state altered at byte %d opened", i)
		}
	}
	if err := k.open(purposeState, sealed[:len(sealed)-4], &got); err == nil {
		t.Fatal("a truncated state opened")
	}
	if _, err := NewKeys([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
}
