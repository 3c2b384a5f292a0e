package daemon

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHealthOnly: the plaintext probe port answers /healthz and /readyz from the admin handler
// and nothing else: no API route, no /metrics, no other method, no path trick.
func TestHealthOnly(t *testing.T) {
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := healthOnly(admin)
	for _, tc := range []struct {
		method, target string
		want           int
	}{
		{"GET", "/healthz", http.StatusTeapot},
		{"GET", "/readyz", http.StatusTeapot},
		{"GET", "/metrics", http.StatusNotFound},
		{"GET", "/v1/configs", http.StatusNotFound},
		{"POST", "/readyz", http.StatusNotFound},
		{"GET", "/healthz/../v1/configs", http.StatusNotFound},
		{"GET", "/readyz/", http.StatusNotFound},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.target, rec.Code, tc.want)
		}
	}
}
