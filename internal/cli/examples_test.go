package cli

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/keygate/keygate/signer"
)

// TestEveryExampleConfigChecks runs `keygate check` (parse, validate, compile every step,
// resolve every secret reference in the file keystore) on every keygate config under examples/,
// so an example cannot drift from the schema or name a key its keys.yaml lacks; and parses
// every PEM key of every keys.yaml, so an example key that is not a key is caught here, not by
// the first request.
func TestEveryExampleConfigChecks(t *testing.T) {
	var configs, keyFiles []string
	err := filepath.WalkDir("../../examples", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		if d.Name() == "keys.yaml" {
			keyFiles = append(keyFiles, path)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte("\nproviders:")) || bytes.HasPrefix(data, []byte("providers:")) {
			configs = append(configs, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"callbacks/keygate.yaml", "sdks/keygate.yaml", "dev/keygate.yaml"} {
		found := false
		for _, c := range configs {
			found = found || strings.HasSuffix(filepath.ToSlash(c), want)
		}
		if !found {
			t.Errorf("examples/%s was not found: the walk is broken", want)
		}
	}
	for _, c := range configs {
		t.Run(strings.TrimPrefix(filepath.ToSlash(c), "../../"), func(t *testing.T) {
			if out, err := runMain(t, "check", c); err != nil {
				t.Fatalf("keygate check: %v\n%s", err, out)
			}
		})
	}
	for _, k := range keyFiles {
		t.Run(strings.TrimPrefix(filepath.ToSlash(k), "../../"), func(t *testing.T) {
			data, err := os.ReadFile(k)
			if err != nil {
				t.Fatal(err)
			}
			var paths map[string]map[string]string
			if err := yaml.Unmarshal(data, &paths); err != nil {
				t.Fatalf("not the file keystore format: %v", err)
			}
			for path, fields := range paths {
				for field, v := range fields {
					var err error
					switch {
					case strings.Contains(v, "PRIVATE KEY-----"):
						_, err = signer.ParsePrivateKeyPEM([]byte(v))
					case strings.Contains(v, "-----BEGIN"):
						_, err = signer.ParsePublicKeyPEM([]byte(v))
					}
					if err != nil {
						t.Errorf("%s#%s: %v", path, field, err)
					}
				}
			}
		})
	}
}
