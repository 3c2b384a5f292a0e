package script

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// Test secrets. Tests check that none of these bytes reach an output.
var testSecrets = map[string]string{
	"app_secret": "S3cr3t-AppSecret-value",
	"aes_key":    "0123456789abcdef0123456789abcdef",
	"aes_iv":     "fedcba9876543210",
	"other":      "another-secret-0",
	"aws_secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", // the AWS SigV4 test suite's
	"k2":         "a second AES key",
	"tc3_key":    "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
	"acs_secret": "testSecretAcs3Example",
	"ali_secret": "testsecretAliyunRpc",
	"amap_key":   "amapPrivateKey0042",
	"baidu_sk":   "baiduSkExample7788",
}

// fakeKeys is an in-memory signer.Keys over testSecrets and one RSA key "private_key".
type fakeKeys struct{}

var testRSA = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func (k *fakeKeys) Secret(_ context.Context, x *signer.Exchange, name string) (secret.Value, error) {
	v, ok := testSecrets[name]
	if !ok {
		return secret.Value{}, errors.New("no secret " + name)
	}
	x.Used = append(x.Used, signer.KeyUse{Name: name})
	return secret.FromString(v), nil
}

func (k *fakeKeys) HMAC(ctx context.Context, x *signer.Exchange, name, hashName string, data []byte) ([]byte, error) {
	v, err := k.Secret(ctx, x, name)
	if err != nil {
		return nil, err
	}
	h := map[string]func() hash.Hash{"sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}[hashName]
	m := hmac.New(h, v.Reveal())
	m.Write(data)
	return m.Sum(nil), nil
}

func (k *fakeKeys) Sign(_ context.Context, _ *signer.Exchange, name, hashName string, data []byte) ([]byte, error) {
	if name != "private_key" || hashName != "sha256" {
		return nil, errors.New("unsupported key " + name)
	}
	sum := sha256.Sum256(data)
	return rsa.SignPKCS1v15(nil, testRSA(), crypto.SHA256, sum[:])
}

// fakeTokens is an in-memory signer.TokenSource.
type fakeTokens struct {
	mu     sync.Mutex
	tok    secret.Value
	expiry time.Time
	saves  int
}

func (f *fakeTokens) Token(ctx context.Context) (secret.Value, error) {
	if v, ok := f.Load(ctx); ok {
		return v, nil
	}
	return secret.Value{}, errors.New("no token")
}

func (f *fakeTokens) Load(context.Context) (secret.Value, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tok, !f.tok.IsZero()
}

func (f *fakeTokens) Save(_ context.Context, tok secret.Value, expiry time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tok, f.expiry = tok, expiry
	f.saves++
	return nil
}

func (f *fakeTokens) Invalidate(context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tok = secret.Value{}
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }
func (c fixedClock) Nonce() string  { return "a1b2c3d4e5f60718293a4b5c6d7e8f90" }

var pinned = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// testBuild is the provider every test compiles against.
func testBuild(t testing.TB) signer.Build {
	t.Helper()
	refs := map[string]keystore.Ref{}
	for name := range testSecrets {
		r, err := keystore.ParseRef("secret/keygate/demo#" + name)
		if err != nil {
			t.Fatal(err)
		}
		refs[name] = r
	}
	refs["private_key"], _ = keystore.ParseRef("secret/keygate/demo#private_key")
	up, _ := url.Parse("https://pay.example.com/v1")
	return signer.Build{Provider: "demo", Path: "providers[0].script", Secrets: refs,
		Vars: map[string]string{"app_key": "demo-app"}, Upstream: up}
}

func compileInline(t testing.TB, src string, opts Options) *Step {
	t.Helper()
	s, err := Compile(config.Script{Inline: src}, testBuild(t), opts)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return s
}

func newExchange(path string, body string, tokens signer.TokenSource) *signer.Exchange {
	return &signer.Exchange{
		Tenant: "t", Provider: "demo",
		Request: signer.NewRequest("POST", "https", "pay.example.com", path, http.Header{}, []byte(body)),
		Keys:    &fakeKeys{}, Tokens: tokens, Clock: fixedClock{pinned},
	}
}

// leaks reports whether any test secret appears in b, raw, hex or base64 encoded.
func leaks(b []byte) bool {
	for _, v := range testSecrets {
		for _, enc := range encodings(v) {
			if bytes.Contains(b, []byte(enc)) {
				return true
			}
		}
	}
	return false
}

// captureLog returns a logger writing to a buffer, at debug level.
func captureLog() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func encodings(v string) []string {
	return []string{v, hexString(v), b64(v), b64url(v)}
}
