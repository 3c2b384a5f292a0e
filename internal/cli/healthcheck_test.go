package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealthcheck: 0 on a 2xx readiness answer; an error naming the status and the answer's
// reason on anything else, on no answer and on a URL it cannot probe.
func TestHealthcheck(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/moved":
			http.Redirect(w, r, "/readyz", http.StatusFound)
		case r.URL.Path != "/readyz":
			http.NotFound(w, r)
		case ready:
			_, _ = w.Write([]byte(`{"status":"ready"}`))
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"status":503,"message":"draining"}}`))
		}
	}))
	defer srv.Close()
	if out, err := runMain(t, "healthcheck", "--url", srv.URL+"/readyz"); err != nil || !strings.Contains(out, "200 OK") {
		t.Errorf("ready: %v %q", err, out)
	}
	ready = false
	if _, err := runMain(t, "healthcheck", "--url", srv.URL+"/readyz"); err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "draining") {
		t.Errorf("draining: %v", err)
	}
	if _, err := runMain(t, "healthcheck", "--url", srv.URL+"/moved"); err == nil || !strings.Contains(err.Error(), "302") {
		t.Errorf("a redirect is not followed to a healthy answer: %v", err)
	}
	addr := srv.Listener.Addr().String()
	srv.Close()
	if _, err := runMain(t, "healthcheck", "--url", "http://"+addr+"/readyz"); err == nil || !strings.Contains(err.Error(), "nothing answers") {
		t.Errorf("closed: %v", err)
	}
	for _, bad := range []string{"https://127.0.0.1:1/readyz", "127.0.0.1:18081", "http:///readyz"} {
		if _, err := runMain(t, "healthcheck", "--url", bad); err == nil || !strings.Contains(err.Error(), "want http://") {
			t.Errorf("--url %s: %v", bad, err)
		}
	}
	if _, err := runMain(t, "healthcheck", "--timeout", "0s", "--url", "http://127.0.0.1:1/"); err == nil || !strings.Contains(err.Error(), "--timeout") {
		t.Errorf("--timeout 0: %v", err)
	}
}
