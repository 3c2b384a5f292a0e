package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestDryRunExplainReply: explain=true answers JSON with the request that would leave and what
// each step signed, redacted for a developer, and says whether it was revealed.
func TestDryRunExplainReply(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name, token, query string
		revealed           bool
	}{
		{"developer", acmeDevTok, "?explain=true", false},
		{"tenant admin", acmeAdminTok, "?explain=true", false},
		{"tenant admin, revealed", acmeAdminTok, "?explain=1&reveal=true", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := e.do(t, c.token, "POST", "/v1/tenants/acme/providers/acme-pay/sign"+c.query, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			var got explainedRun
			dec := json.NewDecoder(strings.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("reply is not the explained shape: %v: %s", err, body)
			}
			if got.Revealed != c.revealed || len(got.Explain) != 1 || got.Notes == nil {
				t.Fatalf("reply %+v", got)
			}
			redacted := strings.Contains(got.Output, "[redacted]") && strings.Contains(got.Explain[0], "[redacted]")
			if redacted == c.revealed {
				t.Fatalf("revealed=%v but output %q, explain %q", c.revealed, got.Output, got.Explain)
			}
		})
	}
	t.Run("without explain the reply is the raw output", func(t *testing.T) {
		status, body := e.do(t, acmeDevTok, "POST", "/v1/tenants/acme/providers/acme-pay/sign", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if status != http.StatusOK || strings.Contains(body, `"explain"`) {
			t.Fatalf("status %d: %s", status, body)
		}
	})
}

// TestDryRunByProviderName: a gateway admin dry-runs a provider by name alone; an unknown name
// is 404, and a tenant role is refused before anything runs (even for its own provider).
func TestDryRunByProviderName(t *testing.T) {
	e := newEnv(t)
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	if status, body := e.do(t, rootToken, "POST", "/v1/providers/globex-pay/sign", req); status != http.StatusOK || !strings.Contains(body, `"tenant":"globex"`) {
		t.Fatalf("status %d: %s", status, body)
	}
	if status, body := e.do(t, rootToken, "POST", "/v1/providers/nope/sign", req); status != http.StatusNotFound {
		t.Fatalf("unknown provider: status %d: %s", status, body)
	}
	for _, tok := range []string{acmeAdminTok, acmeDevTok} {
		if status, body := e.do(t, tok, "POST", "/v1/providers/acme-pay/sign", req); status != http.StatusForbidden {
			t.Fatalf("tenant role: status %d: %s", status, body)
		}
	}
}
