package emu

import (
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// signOnce sets x-sig on request_headers, a different value per ext_proc stream.
func signOnce() script {
	var n atomic.Int32
	return onKind("request_headers", func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		v := string(rune('0' + n.Add(1)))
		return reply(req, &extprocv3.CommonResponse{HeaderMutation: headerMut([]*corev3.HeaderValueOption{setRaw("x-sig", "s"+v)})})
	})
}

func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// source/common/router/router.cc Filter::doRetry: a retry re-sends the same headers and body;
// the decoder filters, ext_proc among them, do not run again, so the signature is replayed.
func TestRouter_RetriesReplayTheSignedRequest(t *testing.T) {
	t.Run("connect-failure", func(t *testing.T) {
		h := newHarness(t, signOnce(), func(c *Config) {
			c.Clusters["up"] = Cluster{Endpoints: []string{deadAddr(t), c.Clusters["up"].Endpoints[0]}}
			c.VirtualHosts[0].Routes[0].RetryPolicy = &RetryPolicy{RetryOn: []string{"connect-failure", "refused-stream"}, NumRetries: 1}
		})
		if r := h.do("POST", "/", "pay", nil); r.status != 200 {
			t.Fatalf("status %d: a connect failure is retried on the next endpoint", r.status)
		}
		if got := h.up.requests(); len(got) != 1 || got[0].header.Get("X-Sig") != "s1" || got[0].body != "pay" {
			t.Fatalf("upstream saw %+v", got)
		}
		if h.proc.streams != 1 {
			t.Fatalf("%d ext_proc streams: a retry does not run ext_proc again", h.proc.streams)
		}
	})
	for _, tc := range []struct {
		name     string
		on       []string
		attempts int
		status   int
	}{
		{"reset retried (replay)", []string{"reset"}, 2, 200},
		{"keygate's policy does not retry a reset", []string{"connect-failure", "refused-stream"}, 1, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, signOnce(), func(c *Config) {
				c.VirtualHosts[0].Routes[0].RetryPolicy = &RetryPolicy{RetryOn: tc.on, NumRetries: 1}
			})
			var calls atomic.Int32
			var sigs []string
			h.up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sigs = append(sigs, r.Header.Get("X-Sig"))
				if calls.Add(1) == 1 { // the provider read the request, then the connection broke
					conn, _, _ := w.(http.Hijacker).Hijack()
					_ = conn.Close()
					return
				}
				_, _ = w.Write([]byte("ok"))
			})
			if r := h.do("POST", "/", "pay", nil); r.status != tc.status {
				t.Fatalf("status %d, want %d", r.status, tc.status)
			}
			if int(calls.Load()) != tc.attempts {
				t.Fatalf("%d attempts, want %d", calls.Load(), tc.attempts)
			}
			for _, s := range sigs {
				if s != "s1" {
					t.Fatalf("signatures %v: every attempt carries the one signature", sigs)
				}
			}
		})
	}
	t.Run("retriable-status-codes", func(t *testing.T) {
		h := newHarness(t, signOnce(), func(c *Config) {
			c.VirtualHosts[0].Routes[0].RetryPolicy = &RetryPolicy{RetryOn: []string{"retriable-status-codes"}, NumRetries: 1, RetriableStatusCodes: []int{401}}
		})
		var calls atomic.Int32
		h.up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusUnauthorized)
			}
		})
		if r := h.do("GET", "/", "", nil); r.status != 200 || calls.Load() != 2 {
			t.Fatalf("status %d after %d attempts", r.status, calls.Load())
		}
	})
}

func TestRouter_RetryPolicyFromXDS(t *testing.T) {
	got := convertRetryPolicy(&routev3.RetryPolicy{RetryOn: "connect-failure, refused-stream", NumRetries: wrapperspb.UInt32(2), RetriableStatusCodes: []uint32{401}})
	if !equalStrings(got.RetryOn, []string{"connect-failure", "refused-stream"}) || got.NumRetries != 2 || got.RetriableStatusCodes[0] != 401 {
		t.Fatalf("%+v", got)
	}
	if got := convertRetryPolicy(&routev3.RetryPolicy{RetryOn: "reset"}); got.NumRetries != 1 {
		t.Fatalf("num_retries unset must default to 1: %+v", got)
	}
}
