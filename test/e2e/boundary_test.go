package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/devstack"
)

// boundaryConfig: two tenants whose providers each sign with their own key, each with its own
// upstream (ALPHA_UP, BETA_UP) under the prefix /alpha or /beta.
const boundaryConfig = `
keystore: {type: file, file: {path: keys.yaml}}
tenants:
  - {name: alpha, credentials: [{id: alpha-svc, hash: "ALPHA_HASH"}]}
  - {name: beta, credentials: [{id: beta-svc, hash: "BETA_HASH"}]}
providers:
  - name: alpha-pay
    tenant: alpha
    hosts: [ALPHA_HOSTS]
    upstream: {url: "ALPHA_UP/alpha"}
    secrets: {key: secret/keygate/boundary#alpha}
    signing: [{scheme: static, secret: key, in: header, name: X-Api-Key}]
  - name: beta-pay
    tenant: beta
    hosts: [beta.egress.local]
    upstream: {url: "BETA_UP/beta"}
    secrets: {key: secret/keygate/boundary#beta}
    signing: [{scheme: static, secret: key, in: header, name: X-Api-Key}]
`

const boundaryKeys = `
secret/keygate/boundary:
  alpha: alpha-provider-key-1111
  beta: beta-provider-key-2222
`

const alphaAppKey, betaAppKey = "kg_alpha_boundary_0123456789", "kg_beta_boundary_0123456789"

type boundary struct {
	s                     *devstack.Stack
	alphaSeen, betaSeen   *captured
	alphaUpURL, betaUpURL string
}

func boundaryCfg(alphaHosts, alphaUp, betaUp string) string {
	return strings.NewReplacer("ALPHA_HASH", hashOf(alphaAppKey), "BETA_HASH", hashOf(betaAppKey),
		"ALPHA_HOSTS", alphaHosts, "ALPHA_UP", alphaUp, "BETA_UP", betaUp).Replace(boundaryConfig)
}

func startBoundary(t *testing.T) *boundary {
	alphaUp, alphaSeen := captureUpstream(t)
	betaUp, betaSeen := captureUpstream(t)
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, boundaryCfg("alpha.egress.local", alphaUp.URL, betaUp.URL), "", boundaryKeys)})
	return &boundary{s: s, alphaSeen: alphaSeen, betaSeen: betaSeen, alphaUpURL: alphaUp.URL, betaUpURL: betaUp.URL}
}

// TestHostClaimsAreExactAndSingle is issue 14 case 2 through the egress emulator. A tenant
// admin of alpha tries to claim beta's traffic with hosts ["*"] or ["beta.egress.local:1"]
// (and the other spellings of the same claim): each config is refused naming the field and the
// rule, and the running routing stays: beta's callers reach beta's upstream signed with beta's
// key, a "port" Envoy does not strip ("beta.egress.local:x") reaches nobody, and alpha's
// credential never unlocks beta's provider.
func TestHostClaimsAreExactAndSingle(t *testing.T) {
	b := startBoundary(t)
	for hosts, rule := range map[string]string{
		`"*"`:                           "wildcard",
		`"beta.egress.local:1"`:         "port",
		`"*.egress.local"`:              "wildcard",
		`"beta.*"`:                      "wildcard",
		`"BETA.egress.local"`:           "lower case",
		`"beta.egress.local"`:           `providers[1].hosts[0]: "beta.egress.local" is claimed by two providers, "alpha-pay" (tenant "alpha") and "beta-pay" (tenant "beta")`,
		`"beta.egress.local."`:          "empty label",
		`"alpha.egress.local", "[::1]"`: "DNS name",
	} {
		err := b.s.Apply(context.Background(), []byte(boundaryCfg(hosts, b.alphaUpURL, b.betaUpURL)))
		if err == nil || !strings.Contains(err.Error(), ".hosts[") || !strings.Contains(err.Error(), rule) {
			t.Errorf("hosts [%s]: want an error naming the hosts field and %q, got %v", hosts, rule, err)
		}
	}
	type want struct {
		status int
		key    string // the provider key the upstream must see; "" = no upstream reached
		alpha  bool   // reached alpha's upstream (else beta's)
	}
	for _, tc := range []struct {
		name, host, appKey string
		want               want
	}{
		{"beta caller, beta's host", "beta.egress.local", betaAppKey, want{200, "beta-provider-key-2222", false}},
		{"beta caller, numeric port stripped", "beta.egress.local:1", betaAppKey, want{200, "beta-provider-key-2222", false}},
		{"beta caller, upper case", "BETA.Egress.Local:10000", betaAppKey, want{200, "beta-provider-key-2222", false}},
		{"beta caller, non-numeric port", "beta.egress.local:x", betaAppKey, want{404, "", false}},
		{"beta caller, negative port", "beta.egress.local:-1", betaAppKey, want{404, "", false}},
		{"beta caller, alpha's host", "alpha.egress.local", betaAppKey, want{403, "", false}},
		{"alpha caller, beta's host with port", "beta.egress.local:1", alphaAppKey, want{403, "", false}},
		{"alpha caller, beta's host", "beta.egress.local", alphaAppKey, want{403, "", false}},
		{"alpha caller, own host", "alpha.egress.local:8080", alphaAppKey, want{200, "alpha-provider-key-1111", true}},
		{"unknown host", "gamma.egress.local", alphaAppKey, want{404, "", false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a0, b0 := b.alphaSeen.count(), b.betaSeen.count()
			status, _, body := call(t, b.s, "GET", tc.host, "/x", "", map[string]string{"X-Keygate-Tenant-Key": tc.appKey})
			if status != tc.want.status {
				t.Fatalf("status %d, want %d: %s", status, tc.want.status, body)
			}
			da, db := b.alphaSeen.count()-a0, b.betaSeen.count()-b0
			switch {
			case tc.want.key == "" && da+db != 0:
				t.Fatalf("an upstream was reached (alpha %d, beta %d)", da, db)
			case tc.want.key != "" && tc.want.alpha && (da != 1 || db != 0):
				t.Fatalf("want alpha's upstream only, got alpha %d beta %d", da, db)
			case tc.want.key != "" && !tc.want.alpha && (db != 1 || da != 0):
				t.Fatalf("want beta's upstream only, got alpha %d beta %d", da, db)
			}
			if tc.want.key != "" {
				seen := b.betaSeen
				if tc.want.alpha {
					seen = b.alphaSeen
				}
				if r, _ := seen.last(); r.Header.Get("X-Api-Key") != tc.want.key {
					t.Fatalf("the upstream got the wrong provider's key")
				}
			}
		})
	}
}

