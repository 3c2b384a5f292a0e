package gateway

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// TestBodyLimitIsInclusive: a body of exactly limits.max_body_bytes is signed; one byte more is
// refused with 413, whether the size is announced (Content-Length at Begin) or seen (the body at
// SignRequest). Envoy buffers up to the limit inclusive, so '>=' here would refuse what Envoy
// delivers, and '>' replaced by '>' + 1 would let through what it cannot.
func TestBodyLimitIsInclusive(t *testing.T) {
	snap, err := compile(t, "limits: {max_body_bytes: 64}\n"+twoProviders)
	if err != nil {
		t.Fatal(err)
	}
	begin := func(size int64) (*Call, error) {
		return snap.Begin(Inbound{Method: "POST", Authority: "pay.egress.local", Path: "/x", BodySize: size,
			Header: http.Header{}}, signer.SystemClock())
	}
	for _, c := range []struct {
		size int
		ok   bool
	}{{63, true}, {64, true}, {65, false}} {
		_, err := begin(int64(c.size))
		if (err == nil) != c.ok {
			t.Errorf("Begin with Content-Length %d: %v, want ok=%v", c.size, err, c.ok)
		}
		if err != nil && failure.Status(err) != http.StatusRequestEntityTooLarge {
			t.Errorf("Content-Length %d: status %d, want 413", c.size, failure.Status(err))
		}
		call, err := begin(-1) // size unknown (chunked): checked when the body comes
		if err != nil {
			t.Fatal(err)
		}
		err = call.SignRequest(context.Background(), bytes.Repeat([]byte("a"), c.size))
		if (err == nil) != c.ok {
			t.Errorf("a body of %d bytes: %v, want ok=%v", c.size, err, c.ok)
		}
		if err != nil && failure.Status(err) != http.StatusRequestEntityTooLarge {
			t.Errorf("a body of %d bytes: status %d, want 413", c.size, failure.Status(err))
		}
	}
}
