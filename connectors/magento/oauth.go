package magento

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// OAuth 1.0a (RFC 5849) request signing, as Magento integrations use it since 2.4.4 disabled integration
// access tokens as bearer tokens by default. Magento accepts HMAC-SHA1 and HMAC-SHA256; the connector signs
// with HMAC-SHA256.

const (
	sigHMACSHA256 = "HMAC-SHA256"
	sigHMACSHA1   = "HMAC-SHA1"
)

// oauthCredentials are an integration's four OAuth values.
type oauthCredentials struct {
	consumerKey, consumerSecret, token, tokenSecret string
}

// oauthEncode percent-encodes s as RFC 5849 section 3.6 requires: every byte except the unreserved
// characters A-Z a-z 0-9 - . _ ~ becomes %XX with upper-case hex.
func oauthEncode(s string) string {
	var b strings.Builder
	b.Grow(len(s) * 3 / 2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

// baseStringURI is the request URL without query or fragment, scheme and host lower-cased and the default
// port left out (RFC 5849 section 3.4.1.2).
func baseStringURI(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if port := u.Port(); port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// signatureBaseString builds the string that is signed: the method, the base URI and the normalized
// parameters (the query's and the oauth_* protocol parameters except oauth_signature), each encoded and
// sorted by name then value (RFC 5849 section 3.4.1).
func signatureBaseString(method string, u *url.URL, oauthParams map[string]string) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range u.Query() {
		for _, v := range vs {
			pairs = append(pairs, pair{oauthEncode(k), oauthEncode(v)})
		}
	}
	for k, v := range oauthParams {
		if k == "oauth_signature" || k == "realm" {
			continue
		}
		pairs = append(pairs, pair{oauthEncode(k), oauthEncode(v)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.ToUpper(method) + "&" + oauthEncode(baseStringURI(u)) + "&" + oauthEncode(strings.Join(parts, "&"))
}

// oauthSignature signs a base string with the consumer and token secrets.
func oauthSignature(method, base, consumerSecret, tokenSecret string) (string, error) {
	var h func() hash.Hash
	switch method {
	case sigHMACSHA256:
		h = sha256.New
	case sigHMACSHA1:
		h = sha1.New
	default:
		return "", fmt.Errorf("unsupported oauth_signature_method %q", method)
	}
	mac := hmac.New(h, []byte(oauthEncode(consumerSecret)+"&"+oauthEncode(tokenSecret)))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// authorizationHeader returns the OAuth Authorization header value for a request with the given nonce and
// time.
func (o oauthCredentials) authorizationHeader(method string, u *url.URL, nonce string, now time.Time) string {
	params := map[string]string{
		"oauth_consumer_key":     o.consumerKey,
		"oauth_token":            o.token,
		"oauth_signature_method": sigHMACSHA256,
		"oauth_timestamp":        strconv.FormatInt(now.Unix(), 10),
		"oauth_nonce":            nonce,
		"oauth_version":          "1.0",
	}
	// HMAC-SHA256 is always supported, so signing cannot fail.
	sig, _ := oauthSignature(sigHMACSHA256, signatureBaseString(method, u, params), o.consumerSecret, o.tokenSecret)
	params["oauth_signature"] = sig
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = oauthEncode(k) + `="` + oauthEncode(params[k]) + `"`
	}
	return "OAuth " + strings.Join(parts, ", ")
}

// newNonce returns a random nonce; Magento rejects a nonce it has seen with the same timestamp.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// parseOAuthHeader reads the parameters of an `Authorization: OAuth k="v", ...` header.
func parseOAuthHeader(h string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(h, "OAuth ")
	if !ok {
		return nil, false
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, false
		}
		v = strings.Trim(v, `"`)
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, false
		}
		params[dk] = dv
	}
	return params, true
}
