package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryCommandHasExamples: `--help` of every command, the completion commands included,
// shows an Examples section.
func TestEveryCommandHasExamples(t *testing.T) {
	root := newRoot(&bytes.Buffer{}, &bytes.Buffer{})
	if missing := needExamples(root); len(missing) > 0 {
		t.Errorf("commands without examples: %v", missing)
	}
	var out bytes.Buffer
	if err := Main(context.Background(), []string{"check", "--help"}, &out, &out); err != nil || !strings.Contains(out.String(), "Examples:") {
		t.Errorf("check --help: %v\n%s", err, out.String())
	}
}

// TestVersion: version -o json carries the commit and the Envoy API version; --version works.
func TestVersion(t *testing.T) {
	out, err := runMain(t, "version", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	for _, k := range []string{"version", "commit", "go", "envoy_api"} {
		if _, ok := v[k]; !ok {
			t.Errorf("version -o json has no %q: %s", k, out)
		}
	}
	if v["envoy_api"] != "v3" {
		t.Errorf("envoy_api = %v", v["envoy_api"])
	}
	out, err = runMain(t, "--version")
	if err != nil || !strings.HasPrefix(out, "keygate ") || !strings.Contains(out, "Envoy API v3") {
		t.Errorf("--version: %v %q", err, out)
	}
}

// TestLogFlagsAreStrict: an unknown --log-level or --log-format is an error naming the choices,
// before any command runs.
func TestLogFlagsAreStrict(t *testing.T) {
	for _, args := range [][]string{
		{"--log-level", "verbose", "version"},
		{"--log-level", "INFOO", "version"},
		{"--log-format", "xml", "version"},
		{"version", "-o", "yaml"},
	} {
		_, err := runMain(t, args...)
		if err == nil || !strings.Contains(err.Error(), "want ") {
			t.Errorf("%v: got %v, want an error naming the choices", args, err)
		}
	}
	if _, err := runMain(t, "--log-level", "debug", "--log-format", "json", "version"); err != nil {
		t.Errorf("valid log flags refused: %v", err)
	}
}

// TestCompletesProviderNames: the shell completion of sign --provider lists the config's
// providers.
func TestCompletesProviderNames(t *testing.T) {
	out, err := runMain(t, "__complete", "sign", "--config", filepath.Join("testdata", "check", "ok.yaml"), "--provider", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "pay\t") {
		t.Errorf("completion of --provider: %q", out)
	}
}

// TestAdminTokenCreate: the printed hash is the printed token's, the role rules are the
// config's, and a token line that serve would refuse is refused here.
func TestAdminTokenCreate(t *testing.T) {
	out, err := runMain(t, "admin", "token", "create", "--name", "ci", "--role", "gateway_admin", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got AdminTokenCreated
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Token, adminTokenPrefix) || got.Config.Hash == "" || strings.Contains(got.Config.Hash, got.Token) {
		t.Errorf("token create: %+v", got)
	}
	// The config line it prints is accepted by the config's own validation.
	p := filepath.Join(t.TempDir(), "k.yaml")
	cfg := "admin:\n  tokens:\n    - {name: ci, role: gateway_admin, hash: \"" + got.Config.Hash + "\"}\nproviders: []\n"
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runMain(t, "check", p); err != nil {
		t.Errorf("the printed config line does not check: %v", err)
	}
	for _, args := range [][]string{
		{"--name", "x", "--role", "tenant_admin"},
		{"--name", "x", "--role", "root"},
		{"--name", "", "--role", "gateway_admin"},
	} {
		if _, err := runMain(t, append([]string{"admin", "token", "create"}, args...)...); err == nil {
			t.Errorf("admin token create %v: accepted", args)
		}
	}
}

// TestOutputJSON: -o json of sign and of config history|show|diff is JSON.
func TestOutputJSON(t *testing.T) {
	out, err := runMain(t, "sign", "--config", "../../examples/vectors/aws-sigv4.yaml", "--provider", "aws-example",
		"--request", "../../examples/vectors/aws-get-vanilla.http", "--time", "2015-08-30T12:36:00Z", "--explain", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep SignReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !strings.Contains(rep.Output, "Signature=5fa00fa3") || len(rep.Explain) != 2 {
		t.Errorf("sign -o json: %v %+v", err, rep)
	}
	state := t.TempDir()
	ok, err := os.ReadFile("testdata/check/ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, msg := range []string{"one", "two"} {
		p := filepath.Join(t.TempDir(), "keygate.yaml")
		keys, _ := os.ReadFile("testdata/check/keys.yaml")
		_ = os.WriteFile(filepath.Join(filepath.Dir(p), "keys.yaml"), keys, 0o600)
		if err := os.WriteFile(p, append(ok, []byte(strings.Repeat("# edit\n", i))...), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := runMain(t, "config", "--state-dir", state, "apply", p, "-m", msg); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"history"}, {"show", "1"}, {"diff", "1", "2"}} {
		out, err := runMain(t, append(append([]string{"config", "--state-dir", state}, args...), "-o", "json")...)
		if err != nil || !json.Valid([]byte(out)) {
			t.Errorf("config %v -o json: %v\n%s", args, err, out)
		}
	}
}

// TestCheckAdminTokensFile: check reads admin.tokens_file as serve does: a broken one is a
// problem at admin.tokens_file (its line in the config) naming the file's line and field.
func TestCheckAdminTokensFile(t *testing.T) {
	dir := t.TempDir()
	ok, err := os.ReadFile("testdata/check/ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := os.ReadFile("testdata/check/keys.yaml")
	_ = os.WriteFile(filepath.Join(dir, "keys.yaml"), keys, 0o600)
	cfg := filepath.Join(dir, "keygate.yaml")
	if err := os.WriteFile(cfg, append(ok, []byte("admin:\n  tokens_file: admin-tokens.yaml\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := runCheck(context.Background(), cfg, false)
	if rep.OK || len(rep.Problems) != 1 || rep.Problems[0].Path != "admin.tokens_file" || !strings.Contains(rep.Problems[0].Message, "cannot read") {
		t.Fatalf("missing tokens file: %+v", rep)
	}
	wantLine := strings.Count(string(ok), "\n") + 2
	if rep.Problems[0].Line != wantLine {
		t.Errorf("problem placed at line %d, want %d (admin.tokens_file)", rep.Problems[0].Line, wantLine)
	}
	if err := os.WriteFile(filepath.Join(dir, "admin-tokens.yaml"), []byte("tokens:\n  - {name: ci, role: gateway_admin, hash: nope}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep = runCheck(context.Background(), cfg, false)
	if rep.OK || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, "line 2: tokens[0].hash") {
		t.Fatalf("invalid tokens file: %+v", rep)
	}
	out, err := runMain(t, "admin", "token", "create", "--name", "ci", "--role", "gateway_admin", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var made AdminTokenCreated
	if err := json.Unmarshal([]byte(out), &made); err != nil {
		t.Fatal(err)
	}
	line := "tokens:\n  - {name: ci, role: gateway_admin, hash: \"" + made.Config.Hash + "\"}\n"
	if err := os.WriteFile(filepath.Join(dir, "admin-tokens.yaml"), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	if rep = runCheck(context.Background(), cfg, false); !rep.OK {
		t.Fatalf("a valid tokens file: %+v", rep)
	}
}

// TestCompletesVersionNumbers: config show|diff|rollback complete the stored version numbers,
// newest first, with their messages; diff completes a second one; a state folder that does not
// exist completes nothing and is not created.
func TestCompletesVersionNumbers(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	ok, err := os.ReadFile("testdata/check/ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := os.ReadFile("testdata/check/keys.yaml")
	for i, msg := range []string{"first", "second\tline"} {
		dir := t.TempDir()
		_ = os.WriteFile(filepath.Join(dir, "keys.yaml"), keys, 0o600)
		p := filepath.Join(dir, "keygate.yaml")
		if err := os.WriteFile(p, append(ok, []byte(strings.Repeat("# edit\n", i))...), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := runMain(t, "config", "--state-dir", state, "apply", p, "-m", msg); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"show", ""}, {"rollback", ""}, {"diff", ""}, {"diff", "1", ""}} {
		out, err := runMain(t, append([]string{"__complete", "config", "--state-dir", state}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(out, "\n")
		if len(lines) < 3 || !strings.HasPrefix(lines[0], "2\t") || !strings.HasPrefix(lines[1], "1\tfirst") {
			t.Errorf("complete config %v: %q", args, out)
		}
		if strings.Count(lines[0], "\t") != 1 {
			t.Errorf("a message's tab breaks the completion line: %q", lines[0])
		}
	}
	out, err := runMain(t, "__complete", "config", "--state-dir", state, "show", "1", "")
	if err != nil || strings.Contains(out, "1\t") {
		t.Errorf("show takes one version; completed a second: %q %v", out, err)
	}
	missing := filepath.Join(t.TempDir(), "nowhere")
	if out, _ := runMain(t, "__complete", "config", "--state-dir", missing, "show", ""); strings.Contains(out, "\t") {
		t.Errorf("completion from a missing state dir: %q", out)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("completing created the state dir: %v", err)
	}
}
