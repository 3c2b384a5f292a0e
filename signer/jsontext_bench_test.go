package signer

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/jsonbody"
)

// TestTextOfMatchesJSONBody: the fast path must give exactly jsonbody.TextOf's text.
func TestTextOfMatchesJSONBody(t *testing.T) {
	for _, raw := range []string{
		`"plain"`, `""`, `"a\"b"`, `"tab\there"`, `"\u00e9t\u00e9"`, `"été"`, "\"bad\xffutf8\"", `"ctl` + "\x01" + `"`,
		`123`, `1.50`, `-0.5e10`, `1E+2`, `null`, `true`, `false`, `1 `, ` 1`, "true\n", `{"a": [1, 2]}`, `[ 1 ]`, `"` + strings.Repeat("x", 4096) + `"`,
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

// TestQuotedMatchesMarshal: every ciphertext encoding writes what the standard library's
// encoder writes, and its alphabet marshals unescaped, so quoted is json.Marshal of the text.
func TestQuotedMatchesMarshal(t *testing.T) {
	ct := make([]byte, 256)
	for i := range ct {
		ct[i] = byte(i)
	}
	for enc, reference := range map[byteEncoding]string{
		encHex:       hex.EncodeToString(ct),
		encHexUpper:  strings.ToUpper(hex.EncodeToString(ct)),
		encBase64:    base64.StdEncoding.EncodeToString(ct),
		encBase64URL: base64.RawURLEncoding.EncodeToString(ct),
	} {
		t.Run(string(enc), func(t *testing.T) {
			if text := enc.encode(ct); text != reference {
				t.Fatalf("encode = %q, want %q", text, reference)
			}
			want, _ := json.Marshal(reference)
			if got := enc.appendQuoted(nil, ct); string(got) != string(want) {
				t.Errorf("appendQuoted = %s, want %s", got, want)
			}
			if got := enc.appendQuoted([]byte("prefix"), ct); string(got) != "prefix"+string(want) {
				t.Errorf("appendQuoted after a prefix = %s", got)
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

// textOf is textBytes as a string: what the fast path costs against jsonbody.TextOf.
func textOf(raw json.RawMessage) string {
	if inner, ok := jsonbody.PlainString(raw); ok {
		return string(inner)
	}
	return jsonbody.TextOf(raw)
}
