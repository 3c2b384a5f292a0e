package tenancy

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
)

type issued struct {
	key  secret.Value
	hash string
}

func issue(t *testing.T) issued {
	t.Helper()
	k, h, err := IssueCredential()
	if err != nil {
		t.Fatal(err)
	}
	return issued{k, h}
}

func testDirectory(t *testing.T) (*Directory, issued, issued) {
	t.Helper()
	a, b := issue(t), issue(t)
	d, err := Compile([]config.Tenant{
		{Name: "acme", Credentials: []config.TenantCredential{{ID: "k1", Hash: a.hash}}, SPIFFEIDs: []string{"spiffe://mesh/acme/api"}},
		{Name: "globex", Credentials: []config.TenantCredential{{ID: "k1", Hash: b.hash}}, SPIFFEIDs: []string{"spiffe://mesh/globex/api"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d, a, b
}

func TestAuthenticate(t *testing.T) {
	d, a, b := testDirectory(t)
	cases := []struct {
		name, cred, spiffe, want string
		status                   int
	}{
		{"acme key", string(a.key.Reveal()), "", "acme", 0},
		{"globex key", string(b.key.Reveal()), "", "globex", 0},
		{"acme spiffe", "", "spiffe://mesh/acme/api", "acme", 0},
		{"key and matching spiffe", string(a.key.Reveal()), "spiffe://mesh/acme/api", "acme", 0},
		{"key and unknown spiffe", string(a.key.Reveal()), "spiffe://other/x", "acme", 0},
		{"key and other tenant's spiffe", string(a.key.Reveal()), "spiffe://mesh/globex/api", "", 401},
		{"missing", "", "", "", 401},
		{"wrong key", "kg_wrong", "", "", 401},
		{"key with extra byte", string(a.key.Reveal()) + "x", "", "", 401},
		{"unknown spiffe", "", "spiffe://mesh/evil/api", "", 401},
		{"hash presented as key", a.hash, "", "", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := d.Authenticate(c.cred, c.spiffe)
			if c.status != 0 {
				if failure.Status(err) != c.status || failure.StageOf(err) != Stage {
					t.Fatalf("want %d at stage %s, got %v", c.status, Stage, err)
				}
				if c.cred != "" && strings.Contains(err.Error(), c.cred) {
					t.Fatal("error message contains the presented credential")
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestCredentialIsolation: tenant A's AppKey authenticates as A, and A is never authorized for
// B's provider.
func TestCredentialIsolation(t *testing.T) {
	d, a, b := testDirectory(t)
	for _, c := range []struct {
		cred       issued
		own, other string
	}{{a, "acme", "globex"}, {b, "globex", "acme"}} {
		tenant, err := d.Authenticate(string(c.cred.key.Reveal()), "")
		if err != nil || tenant != c.own {
			t.Fatalf("authenticate: %q, %v", tenant, err)
		}
		if err := d.Authorize(tenant, c.own); err != nil {
			t.Fatalf("own provider refused: %v", err)
		}
		err = d.Authorize(tenant, c.other)
		var fe *failure.Error
		if !errors.As(err, &fe) || fe.Kind != failure.Forbidden || failure.Status(err) != http.StatusForbidden {
			t.Fatalf("%s used %s's provider: %v", c.own, c.other, err)
		}
	}
}

func TestCompileErrorsNameField(t *testing.T) {
	a := issue(t)
	cases := []struct {
		name    string
		tenants []config.Tenant
		field   string
	}{
		{"bad hash", []config.Tenant{{Name: "a", Credentials: []config.TenantCredential{{ID: "x", Hash: "md5:00"}}}}, "tenants[0].credentials[0].hash"},
		{"shared hash", []config.Tenant{
			{Name: "a", Credentials: []config.TenantCredential{{ID: "x", Hash: a.hash}}},
			{Name: "b", Credentials: []config.TenantCredential{{ID: "y", Hash: a.hash}}},
		}, "tenants[1].credentials[0].hash"},
		{"shared spiffe", []config.Tenant{
			{Name: "a", SPIFFEIDs: []string{"spiffe://m/x"}}, {Name: "b", SPIFFEIDs: []string{"spiffe://m/x"}},
		}, "tenants[1].spiffe_ids[0]"},
		{"not spiffe", []config.Tenant{{Name: "a", SPIFFEIDs: []string{"https://x"}}}, "tenants[0].spiffe_ids[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.tenants)
			var fe *config.FieldError
			if !errors.As(err, &fe) || fe.Path != c.field {
				t.Fatalf("want a FieldError at %s, got %v", c.field, err)
			}
		})
	}
}

func TestIssueCredential(t *testing.T) {
	k1, h1, err := IssueCredential()
	if err != nil {
		t.Fatal(err)
	}
	k2, h2, _ := IssueCredential()
	raw := string(k1.Reveal())
	if !strings.HasPrefix(raw, AppKeyPrefix) || len(raw) != len(AppKeyPrefix)+43 {
		t.Fatalf("AppKey has the wrong shape (length %d)", len(raw))
	}
	if k1.Equal(k2) || h1 == h2 {
		t.Fatal("two issued AppKeys are equal")
	}
	if HashCredential(k1) != h1 || !strings.HasPrefix(h1, HashPrefix) || strings.Contains(h1, raw) {
		t.Fatal("hash is not sha256 of the AppKey")
	}
}

func TestKeygateHeaders(t *testing.T) {
	names := []string{"Content-Type", "X-Keygate-Tenant-Key", "x-keygate-anything", "x-keygatex", "authorization"}
	var got []string
	for _, n := range names {
		if IsKeygateHeader(n) {
			got = append(got, n)
		}
	}
	if strings.Join(got, ",") != "X-Keygate-Tenant-Key,x-keygate-anything" {
		t.Fatalf("got %v", got)
	}
}

// TestRuleBoundaries: the shortest SPIFFE ID is accepted, and the bare header prefix is
// keygate's (mutants `make mutate` found alive).
func TestRuleBoundaries(t *testing.T) {
	if _, err := Compile([]config.Tenant{{Name: "a", SPIFFEIDs: []string{"spiffe://x"}}}); err != nil {
		t.Errorf("the shortest SPIFFE ID was refused: %v", err)
	}
	if !IsKeygateHeader("X-Keygate-") || IsKeygateHeader("X-Keygate") {
		t.Error("the header prefix boundary is wrong")
	}
}

// TestKeygateHeaderUnderscoreSpellings: Envoy forwards header names with underscores by
// default, and CGI-style servers map "_" and "-" to one name: "x_keygate_callback" must be
// keygate's (refused from a caller), or the service behind the ingress reads it as the
// X-Keygate-Callback that says who verified the callback.
func TestKeygateHeaderUnderscoreSpellings(t *testing.T) {
	for _, n := range []string{"x_keygate_callback", "X_KEYGATE_CALLBACK", "x-keygate_callback", "x_keygate-tenant-key", "X_Keygate_"} {
		if !IsKeygateHeader(n) {
			t.Errorf("%q is not taken as a keygate header", n)
		}
	}
	for _, n := range []string{"x_keygatex", "xx-keygate-a", "x.keygate.a", "x keygate a"} {
		if IsKeygateHeader(n) {
			t.Errorf("%q is taken as a keygate header", n)
		}
	}
}

// TestKeygateHeaderLookAlikes: names whose letters fold onto keygate's under Unicode case
// folding ('K' KELVIN SIGN folds to k) are keygate's too, and never the tenant key: Envoy keeps
// them as sent (it lower-cases ASCII only), so only a refusal keeps them from leaving, and a
// server that folds Unicode would read them as keygate's.
func TestKeygateHeaderLookAlikes(t *testing.T) {
	for _, n := range []string{"x-\u212aeygate-tenant-key", "X-\u212aEYGATE-CALLBACK", "x_\u212aeygate_a", "x-\u212aeygate-"} {
		if !IsKeygateHeader(n) {
			t.Errorf("%q is not taken as a keygate header", n)
		}
		if IsTenantKeyHeader(n) {
			t.Errorf("%q is taken as the tenant key", n)
		}
	}
	for _, n := range []string{"x-k\u00e9ygate-a", "x-\u212a", "\xffx-keygate-", "x-\u212aeygatex", "\u212a-keygate-a"} {
		if IsKeygateHeader(n) {
			t.Errorf("%q is taken as a keygate header", n)
		}
	}
	for n, want := range map[string]bool{"x-keygate-tenant-key": true, "X-KEYGATE-TENANT-KEY": true,
		"x-keygate-tenant-\u212aey": false, "x_keygate_tenant_key": false, "x-keygate-tenant-keys": false} {
		if IsTenantKeyHeader(n) != want {
			t.Errorf("IsTenantKeyHeader(%q) = %v", n, !want)
		}
	}
}
