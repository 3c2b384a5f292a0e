package signer

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/jsonbody"
)

// TestTextOfMatchesJSONBody: the fast path must give exactly jsonbody.TextOf's text.
func TestTextOfMatchesJSONBody(t *testing.T) {
	for _, raw := range []string{
		`"plain"`, `""`, `"a\"b"`, `"tab\there"`, `"\u00e9t\u00e9"`, `"été"`, "\"bad\xffutf8\"", `"ctl` + "\x01" + `"`,
		`123`, `1.50`, `null`, `true`, `{"a": [1, 2]}`, `[ 1 ]`, `"` + strings.Repeat("x", 4096) + `"`,
	} {
		t.Run(raw[:min(len(raw), 16)], func(t *testing.T) {
			want := jsonbody.TextOf(json.RawMessage(raw))
			if got := textOf(json.RawMessage(raw)); got != want {
				t.Errorf("textOf(%q) = %q, jsonbody.TextOf = %q", raw, got, want)
			}
			if got := string(textBytes(json.RawMessage(raw))); got != want {
				t.Errorf("textBytes(%q) = %q, jsonbody.TextOf = %q", raw, got, want)
			}
		})
	}
}

// TestQuotedMatchesMarshal: every ciphertext encoding's alphabet marshals unescaped.
func TestQuotedMatchesMarshal(t *testing.T) {
	ct := make([]byte, 256)
	for i := range ct {
		ct[i] = byte(i)
	}
	for _, enc := range []byteEncoding{encHex, encHexUpper, encBase64, encBase64URL} {
		t.Run(string(enc), func(t *testing.T) {
			text := enc.encode(ct)
			want, _ := json.Marshal(text)
			if got := quoted(text); string(got) != string(want) {
				t.Errorf("quoted(%q) = %s, want %s", text, got, want)
			}
		})
	}
}

// BenchmarkTextOf is a 4 KiB string field, the article's `data`.
func BenchmarkTextOf(b *testing.B) {
	raw := json.RawMessage(`"` + strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 114) + `"`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = textOf(raw)
		}
	})
	b.Run("jsonbody", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = jsonbody.TextOf(raw)
		}
	})
}
