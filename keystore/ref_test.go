package keystore_test

import (
	"path"
	"strings"
	"testing"

	"github.com/keygate/keygate/keystore"
)

func TestParseRefAccepts(t *testing.T) {
	for _, s := range []string{
		"secret/keygate/demo#app_secret",
		"secret/keygate/tenants/alpha/pay#value@3",
		"kv/a.b/c-d/e_f#F.1",
		"transit:transit/demo-hmac",
	} {
		r, err := keystore.ParseRef(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if r.String() != s {
			t.Fatalf("%s: round trip gave %s", s, r.String())
		}
		if err := r.Canonical(); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestParseRefRefusesNonCanonical: every form another parser (Vault's client joins and cleans
// paths; Vault and proxies decode escapes) could read differently is refused, with the rule.
func TestParseRefRefusesNonCanonical(t *testing.T) {
	cases := map[string]string{
		"secret/keygate/tenants/alpha/../beta/x#api_key": "dot segments",
		"secret/keygate/tenants/alpha/./x#k":             "dot segments",
		"secret/../secret/keygate/x#k":                   "dot segments",
		"../secret/keygate/x#k":                          "dot segments",
		"secret/keygate/x/..#k":                          "dot segments",
		"secret/keygate//x#k":                            "empty",
		"/secret/keygate/x#k":                            "empty",
		"secret/keygate/x/#k":                            "empty",
		"secret/keygate/%2e%2e/x#k":                      "percent",
		"secret/keygate/alpha%2f..%2fbeta#k":             "percent",
		"secret/keygate\\..\\beta#k":                     "backslash",
		"secret/keygate/x\x00#k":                         "control",
		"secret/keygate/x\n#k":                           "control",
		"secret/keygate/x#k\r":                           "control",
		"secret/keygate/x y#k":                           "only A-Z",
		"secret/keygate/x?version=1#k":                   "only A-Z",
		"secret/keygate/x;y#k":                           "only A-Z",
		"secret/keygate/\u0430lpha#k":                    "non-ASCII",
		"secret/keygate/x#..":                            "dot segments",
		"secret/keygate/x#a/b":                           "only A-Z",
		"secret/keygate/x#k@0":                           "positive integer",
		"secret/keygate/x#k@01":                          "positive integer",
		"secret/keygate/x#k@+1":                          "positive integer",
		"secret#k":                                       "want MOUNT/PATH#FIELD",
		"secret/x":                                       "want MOUNT/PATH#FIELD",
		"transit:transit/../k":                           "no '/'",
		"transit:../k":                                   "dot segments",
		"transit:transit/%2e%2e":                         "percent",
		"transit:transit/..":                             "dot segments",
		"transit:transit/k\\x":                           "backslash",
		"transit:/k":                                     "mount is empty",
		"transit:t/":                                     "key is empty",
		"secret/" + strings.Repeat("a", 129) + "#k":      "longer than",
	}
	for s, rule := range cases {
		_, err := keystore.ParseRef(s)
		if err == nil {
			t.Errorf("%q: accepted", s)
			continue
		}
		if !strings.Contains(err.Error(), rule) {
			t.Errorf("%q: error %q does not name the rule (%s)", s, err, rule)
		}
	}
}

// TestCanonicalRefusesAssembledRefs: a Ref built in code, not parsed, does not reach Vault
// with a segment Vault's client would clean.
func TestCanonicalRefusesAssembledRefs(t *testing.T) {
	for _, r := range []keystore.Ref{
		{Kind: keystore.KV, Mount: "secret", Path: "keygate/tenants/alpha/../beta/x", Field: "k"},
		{Kind: keystore.KV, Mount: "secret", Path: "a#b", Field: "k"},
		{Kind: keystore.Transit, Mount: "transit", Path: "a/b"},
		{Kind: keystore.KV, Mount: "secret", Path: "x", Field: "k", Version: -1},
	} {
		if err := r.Canonical(); err == nil {
			t.Errorf("%+v: accepted", r)
		}
	}
}

func TestRefUnder(t *testing.T) {
	r, _ := keystore.ParseRef("secret/keygate/tenants/alpha/pay#value")
	for prefix, want := range map[string]bool{
		"keygate/tenants/alpha": true, "keygate/tenants/alpha/": true, "keygate/tenants/al": false,
		"keygate/tenants/alpha/pay": false, "keygate/tenants/beta": false,
	} {
		if got := r.Under("secret", prefix); got != want {
			t.Errorf("Under(secret, %q) = %v, want %v", prefix, got, want)
		}
	}
	if r.Under("kv", "keygate/tenants/alpha") {
		t.Error("another mount is not under the prefix")
	}
}

// FuzzParseRef: whatever the text, a reference ParseRef accepts is canonical: it prints back
// to the same text, the path Vault's client would build from it is already clean (path.Clean
// changes nothing, so Vault resolves exactly the text keygate checked), and it holds no byte
// outside the plain-name alphabet.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"secret/keygate/demo#app_secret", "secret/keygate/tenants/alpha/../beta/x#api_key",
		"transit:transit/demo-hmac", "secret/a/%2e%2e/b#k@2", "secret//a#k", "a/b#c@1", "transit:a/..",
		"secret/a\\b#k", "secret/a/.#k",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := keystore.ParseRef(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("%q parsed to %+v, which prints as %q", s, r, r.String())
		}
		if err := r.Canonical(); err != nil {
			t.Fatalf("%q: accepted but not canonical: %v", s, err)
		}
		p := r.Mount + "/" + r.Path
		if path.Clean("/"+p) != "/"+p {
			t.Fatalf("%q: Vault's client would clean %q to %q", s, p, path.Clean("/"+p))
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("%q: segment %q", s, seg)
			}
		}
		if strings.Trim(p+r.Field, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") != "" {
			t.Fatalf("%q: a byte outside the plain-name alphabet", s)
		}
	})
}

// TestRefAcceptsEveryAllowedCharacterAtTheEdges: the first and last letters and digits of each
// allowed range are plain names ("z", "A", "Z", "0", "9"), and a refused segment is named by
// its position.
func TestRefAcceptsEveryAllowedCharacterAtTheEdges(t *testing.T) {
	for _, s := range []string{"secret/z/Z#A", "secret/Az09-_.x#zZ", "secret/a/b/c9#Z0"} {
		if r, err := keystore.ParseRef(s); err != nil || r.String() != s {
			t.Errorf("%s: %v", s, err)
		}
	}
	_, err := keystore.ParseRef("secret/a/b c#k")
	if err == nil || !strings.Contains(err.Error(), "path segment 2") {
		t.Errorf("a space in the second path segment: %v, want an error naming path segment 2", err)
	}
}
