package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// markStep is a scheme that writes a header, so tests see which steps ran and in what order.
type markStep struct{ name string }

func (markStep) Needs() signer.Needs { return signer.Needs{} }
func (m markStep) SignRequest(_ context.Context, x *signer.Exchange) error {
	x.Request.Header.Add("X-Steps", m.name)
	return nil
}

func testCompiler() *Compiler {
	return &Compiler{Catalog: signer.Catalog{
		"mark": func(b signer.Build) (signer.Step, error) {
			var p struct {
				Name string `json:"name"`
			}
			if err := config.DecodeParams(b.Params, &p); err != nil {
				return nil, config.Errorf(b.Path, "%v", err)
			}
			return markStep{p.Name}, nil
		},
	}}
}

func compile(t *testing.T, yaml string) (*Snapshot, error) {
	t.Helper()
	f, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return testCompiler().Compile(f, Meta{Pins: map[string]int{"secret/p#k": 7}})
}

func TestCompileErrorsNameTheField(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown scheme", `providers: [{name: a, hosts: [a.local], upstream: {url: "https://a"}, signing: [{scheme: nope}]}]`,
			"providers[0].signing[0].scheme: unknown scheme \"nope\" (known: mark)"},
		{"bad step params", `providers: [{name: a, hosts: [a.local], upstream: {url: "https://a"}, signing: [{scheme: mark, colour: red}]}]`,
			"providers[0].signing[0]"},
		{"script without custom mode", `providers: [{name: a, hosts: [a.local], upstream: {url: "https://a"}, script: {inline: "x"}}]`,
			"providers[0].script: custom mode is not available"},
		{"token without token sources", `providers: [{name: a, hosts: [a.local], upstream: {url: "https://a"}, token: {type: http, url: "https://a/t"}}]`,
			"providers[0].token"},
		{"tenants without tenancy", `tenants: [{name: t}]
providers: [{name: a, tenant: t, hosts: [a.local], upstream: {url: "https://a"}}]`, "tenants: tenancy is not available"},
		{"validation first", `providers: [{name: A, hosts: [], upstream: {url: "ftp://a"}}]`, "providers[0].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compile(t, tt.yaml)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

const twoProviders = `
providers:
  - name: pay
    hosts: [pay.egress.local]
    upstream: {url: "https://api.example:8443/v1/", timeout: 3s}
    secrets: {k: secret/p#k, t: "transit:transit/k"}
    signing: [{scheme: mark, name: one}, {scheme: mark, name: two}]
  - name: maps
    hosts: [maps.egress.local]
    upstream: {url: "http://maps.example"}
`

func TestCompiledProvider(t *testing.T) {
	snap, err := compile(t, twoProviders)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := snap.ProviderByHost("pay.egress.local:10000")
	if !ok || p.Name != "pay" {
		t.Fatalf("host lookup (case and port ignored) found %v", p)
	}
	if p.Upstream.Host != "api.example:8443" || p.Upstream.Path != "/v1" || p.Timeout.String() != "3s" {
		t.Errorf("upstream %s%s timeout %v", p.Upstream.Host, p.Upstream.Path, p.Timeout)
	}
	if got := p.Secrets["k"]; got.Version != 7 {
		t.Errorf("KV reference not pinned: %v", got)
	}
	if got := p.Secrets["t"]; got.Kind != keystore.Transit || got.Version != 0 {
		t.Errorf("transit reference %v", got)
	}
	if m, _ := snap.ProviderByName("maps"); m.Timeout != DefaultTimeout {
		t.Errorf("default route timeout %v", m.Timeout)
	}
	if names := []string{snap.Providers()[0].Name, snap.Providers()[1].Name}; names[0] != "pay" || names[1] != "maps" {
		t.Errorf("Providers() not in config order: %v", names)
	}
}

func TestBeginRewritesAndSigns(t *testing.T) {
	snap, err := compile(t, twoProviders)
	if err != nil {
		t.Fatal(err)
	}
	call, err := snap.Begin(Inbound{
		Method: "POST", Authority: "pay.egress.local", Path: "/charge?x=1", BodySize: 2,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Keygate-Tenant-Key": {"kg_x"}},
	}, signer.SystemClock())
	if err != nil {
		t.Fatal(err)
	}
	if err := call.SignRequest(context.Background(), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	r := call.Exchange.Request
	if r.Authority != "api.example:8443" || r.Path != "/v1/charge?x=1" || r.Scheme != "https" {
		t.Errorf("rewritten to %s://%s%s", r.Scheme, r.Authority, r.Path)
	}
	if got := r.Header.Values("X-Steps"); strings.Join(got, ",") != "one,two" {
		t.Errorf("steps ran as %v, want one,two", got)
	}
	if r.Header.Get("X-Keygate-Tenant-Key") != "" {
		t.Error("keygate's header was not dropped")
	}
}

// TestIdentifyTakesEnvoysRoute: the route Envoy matched names the provider; the host is only
// looked at for routes keygate did not name, with Envoy's rules (numeric port stripped).
func TestIdentifyTakesEnvoysRoute(t *testing.T) {
	snap, err := compile(t, twoProviders)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ route, authority, want string }{
		{"keygate/maps", "pay.egress.local", "maps"},
		{"keygate/pay", "anything", "pay"},
		{"", "Pay.Egress.Local:10000", "pay"},
		{"outbound|80||pay.egress.local", "maps.egress.local", "maps"},
	} {
		p, err := snap.Identify(tt.route, tt.authority)
		if err != nil || p.Name != tt.want {
			t.Errorf("Identify(%q, %q) = %v, %v; want %s", tt.route, tt.authority, p, err, tt.want)
		}
	}
}

func TestBeginRefuses(t *testing.T) {
	snap, err := compile(t, twoProviders)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   Inbound
		kind failure.Kind
	}{
		{"unknown host", Inbound{Authority: "nope.local", Path: "/"}, failure.NotFound},
		{"spoofed header", Inbound{Authority: "pay.egress.local", Path: "/", Header: http.Header{"X-Keygate-Tenant": {"x"}}}, failure.Forbidden},
		{"two tenant keys", Inbound{Authority: "pay.egress.local", Path: "/", Header: http.Header{"X-Keygate-Tenant-Key": {"a", "b"}}}, failure.Unauthenticated},
		{"body too large", Inbound{Authority: "pay.egress.local", Path: "/", BodySize: DefaultMaxBody + 1}, failure.TooLarge},
		{"operator of another tenant", Inbound{Authority: "pay.egress.local", Path: "/", Operator: &OperatorTenant{Tenant: "other"}}, failure.Forbidden},
		// Without Envoy's normalization in front, keygate itself keeps the path under the prefix.
		{"dot segments", Inbound{Authority: "pay.egress.local", Path: "/../../etc/passwd"}, failure.BadRequest},
		{"encoded dot segments", Inbound{Authority: "pay.egress.local", Path: "/%2e%2e/%2e%2e/etc"}, failure.BadRequest},
		{"encoded slashes", Inbound{Authority: "pay.egress.local", Path: "/a/..%2f..%2fetc"}, failure.BadRequest},
		{"empty segment", Inbound{Authority: "pay.egress.local", Path: "//evil.example/x"}, failure.BadRequest},
		{"backslash", Inbound{Authority: "pay.egress.local", Path: "/a\\..\\b"}, failure.BadRequest},
		{"not origin-form", Inbound{Authority: "pay.egress.local", Path: "evil.example/x"}, failure.BadRequest},
		{"non-numeric port is no port", Inbound{Authority: "pay.egress.local:x", Path: "/"}, failure.NotFound},
		{"keygate route naming no provider", Inbound{Route: "keygate/gone", Authority: "pay.egress.local", Path: "/"}, failure.NotFound},
		// The upstream phase's gRPC metadata as an HTTP header: through an upstream that dials
		// keygate's own port (a name resolving to loopback) it would become that metadata.
		{"the upstream phase's marker", Inbound{Authority: "pay.egress.local", Path: "/", Header: http.Header{"X-Keygate-Phase": {"upstream"}}}, failure.Forbidden},
		{"a tenant key with underscores", Inbound{Authority: "pay.egress.local", Path: "/", Header: http.Header{"X_keygate_tenant_key": {"k"}}}, failure.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := snap.Begin(tt.in, signer.SystemClock())
			var fe *failure.Error
			if !errors.As(err, &fe) || fe.Kind != tt.kind {
				t.Fatalf("error = %v, want kind %v", err, tt.kind)
			}
		})
	}
}
