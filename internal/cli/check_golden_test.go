package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckGolden runs each config in testdata/check through `keygate check` and compares the
// whole report (file:line:col, field path, message, hint) with its .golden file. The configs are
// the mistakes of an operator's first hour: Go-typed values, typos, references that can never
// resolve, literal secrets where a secret's name or reference belongs, fields missing from the
// file keystore. Regenerate with `go test ./internal/cli -run TestCheckGolden -update`.
func TestCheckGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/check/*.yaml")
	for _, file := range files {
		if filepath.Base(file) == "keys.yaml" {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Main(context.Background(), []string{"check", file}, &out, &errOut)
			got := out.String() + errOut.String()
			if err != nil {
				got += err.Error() + "\n"
			}
			assertNoSecret(t, got)
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("check %s:\n--- got\n%s--- want\n%s", file, got, want)
			}
		})
	}
}

// TestCheckJSONPlacesEveryProblem: -o json reports every problem with its path, line and column
// (CI annotates the file with them), exits non-zero through ErrReported, and, like the text
// form, never carries a secret value.
func TestCheckJSONPlacesEveryProblem(t *testing.T) {
	files, _ := filepath.Glob("testdata/check/*.yaml")
	for _, file := range files {
		if filepath.Base(file) == "keys.yaml" {
			continue
		}
		var out bytes.Buffer
		err := Main(context.Background(), []string{"check", "-o", "json", file}, &out, &out)
		assertNoSecret(t, out.String())
		var rep CheckReport
		if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
			t.Fatalf("%s: -o json is not JSON: %v\n%s", file, jerr, out.String())
		}
		if rep.OK != (err == nil) || (err != nil && err != ErrReported) {
			t.Errorf("%s: ok %v with error %v", file, rep.OK, err)
		}
		for _, p := range rep.Problems {
			if p.Path == "" || p.Line == 0 || p.Column == 0 || p.Message == "" {
				t.Errorf("%s: problem without its place: %+v", file, p)
			}
		}
	}
}

// assertNoSecret fails when output holds a value of testdata/check/keys.yaml or a literal secret
// the configs wrote in the wrong place (all of them start with KEYVALUE- or LITERAL-).
func assertNoSecret(t *testing.T, out string) {
	t.Helper()
	for _, marker := range []string{"KEYVALUE-", "LITERAL-", "s3cr3t", "hunter2"} {
		if strings.Contains(out, marker) {
			t.Errorf("output holds a secret value (%s...):\n%s", marker, out)
		}
	}
}

// TestSignErrorsPrintNoSecret: `keygate sign` on the same careless configs fails where check
// does, and its error, like check's, never carries a secret value.
func TestSignErrorsPrintNoSecret(t *testing.T) {
	files, _ := filepath.Glob("testdata/check/*.yaml")
	for _, file := range files {
		if filepath.Base(file) == "keys.yaml" {
			continue
		}
		var out, errOut bytes.Buffer
		root := newRoot(&out, &errOut)
		root.SetIn(strings.NewReader("POST /x HTTP/1.1\r\nHost: pay.egress.local\r\n\r\n{\"data\":\"x\"}"))
		root.SetArgs([]string{"sign", "--config", file, "--provider", "pay"})
		err := root.ExecuteContext(context.Background())
		got := out.String() + errOut.String()
		if err != nil {
			got += err.Error()
		}
		assertNoSecret(t, got)
	}
}

// TestCheckResolveWithVaultDown: with --resolve and Vault unreachable, check still checks the
// references' form, passes, and says in a note what it could not check.
func TestCheckResolveWithVaultDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	t.Setenv("CHECK_TEST_VAULT_TOKEN", "x")
	p := filepath.Join(t.TempDir(), "keygate.yaml")
	cfg := "keystore:\n  type: vault\n  vault:\n    address: http://" + addr + "\n    timeout: 1s\n    auth: {method: token, token_env: CHECK_TEST_VAULT_TOKEN}\n" +
		"providers:\n  - name: pay\n    hosts: [pay.egress.local]\n    upstream: {url: \"https://pay.example\"}\n" +
		"    secrets: {app_secret: \"secret/keygate/pay#app_secret\"}\n"
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := runCheck(context.Background(), p, true)
	if !rep.OK || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "not reachable") {
		t.Errorf("check --resolve with Vault down: %+v", rep)
	}
}
