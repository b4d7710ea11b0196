package woocommerce

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// OAuth 1.0a one-legged signing, the way WooCommerce verifies it over plain HTTP
// (WC_REST_Authentication::check_oauth_signature): the signature base string is
// METHOD&encode(scheme://host/path)&encode(sorted k=v pairs joined by &), keyed with consumerSecret + "&" (there
// is no token secret), and the parameters travel in the query string.
const (
	oauthSHA256 = "HMAC-SHA256"
	oauthSHA1   = "HMAC-SHA1"
)

// percentEncode is RFC 3986 percent-encoding: every byte but the unreserved ALPHA, DIGIT, '-', '.', '_', '~'.
func percentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// signatureBase builds the OAuth signature base string of a request. params are every query parameter but
// oauth_signature. baseURL is scheme://host[:port]/path without the query.
func signatureBase(method, baseURL string, params url.Values) string {
	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(params))
	for k, vs := range params {
		for _, v := range vs {
			pairs = append(pairs, kv{percentEncode(k), percentEncode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	joined := make([]string, len(pairs))
	for i, p := range pairs {
		joined[i] = p.k + "=" + p.v
	}
	return strings.ToUpper(method) + "&" + percentEncode(baseURL) + "&" + percentEncode(strings.Join(joined, "&"))
}

// oauthSignature is the base64 HMAC of the base string keyed with the consumer secret.
func oauthSignature(signatureMethod, consumerSecret, base string) (string, bool) {
	var h func() hash.Hash
	switch signatureMethod {
	case oauthSHA256:
		h = sha256.New
	case oauthSHA1:
		h = sha1.New
	default:
		return "", false
	}
	mac := hmac.New(h, []byte(consumerSecret+"&"))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), true
}

// signURL adds the OAuth 1.0a parameters and the HMAC-SHA256 signature to u's query. Every attempt of a request
// must be signed again: WooCommerce refuses a nonce it has seen in the last 15 minutes.
func signURL(method string, u *url.URL, consumerKey, consumerSecret string, now time.Time) {
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "oauth_") {
			q.Del(k)
		}
	}
	q.Set("oauth_consumer_key", consumerKey)
	q.Set("oauth_nonce", nonce())
	q.Set("oauth_signature_method", oauthSHA256)
	q.Set("oauth_timestamp", strconv.FormatInt(now.Unix(), 10))
	base := signatureBase(method, baseURLOf(u), q)
	sig, _ := oauthSignature(oauthSHA256, consumerSecret, base)
	q.Set("oauth_signature", sig)
	u.RawQuery = q.Encode()
}

// baseURLOf is the URL the signature covers: scheme, host (with a non-default port) and path.
func baseURLOf(u *url.URL) string {
	host := strings.ToLower(u.Host)
	switch {
	case u.Scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	case u.Scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return strings.ToLower(u.Scheme) + "://" + host + path
}

func nonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
