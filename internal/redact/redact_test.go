package redact

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/secret"
)

func TestApplyRedactsEveryForm(t *testing.T) {
	var s Set
	v := secret.FromString("s3cr3t/value+x")
	s.Add(v)
	s.AddBytes([]byte("short")) // below MinLen: ignored
	in := "raw=s3cr3t/value+x b64=" + base64.StdEncoding.EncodeToString(v.Reveal()) +
		" url=s3cr3t%2Fvalue%2Bx short"
	out := string(s.Apply([]byte(in)))
	if strings.Contains(out, "s3cr3t") || strings.Contains(out, base64.StdEncoding.EncodeToString(v.Reveal())) {
		t.Fatalf("a form of the value survived redaction (output withheld)")
	}
	if strings.Count(out, secret.Redacted) != 3 || !strings.HasSuffix(out, "short") {
		t.Errorf("unexpected redaction shape: %d markers", strings.Count(out, secret.Redacted))
	}
	if found, _ := s.Find([]byte(out)); found {
		t.Error("Find reports a value after Apply")
	}
}
