package signer

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/keystore"
)

// memStore is an in-memory keystore.Getter: reference text (unversioned) -> value.
type memStore struct {
	vals    map[string]string
	version int
	gets    int
}

func (m *memStore) Get(_ context.Context, ref keystore.Ref) (keystore.Secret, error) {
	m.gets++
	v, ok := m.vals[ref.Unversioned().String()]
	if !ok {
		return keystore.Secret{}, &failure.Error{Kind: failure.Unavailable, Stage: "keystore", Msg: ref.String(), Err: keystore.ErrNotFound}
	}
	return keystore.Secret{Value: secret.FromString(v), Version: m.version}, nil
}

// transitStore adds Transit: keys by "mount/key", computed locally, and counts calls.
type transitStore struct {
	memStore
	hmacKeys map[string][]byte
	rsaKeys  map[string]*rsa.PrivateKey
	calls    int
}

func (t *transitStore) HMAC(_ context.Context, ref keystore.Ref, alg string, data []byte) ([]byte, error) {
	t.calls++
	if alg != "sha2-256" {
		return nil, failure.New(failure.Internal, "keystore", "alg %s", alg)
	}
	m := hmac.New(hashes["sha256"].new, t.hmacKeys[ref.Mount+"/"+ref.Path])
	m.Write(data)
	return m.Sum(nil), nil
}

func (t *transitStore) Sign(_ context.Context, ref keystore.Ref, alg string, data []byte) ([]byte, error) {
	t.calls++
	return signLocal(t.rsaKeys[ref.Mount+"/"+ref.Path], "sha256", data, ref)
}

// refsOf parses name -> reference text.
func refsOf(t testing.TB, m map[string]string) map[string]keystore.Ref {
	t.Helper()
	out := map[string]keystore.Ref{}
	for name, text := range m {
		r, err := keystore.ParseRef(text)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = r
	}
	return out
}

// buildStep compiles scheme with YAML params against secrets (name -> reference text).
func buildStep(t testing.TB, scheme, params string, secrets, vars map[string]string) (Step, error) {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(params))
	if err != nil {
		t.Fatal(err)
	}
	if string(js) == "null" {
		js = []byte("{}")
	}
	b := Build{Provider: "p", Path: "providers[0].signing[0]", Params: json.RawMessage(js),
		Secrets: refsOf(t, secrets), Vars: vars, HasToken: vars["__token"] != ""}
	return Builtins()[scheme](b)
}

func mustStep(t testing.TB, scheme, params string, secrets, vars map[string]string) Step {
	t.Helper()
	s, err := buildStep(t, scheme, params, secrets, vars)
	if err != nil {
		t.Fatalf("build %s: %v", scheme, err)
	}
	return s
}

var pinned = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// exchange makes an Exchange over store for secrets, with a pinned clock.
func exchange(t testing.TB, store keystore.Getter, secrets map[string]string, r *Request) *Exchange {
	return &Exchange{Provider: "p", Request: r, Keys: NewKeys(store, refsOf(t, secrets)),
		Clock: FixedClock(pinned, "n0nce")}
}

func jsonRequest(body string) *Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return NewRequest("POST", "https", "api.example.com", "/v1/pay?b=2&a=1", h, []byte(body))
}

// wantKind checks err is a *failure.Error of kind (and stage, if given).
func wantKind(t *testing.T, err error, kind failure.Kind, stage string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error, got nil", kind)
	}
	if failure.KindOf(err) != kind {
		t.Fatalf("kind %s, want %s (err: %v)", failure.KindOf(err), kind, err)
	}
	if stage != "" && failure.StageOf(err) != stage {
		t.Fatalf("stage %q, want %q (err: %v)", failure.StageOf(err), stage, err)
	}
}
