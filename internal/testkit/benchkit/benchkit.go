// Package benchkit holds the fixtures keygate's benchmarks share: an App over a file keystore
// and the article's provider, so that the gateway and xDS benchmarks measure the same thing.
package benchkit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
)

// Keys is the file keystore ArticleProvider reads: a 16-byte AES key and IV.
const Keys = `secret/bench/demo:
  app_secret: demo-app-secret-0123456789
  aes_key: demo-aes-key-16b
  aes_iv: demo-aes-iv-16by
`

// App is an App over a file keystore holding Keys, closed when the benchmark ends.
func App(b testing.TB) *app.App {
	b.Helper()
	path := filepath.Join(b.TempDir(), "keys.yaml")
	if err := os.WriteFile(path, []byte(Keys), 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), config.Keystore{Type: "file", File: &config.FileStore{Path: path}}, app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	return a
}

// ArticleProvider is the article's provider number i: aes_cbc on the data field, then simple
// signing, three secrets.
func ArticleProvider(i int) config.Provider {
	return config.Provider{
		Name: fmt.Sprintf("p%05d", i), Hosts: []string{fmt.Sprintf("p%05d.egress.local", i)},
		Upstream: config.Upstream{URL: fmt.Sprintf("https://api%05d.example.com/v1", i)},
		Secrets: map[string]string{
			"app_secret": "secret/bench/demo#app_secret", "aes_key": "secret/bench/demo#aes_key", "aes_iv": "secret/bench/demo#aes_iv",
		},
		Signing: []config.Step{
			{Scheme: "aes_cbc", Params: []byte(`{"key":"aes_key","iv":"aes_iv","field":"data"}`)},
			{Scheme: "simple", Params: []byte(`{"app_key":"demo-app","app_secret":"app_secret"}`)},
		},
	}
}
