package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/devstack"
)

func hashOf(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

const tenancyConfig = `
keystore: {type: file, file: {path: keys.yaml}}
tenants:
  - name: alpha
    credentials: [{id: alpha-svc, hash: "ALPHA"}]
  - name: beta
    credentials: [{id: beta-svc, hash: "BETA"}]
    spiffe_ids: [spiffe://corp/ns/beta/sa/checkout]
providers:
  - name: pay-alpha
    tenant: alpha
    hosts: [pay-alpha.egress.local]
    upstream: {url: "UPSTREAM/alpha"}
    secrets: {api_key: secret/keygate/static#api_key}
    signing: [{scheme: static, secret: api_key, in: bearer}]
  - name: pay-beta
    tenant: beta
    hosts: [pay-beta.egress.local]
    upstream: {url: "UPSTREAM/beta"}
    secrets: {api_key: secret/keygate/static#app_secret}
    signing: [{scheme: static, secret: api_key, in: bearer}]
`

// TestTenantIsolation: a tenant proves itself on every request, with an AppKey or its mTLS
// identity, and its credential never unlocks another tenant's provider. Refusals are 401/403
// ImmediateResponses: the upstream never sees them.
func TestTenantIsolation(t *testing.T) {
	const alphaKey, betaKey = "kg_alpha_0123456789abcdef", "kg_beta_0123456789abcdef"
	up, seen := captureUpstream(t)
	cfg := strings.NewReplacer("ALPHA", hashOf(alphaKey), "BETA", hashOf(betaKey)).Replace(tenancyConfig)
	s := startStack(t, devstack.Options{
		ConfigDir: configDir(t, cfg, up.URL, failuresKeys),
		AttributeHook: func(r *http.Request) map[string]any { // what Envoy reads from the client certificate
			if id := r.Header.Get("X-Test-Peer-Spiffe"); id != "" {
				return map[string]any{"connection.uri_san_peer_certificate": id}
			}
			return nil
		},
	})
	tests := []struct {
		name   string
		host   string
		header map[string]string
		want   int
	}{
		{"own credential", "pay-alpha.egress.local", map[string]string{"X-Keygate-Tenant-Key": alphaKey}, 200},
		{"other tenant's credential", "pay-alpha.egress.local", map[string]string{"X-Keygate-Tenant-Key": betaKey}, 403},
		{"no credential", "pay-alpha.egress.local", nil, 401},
		{"wrong credential", "pay-alpha.egress.local", map[string]string{"X-Keygate-Tenant-Key": alphaKey + "x"}, 401},
		{"mTLS identity", "pay-beta.egress.local", map[string]string{"X-Test-Peer-Spiffe": "spiffe://corp/ns/beta/sa/checkout"}, 200},
		{"mTLS identity of the other tenant", "pay-alpha.egress.local", map[string]string{"X-Test-Peer-Spiffe": "spiffe://corp/ns/beta/sa/checkout"}, 403},
		{"unknown mTLS identity", "pay-beta.egress.local", map[string]string{"X-Test-Peer-Spiffe": "spiffe://corp/ns/x/sa/y"}, 401},
		{"spoofed keygate header", "pay-alpha.egress.local", map[string]string{"X-Keygate-Tenant-Key": alphaKey, "X-Keygate-Tenant": "beta"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := seen.count()
			status, _, body := call(t, s, "GET", tt.host, "/charge", "", tt.header)
			if status != tt.want {
				t.Fatalf("status %d, want %d: %s", status, tt.want, body)
			}
			if reached := seen.count() > before; reached != (tt.want == 200) {
				t.Fatalf("upstream reached = %v for status %d", reached, status)
			}
			if tt.want == 200 {
				if r, _ := seen.last(); r.Header.Get("X-Keygate-Tenant-Key") != "" {
					t.Error("the tenant credential was forwarded to the provider")
				}
			}
			if strings.Contains(body, alphaKey) || strings.Contains(body, betaKey) {
				t.Error("an error reply contains a tenant credential")
			}
		})
	}
}
