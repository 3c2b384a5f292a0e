package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCommand(t *testing.T) {
	state, dir := t.TempDir(), t.TempDir()
	write := func(name, url string) string {
		p := filepath.Join(dir, name)
		cfg := "providers:\n  - name: pay\n    hosts: [pay.egress.local]\n    upstream: {url: \"" + url + "\"}\n"
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) (string, error) {
		cmd := NewConfigCommand(nil, nil)
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append(args, "--state-dir", state, "--author", "tester"))
		err := cmd.Execute()
		return out.String(), err
	}
	steps := []struct {
		args    []string
		want    string
		wantErr bool
	}{
		{[]string{"apply", write("a.yaml", "https://a.example"), "-m", "first"}, "version 1", false},
		{[]string{"apply", write("b.yaml", "https://b.example"), "-m", "second"}, "version 2", false},
		{[]string{"apply", write("bad.yaml", "ftp://x")}, "providers[0].upstream.url", true},
		{[]string{"history"}, "second", false},
		{[]string{"diff", "1", "2"}, "+    upstream: {url: \"https://b.example\"}", false},
		{[]string{"rollback", "1", "-m", "undo"}, "version 3 (rollback to 1)", false},
		{[]string{"show", "3"}, "https://a.example", false},
		{[]string{"show"}, "# version 3 by tester", false},
		{[]string{"show", "x"}, "not a positive integer", true},
	}
	for _, s := range steps {
		t.Run(strings.Join(s.args[:1], " "), func(t *testing.T) {
			out, err := run(s.args...)
			if (err != nil) != s.wantErr {
				t.Fatalf("%v: err %v, output %s", s.args, err, out)
			}
			got := out
			if err != nil {
				got += err.Error()
			}
			if !strings.Contains(got, s.want) {
				t.Fatalf("%v: output %q lacks %q", s.args, got, s.want)
			}
		})
	}
}

// TestHistoryShowsUserTextInert: an author or message with a line break, a carriage return or
// a terminal escape (from ?message= or a JWT sub) cannot forge a line of history or move the
// cursor: it is printed escaped.
func TestHistoryShowsUserTextInert(t *testing.T) {
	state, dir := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(p, []byte("providers: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	forged := "fix\n2\t2026-12-01 09:00:00\tsecurity-team\tabcdef\trotate all keys (approved)\x1b[2K\r"
	for _, args := range [][]string{{"apply", p, "-m", forged, "--author", "mallory\x1b]0;pwned\x07"}, {"history"}, {"show"}} {
		cmd := NewConfigCommand(nil, nil)
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append(args, "--state-dir", state))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if args[0] == "apply" {
			continue
		}
		text := out.String()
		if strings.ContainsAny(text, "\x1b\r\x07") || strings.Contains(text, "\nsecurity-team") ||
			strings.Count(text, "rotate all keys") != 1 || strings.Contains(text, "\n2\t2026-12-01") {
			t.Fatalf("%v printed the text raw:\n%q", args, text)
		}
	}
}

// TestApplyResolvesPathsAgainstTheFile: `keygate config apply some/dir/keygate.yaml` reads the
// keystore and scripts the config names relative to the file, from any working directory.
func TestApplyResolvesPathsAgainstTheFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte("secret/x:\n  k: v\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := "keystore: {type: file, file: {path: keys.yaml}}\nproviders:\n  - name: pay\n    hosts: [pay.egress.local]\n" +
		"    upstream: {url: \"https://pay.example\"}\n    secrets: {k: secret/x#k}\n    signing: [{scheme: static, secret: k, in: header, name: X-K}]\n"
	if err := os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // anywhere but the file's folder
	cmd := NewConfigCommand(compileOffline, nil)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"apply", filepath.Join(dir, "keygate.yaml"), "--state-dir", t.TempDir()})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("apply from another folder: %v\n%s", err, out.String())
	}
}
