package signer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
)

func TestRFC9421Ed25519AndDigest(t *testing.T) {
	key := testKeys()["ed25519"]
	secrets := map[string]string{"ed": "secret/p#ed"}
	store := &memStore{vals: map[string]string{"secret/p#ed": pemOf(t, key, "pkcs8")}}
	r := jsonRequest(`{"hello": "world"}`)
	step := mustStep(t, "rfc9421", "{key: ed, alg: ed25519, key_id: k1, include_alg: true, nonce: true, add_content_digest: sha-256, components: ['@method', '@target-uri', '@query', content-digest]}", secrets, nil)
	if err := step.SignRequest(context.Background(), exchange(t, store, secrets, r)); err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Get("Content-Digest"); got != "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:" {
		t.Fatalf("Content-Digest %s", got) // RFC 9530 section 2's example body
	}
	params := `("@method" "@target-uri" "@query" "content-digest");created=1704164645;keyid="k1";alg="ed25519";nonce="n0nce"`
	if got := r.Header.Get("Signature-Input"); got != "sig1="+params {
		t.Fatalf("Signature-Input %s", got)
	}
	base := "\"@method\": POST\n\"@target-uri\": https://api.example.com/v1/pay?b=2&a=1\n\"@query\": ?b=2&a=1\n" +
		"\"content-digest\": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\n\"@signature-params\": " + params
	sig, _ := base64.StdEncoding.DecodeString(strings.Trim(strings.TrimPrefix(r.Header.Get("Signature"), "sig1="), ":"))
	if !ed25519.Verify(key.Public().(ed25519.PublicKey), []byte(base), sig) {
		t.Fatal("signature does not verify over the expected base")
	}
	missing := mustStep(t, "rfc9421", "{key: ed, alg: ed25519, components: [date]}", secrets, nil)
	wantKind(t, missing.SignRequest(context.Background(), exchange(t, store, secrets, jsonRequest(`{}`))), failure.BadRequest, "sign")
}

type fakeTokens struct {
	tok secret.Value
	err error
}

func (f *fakeTokens) Token(context.Context) (secret.Value, error)         { return f.tok, f.err }
func (f *fakeTokens) Load(context.Context) (secret.Value, bool)           { return f.tok, true }
func (f *fakeTokens) Save(context.Context, secret.Value, time.Time) error { return nil }
func (f *fakeTokens) Invalidate(context.Context)                          {}

func TestTokenScheme(t *testing.T) {
	tests := []struct {
		name, params, header, want string
		src                        TokenSource
		kind                       failure.Kind
	}{
		{"default bearer", "{}", "Authorization", "Bearer abc", &fakeTokens{tok: secret.FromString("abc")}, 0},
		{"own header, no prefix", "{header: X-Token, prefix: ''}", "X-Token", "abc", &fakeTokens{tok: secret.FromString("abc")}, 0},
		{"token endpoint down", "{}", "", "", &fakeTokens{err: failure.New(failure.Unavailable, "token", "endpoint 500")}, failure.Unavailable},
		{"line break in token", "{}", "", "", &fakeTokens{tok: secret.FromString("a\r\nb")}, failure.BadGateway},
		{"no source at run time", "{}", "", "", nil, failure.Internal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := jsonRequest(`{}`)
			x := exchange(t, &memStore{}, nil, r)
			if tc.src != nil {
				x.Tokens = tc.src
			}
			err := mustStep(t, "token", tc.params, nil, map[string]string{"__token": "1"}).SignRequest(context.Background(), x)
			if tc.want == "" {
				wantKind(t, err, tc.kind, "token")
				return
			}
			if err != nil || r.Header.Get(tc.header) != tc.want {
				t.Fatalf("%v, header %q", err, r.Header.Get(tc.header))
			}
		})
	}
}

func TestWriteHTTP1Golden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(exampleVectors, "rfc9421-b25.http"))
	if err != nil {
		t.Fatal(err)
	}
	r := parseRaw(t, raw)
	r.Header.Add("X-B", "2")
	r.Header.Add("X-B", "1")
	var out bytes.Buffer
	if err := r.WriteHTTP1(&out); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "rfc9421-b25.out.http")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		_ = os.MkdirAll("testdata", 0o755)
		_ = os.WriteFile(golden, out.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("got\n%s\nwant\n%s", out.Bytes(), want)
	}
	again := parseRaw(t, out.Bytes()) // the output is itself a valid request
	if again.Authority != "example.com" || string(again.Body()) != `{"hello": "world"}` || again.Path != "/foo?param=Value&Pet=dog" {
		t.Fatalf("round trip: %+v", again)
	}
	if _, ok := r.Header["Content-Length"]; ok {
		t.Fatal("Content-Length kept among headers")
	}
}
