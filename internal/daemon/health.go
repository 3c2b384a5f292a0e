package daemon

import (
	"log/slog"
	"net"
	"net/http"
)

// healthOnly is listen.health's handler: the admin handler's /healthz and /readyz and nothing
// else. With listen.tls every keygate port wants a client certificate, which the kubelet's
// probes cannot present; this port carries no API, no metrics and no secret, so it can stay
// plaintext. The answers are the admin listener's own (one readiness decision, not a copy).
func healthOnly(admin http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || (r.URL.Path != "/healthz" && r.URL.Path != "/readyz") {
			http.NotFound(w, r)
			return
		}
		admin.ServeHTTP(w, r)
	})
}

// serveHealth starts listen.health when it is set; the returned stop closes it.
func serveHealth(addr string, admin http.Handler, log *slog.Logger, errs chan<- error) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := adminServer(healthOnly(admin), log)
	go func() { errs <- srv.Serve(l) }()
	log.Info("health probes served", "health", l.Addr().String())
	return func() { _ = srv.Close() }, nil
}
