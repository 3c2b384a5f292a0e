// Package demoprovider is a third-party API that speaks the design article's protocol, for
// `keygate dev`, docker-compose and the end-to-end tests. It verifies requests with its own
// code, independent of keygate's signer, so a passing test means keygate signed what a real
// provider would accept:
//
//   - simple signing: the JSON body carries appKey, data (base64 AES-CBC-PKCS5 of the
//     plaintext) and sign = upper(hex(sha256(sorted "k=v&k=v" of the other non-empty fields +
//     AppSecret)));
//   - two-step verification: POST {prefix}/token with appKey, data (the encrypted
//     {"appKey": ...}), timestamp and sign = upper(hex(sha256("appKey=..&data=..&timestamp=.."))),
//     answered with an access token and its expiry (epoch milliseconds); paths under
//     {prefix}/secure/ then require "Authorization: Bearer <token>" and answer 401 once it expired;
//   - answers are {"code":0,"msg":"ok","data":base64(AES-CBC(json))}.
package demoprovider

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Credentials are the demo merchant's keys; a real provider would issue them.
type Credentials struct {
	AppKey    string
	AppSecret string
	AESKey    []byte // 16, 24 or 32 bytes
	AESIV     []byte // 16 bytes
}

// Options configure the provider.
type Options struct {
	Prefix   string        // path prefix, default "/v1"
	TokenTTL time.Duration // default 10m
	Now      func() time.Time
}

// Stats count what the provider saw; tests read them.
type Stats struct {
	Accepted, Rejected, TokensIssued, Unauthorized atomic.Int64
}

// Provider is an http.Handler.
type Provider struct {
	creds Credentials
	opts  Options
	Stats Stats

	mu     sync.Mutex
	tokens map[string]time.Time // token -> expiry
}

// New builds a provider for creds.
func New(creds Credentials, opts Options) *Provider {
	if opts.Prefix == "" {
		opts.Prefix = "/v1"
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Provider{creds: creds, opts: opts, tokens: map[string]time.Time{}}
}

// ExpireTokens makes every issued token expire now (tests of the 401 path).
func (p *Provider) ExpireTokens() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t := range p.tokens {
		p.tokens[t] = time.Time{}
	}
}

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, p.opts.Prefix+"/") {
		p.reject(w, http.StatusNotFound, 404, "no such API: "+r.Method+" "+r.URL.Path)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		p.reject(w, http.StatusBadRequest, 400, "cannot read body")
		return
	}
	if r.URL.Path == p.opts.Prefix+"/token" {
		p.issueToken(w, body)
		return
	}
	if strings.HasPrefix(r.URL.Path, p.opts.Prefix+"/secure/") && !p.validToken(r.Header.Get("Authorization")) {
		p.Stats.Unauthorized.Add(1)
		p.reject(w, http.StatusUnauthorized, 401, "access token missing, unknown or expired")
		return
	}
	fields, err := p.verifySigned(body, p.creds.AppSecret)
	if err != nil {
		p.reject(w, http.StatusBadRequest, 400, err.Error())
		return
	}
	plain, err := decryptField(p.creds, fields["data"])
	if err != nil {
		p.reject(w, http.StatusBadRequest, 400, "data: "+err.Error())
		return
	}
	p.Stats.Accepted.Add(1)
	answer, _ := json.Marshal(map[string]any{"path": r.URL.Path, "received": plain})
	p.reply(w, http.StatusOK, answer)
}

func (p *Provider) issueToken(w http.ResponseWriter, body []byte) {
	fields, err := p.verifySigned(body, "") // the article signs the token call without the secret
	if err != nil {
		p.reject(w, http.StatusBadRequest, 400, err.Error())
		return
	}
	plain, err := decryptField(p.creds, fields["data"])
	var inner struct {
		AppKey string `json:"appKey"`
	}
	if err != nil || json.Unmarshal([]byte(plain), &inner) != nil || inner.AppKey != p.creds.AppKey {
		p.reject(w, http.StatusBadRequest, 400, "data does not decrypt to this appKey")
		return
	}
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	token := "demo_" + hex.EncodeToString(raw)
	expiry := p.opts.Now().Add(p.opts.TokenTTL)
	p.mu.Lock()
	p.tokens[token] = expiry
	p.mu.Unlock()
	p.Stats.TokensIssued.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "msg": "ok",
		"data": map[string]any{"accessToken": token, "expireTime": expiry.UnixMilli()}})
}

func (p *Provider) validToken(auth string) bool {
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	expiry, ok := p.tokens[token]
	return ok && p.opts.Now().Before(expiry)
}

func (p *Provider) reply(w http.ResponseWriter, status int, plain []byte) {
	enc, err := encryptField(p.creds, plain)
	if err != nil {
		p.reject(w, http.StatusInternalServerError, 500, "cannot encrypt the answer")
		return
	}
	writeJSON(w, status, map[string]any{"code": 0, "msg": "ok", "data": enc})
}

func (p *Provider) reject(w http.ResponseWriter, status, code int, msg string) {
	p.Stats.Rejected.Add(1)
	writeJSON(w, status, map[string]any{"code": code, "msg": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
