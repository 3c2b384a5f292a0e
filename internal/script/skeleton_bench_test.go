package script

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

// BenchmarkSkeleton: a 7 KiB JSON body, mostly base64, as the echo check reads it.
func BenchmarkSkeleton(b *testing.B) {
	body := []byte(`{"appKey":"demo","data":"` + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("payload ", 700))) + `","sign":"abcdef0123"}`)
	out := make([]byte, 0, len(body))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		out = appendSkeleton(out[:0], body, &alnumSkeleton)
	}
}

// TestSkeletonMatchesByteLoop: the run-copying, word-folding skeleton is the plain byte loop's, over random
// texts of every character and of mostly kept ones, appended to a non-empty buffer.
func TestSkeletonMatchesByteLoop(t *testing.T) {
	byteLoop := func(out, b []byte, class *[256]byte) []byte {
		for _, c := range b {
			if m := class[c]; m != 0 {
				out = append(out, m)
			}
		}
		return out
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		b := make([]byte, rng.IntN(80))
		for j := range b {
			if i%2 == 0 {
				b[j] = byte(rng.IntN(256))
			} else {
				b[j] = "AZaz09+/-_=:fF \n"[rng.IntN(16)]
			}
		}
		prefix := []byte("kept")
		want := byteLoop(append([]byte(nil), prefix...), b, &alnumSkeleton)
		if got := appendSkeleton(append([]byte(nil), prefix...), b, &alnumSkeleton); string(got) != string(want) {
			t.Fatalf("skeleton of %q = %q, want %q", b, got, want)
		}
	}
}
