package oauth

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestExpiredLinksAndStates: a connect link past its hour and a flow past its ten minutes are refused with a
// page that says what to do, before anything is looked up or written.
func TestExpiredLinksAndStates(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s := &Server{ExternalURL: "http://127.0.0.1/tether", Keys: testKeys(t), Now: func() time.Time { return now }}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: missing the no-referrer and no-store headers", path)
		}
		return resp.StatusCode, string(b)
	}

	l := link{Namespace: "shop", Name: "acme", UID: "u1", Generation: 1, Expires: now.Add(-time.Second).Unix()}
	sealedLink, _ := s.Keys.seal(purposeLink, l)
	if status, page := get("/tether/oauth/connect?t=" + sealedLink); status != http.StatusGone || !strings.Contains(page, "has expired") {
		t.Fatalf("expired link: HTTP %d: %s", status, page)
	}

	st := state{link: l, Platform: "Shopify", Nonce: "n1"}
	st.Expires = now.Add(-time.Second).Unix()
	sealedState, _ := s.Keys.seal(purposeState, st)
	if status, page := get("/tether/oauth/callback?code=c&state=" + sealedState); status != http.StatusGone || !strings.Contains(page, "took longer than") {
		t.Fatalf("expired state: HTTP %d: %s", status, page)
	}
	// A link does not open as a state, nor a state as a link.
	if status, _ := get("/tether/oauth/callback?code=c&state=" + sealedLink); status != http.StatusBadRequest {
		t.Fatalf("a link used as a state: HTTP %d", status)
	}
	if status, _ := get("/tether/oauth/connect?t=" + sealedState); status != http.StatusBadRequest {
		t.Fatalf("a state used as a link: HTTP %d", status)
	}
}
