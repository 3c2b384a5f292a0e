package vaulttest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the vault binary tests use: $VAULT_BIN, else the one scripts/vault-build.sh
// builds once into its cache folder (and prints). A cold build takes about 12 minutes: run
// `make vault` before `go test` so the test timeout is not spent building.
func Binary() (string, error) {
	binOnce.Do(func() { binPath, binErr = findBinary() })
	return binPath, binErr
}

func findBinary() (string, error) {
	if b := os.Getenv("VAULT_BIN"); b != "" {
		if _, err := exec.LookPath(b); err != nil {
			return "", fmt.Errorf("VAULT_BIN=%s: %w", b, err)
		}
		return b, nil
	}
	script, err := buildScript()
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s failed (%v); no vault binary, and tests never skip for that:\n%s", script, err, tail(stderr.String(), 2000))
	}
	b := strings.TrimSpace(lastLine(stdout.String()))
	if b == "" {
		return "", fmt.Errorf("%s printed no binary path", script)
	}
	return b, nil
}

// buildScript finds scripts/vault-build.sh from this source file, or by walking up from the
// working directory to the module root.
func buildScript() (string, error) {
	var dirs []string
	if _, file, _, ok := runtime.Caller(0); ok {
		dirs = append(dirs, filepath.Join(filepath.Dir(file), "..", ".."))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "scripts", "vault-build.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("scripts/vault-build.sh not found and VAULT_BIN not set")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
