package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/devstack"
)

// TestDevRunsKeygateServe: `keygate dev` runs keygate serve itself (Options.Serve): the demo
// request is signed, and the admin API answers the run's token with the audit event and
// metrics of that request.
func TestDevRunsKeygateServe(t *testing.T) {
	s := startStack(t, devstack.Options{Serve: true})
	if s.AdminToken.IsZero() || s.AdminAddr == "" {
		t.Fatal("no admin API or token for the run")
	}
	status, _, body := call(t, s, "POST", "demo.egress.local", "/orders", `{"data":"{\"amount\":100}","timestamp":"1700000000"}`,
		map[string]string{"Content-Type": "application/json"})
	if status != http.StatusOK || !strings.Contains(body, `"code":0`) {
		t.Fatalf("demo request: %d %s", status, body)
	}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+s.AdminAddr+path, nil)
		req.Header.Set("Authorization", "Bearer "+string(s.AdminToken.Reveal()))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, events := get("/v1/audit?kind=sign"); st != http.StatusOK || !strings.Contains(events, `"provider": "demo"`) {
		t.Fatalf("audit: %d %.400s", st, events)
	}
	if st, m := get("/metrics"); st != http.StatusOK || !strings.Contains(m, "keygate_requests_total") {
		t.Fatalf("/metrics: %d", st)
	}
}
