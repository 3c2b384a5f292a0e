package emu

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
)

// trailersOnlyUpstream answers HEADERS (:status 200) then trailers, no DATA: an h2c server
// (cluster HTTP/2) or, with h1, an HTTP/1.1 chunked answer with an empty body and trailers.
func trailersOnlyUpstream(t *testing.T, h2 bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		w.Header().Set("X-Forged", "yes")
		w.WriteHeader(http.StatusOK)
		w.Header().Set("X-Checksum", "abc")
	}))
	if h2 {
		protos := new(http.Protocols)
		protos.SetUnencryptedHTTP2(true)
		srv.Config.Protocols = protos
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// Filter::onTrailers is the same on the encoder side (encodeTrailers): an upstream answer with
// HEADERS then trailers and no DATA gets no response_body message; with trailer mode SKIP
// Envoy continues with the headers as the headers response left them, with SEND the trailers
// go to the processor. Envoy's HTTP/1 codec drops trailers (enable_trailers off): an HTTP/1
// chunked answer with an empty body and trailers ends on an empty body message instead.
func TestSpec9_NoDataResponseSendsNoBodyMessage(t *testing.T) {
	h2 := func(c *Config) {
		up := trailersOnlyUpstream(t, true)
		c.Clusters["up"] = Cluster{Endpoints: []string{strings.TrimPrefix(up.URL, "http://")}, HTTP2: true}
	}
	t.Run("h2, trailers SKIP: continues unprocessed", func(t *testing.T) {
		h := newHarness(t, nil, h2)
		r := h.do("GET", "/", "", nil)
		if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "response_headers"}) {
			t.Fatalf("messages %v: no response_body may be invented for an answer without DATA", got)
		}
		if h.proc.messages()[1].GetResponseHeaders().GetEndOfStream() {
			t.Fatal("response_headers end_of_stream: an answer with trailers does not end on its HEADERS")
		}
		if r.status != 200 || r.header.Get("X-Forged") != "yes" {
			t.Fatalf("status %d, headers %v: Envoy continues with the held headers", r.status, r.header)
		}
	})
	t.Run("h2, trailers SEND: refused at trailers", func(t *testing.T) {
		refuse := onKind("response_trailers", func(*extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
			return immediate(typev3.StatusCode_BadGateway, "no")
		})
		h := newHarness(t, refuse, func(c *Config) {
			h2(c)
			c.ProcessingMode.ResponseTrailerMode = extprocv3cfg.ProcessingMode_SEND
		})
		r := h.do("GET", "/", "", nil)
		if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "response_headers", "response_trailers"}) {
			t.Fatalf("messages %v", got)
		}
		if r.status != 502 {
			t.Fatalf("status %d, want the processor's 502", r.status)
		}
	})
	t.Run("h1 chunked: trailers dropped, empty body sent", func(t *testing.T) {
		h := newHarness(t, nil, func(c *Config) {
			up := trailersOnlyUpstream(t, false)
			c.Clusters["up"] = Cluster{Endpoints: []string{strings.TrimPrefix(up.URL, "http://")}}
			c.ProcessingMode.ResponseTrailerMode = extprocv3cfg.ProcessingMode_SEND
		})
		h.do("GET", "/", "", nil)
		msgs := h.proc.messages()
		if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "response_headers", "response_body"}) ||
			!msgs[2].GetResponseBody().GetEndOfStream() {
			t.Fatalf("messages %v: HTTP/1 trailers are dropped and the empty body ends the answer", got)
		}
	})
}
