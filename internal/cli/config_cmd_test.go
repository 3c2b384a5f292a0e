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
