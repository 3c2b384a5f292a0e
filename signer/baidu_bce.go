package signer

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// baiduBCEParams configure Baidu AI Cloud's bce-auth-v1. The signing key is derived from the
// secret access key by an HMAC, so the key must be KV.
type baiduBCEParams struct {
	AccessKeyID     textParam `json:"access_key_id"`     // literal, var:NAME or secret:NAME
	SecretAccessKey string    `json:"secret_access_key"` // secret name (KV)
	SecurityToken   string    `json:"security_token"`    // optional secret name -> x-bce-security-token (STS)
	Expiration      int       `json:"expiration"`        // seconds the signature is valid, default 1800
	// OmitSignedHeaders leaves the signed header list out of the Authorization value: BCE then
	// checks its default set (host, content-length, content-type, content-md5, x-bce-*), the
	// form of Baidu's published example. It cannot be combined with signed_headers.
	OmitSignedHeaders bool     `json:"omit_signed_headers"`
	SignedHeaders     []string `json:"signed_headers"`
}

type baiduBCEStep struct {
	p      baiduBCEParams
	id     plainValue
	picker headerPicker
}

var _ Step = (*baiduBCEStep)(nil)

func newBaiduBCE(b Build) (Step, error) {
	var p baiduBCEParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	id, err := accessKey{idParam: "access_key_id", secretParam: "secret_access_key", tokenParam: "security_token", derived: true,
		id: p.AccessKeyID, secret: p.SecretAccessKey, token: p.SecurityToken}.build(b)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Expiration == 0:
		p.Expiration = 1800
	case p.Expiration < 0 || p.Expiration > 7*24*3600:
		return nil, paramError(b, "expiration", "%d is not between 1 and 604800 seconds", p.Expiration)
	}
	if p.OmitSignedHeaders && len(p.SignedHeaders) > 0 {
		return nil, paramError(b, "signed_headers", "cannot be used with omit_signed_headers (BCE then checks only its default set)")
	}
	if err := checkSignedHeaders(b, p.SignedHeaders); err != nil {
		return nil, err
	}
	return &baiduBCEStep{p: p, id: id,
		picker: newHeaderPicker([]string{"content-type", "content-md5"}, []string{"x-bce-"}, p.SignedHeaders)}, nil
}

func (s *baiduBCEStep) Needs() Needs { return Needs{RequestBody: true} }

func (s *baiduBCEStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	date := x.Clock.Now().UTC().Format("2006-01-02T15:04:05Z")
	r.Header.Set("X-Bce-Date", date)
	if err := setSessionToken(ctx, x, s.p.SecurityToken, "X-Bce-Security-Token"); err != nil {
		return err
	}
	uri, err := rfc3986Path(r)
	if err != nil {
		return err
	}
	query, err := bceCanonicalQuery(r.RawQuery())
	if err != nil {
		return err
	}
	names, values, err := s.picker.collect(r)
	if err != nil {
		return err
	}
	// Content-Length is BCE's default signed header; keygate signs the length of the body it
	// sends (Envoy sets the header from that body), as the request line printer does.
	if body := r.Body(); len(body) > 0 || r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		names = append(names, "content-length")
		values["content-length"] = strconv.Itoa(len(body))
		sort.Strings(names)
	}
	lines := make([]string, len(names))
	for i, n := range names {
		lines[i] = URIEncode(n, true) + ":" + URIEncode(values[n], true)
	}
	sort.Strings(lines)
	creq := r.Method + "\n" + uri + "\n" + query + "\n" + strings.Join(lines, "\n")

	id, err := s.id.resolve(ctx, x)
	if err != nil {
		return err
	}
	prefix := "bce-auth-v1/" + id + "/" + date + "/" + strconv.Itoa(s.p.Expiration)
	sk, err := x.Keys.Secret(ctx, x, s.p.SecretAccessKey)
	if err != nil {
		return err
	}
	// The signing key is the hex text of the first HMAC, used as bytes.
	sig := hmacHex(deriveHMACHex(sk, prefix), creq)
	signed := strings.Join(names, ";")
	if s.p.OmitSignedHeaders {
		signed = ""
	}
	return setHeader(r, "Authorization", prefix+"/"+signed+"/"+sig)
}

// bceCanonicalQuery: every pair but "authorization", key and value RFC 3986-encoded ("k=" for
// an empty value), sorted as "k=v" strings.
func bceCanonicalQuery(raw string) (string, error) {
	pairs, err := queryPairs(raw)
	if err != nil {
		return "", err
	}
	items := make([]string, 0, len(pairs))
	for _, p := range pairs {
		if strings.EqualFold(p[0], "authorization") {
			continue
		}
		items = append(items, URIEncode(p[0], true)+"="+URIEncode(p[1], true))
	}
	sort.Strings(items)
	return strings.Join(items, "&"), nil
}