// TestPathStaysUnderPrefix is issue 14 case 3 through the egress emulator: whatever path beta's
// caller sends, the upstream either gets nothing or a path under /beta/ with no dot segment,
// empty segment, backslash or encoded slash, with beta's key.
func TestPathStaysUnderPrefix(t *testing.T) {
	b := startBoundary(t)
	for _, p := range []string{
		"/../../etc/passwd", "/%2e%2e/%2e%2e/etc", "/a/..%2f..%2fetc", "//evil.example/x", "/.%2E/x",
		"/%2E%2e/x", "/a/%2e%2e%2f/x", "/a\\..\\..\\x", "/a/..%5c..%5cx", "/x/../../../", "/%252e%252e/x",
		"/a/%252f..", "/x;/../y", "/./x", "/x/..", "/x/%2e", "/a?b=/../..", "/%2e%2e%5c", "/..;/x", "/x/%2e%2e;a=b/y",
	} {
		t.Run(p, func(t *testing.T) {
			before := b.betaSeen.count()
			status, _, body := rawCall(t, b.s, p, "beta.egress.local", map[string]string{"X-Keygate-Tenant-Key": betaAppKey})
			if b.alphaSeen.count() != 0 {
				t.Fatal("alpha's upstream was reached")
			}
			if b.betaSeen.count() == before {
				if status == 200 {
					t.Fatalf("200 without reaching the upstream: %s", body)
				}
				t.Logf("%q refused with %d", p, status)
				return
			}
			r, _ := b.betaSeen.last()
			t.Logf("%q reached the upstream as %q", p, r.RequestURI)
			checkUnderPrefix(t, r, "/beta/")
		})
	}
}

func checkUnderPrefix(t testing.TB, r *http.Request, prefix string) {
	t.Helper()
	uri := r.RequestURI
	path, _, _ := strings.Cut(uri, "?")
	if !strings.HasPrefix(path, prefix) && path != strings.TrimSuffix(prefix, "/") {
		t.Fatalf("upstream got %q, not under %s", uri, prefix)
	}
	low := strings.ToLower(path)
	for _, bad := range []string{"\\", "%2f", "%5c"} {
		if strings.Contains(low, bad) {
			t.Fatalf("upstream got %q, which holds %q", uri, bad)
		}
	}
	segs := strings.Split(low[1:], "/")
	for i, seg := range segs {
		dec, _, _ := strings.Cut(strings.ReplaceAll(seg, "%2e", "."), ";")
		if dec == "." || dec == ".." || (seg == "" && i != len(segs)-1) {
			t.Fatalf("upstream got %q, which has segment %q", uri, seg)
		}
	}
	if r.Header.Get("X-Api-Key") == "" {
		t.Fatal("the upstream got the request unsigned")
	}
}

// rawCall sends "GET path HTTP/1.1" byte for byte (no client-side URL cleaning) to the egress.
func rawCall(t testing.TB, s *devstack.Stack, path, host string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	status, h, body, err := rawSend(s, path, host, header)
	if err != nil {
		t.Fatalf("GET %q: %v", path, err)
	}
	return status, h, body
}

func rawSend(s *devstack.Stack, path, host string, header map[string]string) (int, http.Header, string, error) {
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.EgressURL, "http://"), 5*time.Second)
	if err != nil {
		return 0, nil, "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var req strings.Builder
	req.WriteString("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n")
	for k, v := range header {
		req.WriteString(k + ": " + v + "\r\n")
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return 0, nil, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}
