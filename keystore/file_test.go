package keystore_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/keystore"
)

const fileSecret = "file-s3cr3t-value"

func writeFileStore(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pemKey(t *testing.T, k any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func indent(s string) string {
	return "      " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n      ")
}

func TestFileKeystore(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	hmacKey := []byte("0123456789abcdef0123456789abcdef")
	body := "secret/keygate/demo:\n  app_secret: " + fileSecret + "\n  other: x\n" +
		"transit:\n" +
		"  transit/h: {type: hmac, key: " + base64.StdEncoding.EncodeToString(hmacKey) + "}\n" +
		"  transit/r:\n    type: rsa\n    key: |\n" + indent(pemKey(t, rsaKey)) + "\n" +
		"  transit/e:\n    type: ecdsa\n    key: |\n" + indent(pemKey(t, ecKey)) + "\n"
	path := writeFileStore(t, body)
	var logs bytes.Buffer
	f, err := keystore.OpenFile(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "development only") {
		t.Errorf("OpenFile must warn loudly; log was %q", logs.String())
	}
	ctx := context.Background()

	t.Run("get", func(t *testing.T) {
		s, err := f.Get(ctx, mustRef(t, "secret/keygate/demo#app_secret"))
		if err != nil || string(s.Value.Reveal()) != fileSecret {
			t.Fatalf("Get: err %v, value matches %v", err, string(s.Value.Reveal()) == fileSecret)
		}
	})
	for _, ref := range []string{"secret/keygate/demo#missing", "secret/keygate/nope#app_secret"} {
		t.Run("missing "+ref, func(t *testing.T) {
			_, err := f.Get(ctx, mustRef(t, ref))
			checkReadFailure(t, err, keystore.ErrNotFound, ref, fileSecret)
		})
	}
	t.Run("hmac", func(t *testing.T) {
		got, err := f.HMAC(ctx, mustRef(t, "transit:transit/h"), "sha2-256", []byte("msg"))
		m := hmac.New(sha256.New, hmacKey)
		m.Write([]byte("msg"))
		if err != nil || !hmac.Equal(got, m.Sum(nil)) {
			t.Fatalf("HMAC: err %v, or wrong MAC", err)
		}
	})
	t.Run("sign", func(t *testing.T) {
		digest := sha256.Sum256([]byte("msg"))
		sig, err := f.Sign(ctx, mustRef(t, "transit:transit/r"), "sha2-256", []byte("msg"))
		if err != nil || rsa.VerifyPKCS1v15(&rsaKey.PublicKey, crypto.SHA256, digest[:], sig) != nil {
			t.Fatalf("RSA sign: err %v, or signature does not verify", err)
		}
		sig, err = f.Sign(ctx, mustRef(t, "transit:transit/e"), "sha2-256", []byte("msg"))
		if err != nil || !ecdsa.VerifyASN1(&ecKey.PublicKey, digest[:], sig) {
			t.Fatalf("ECDSA sign: err %v, or signature does not verify", err)
		}
	})
	t.Run("reload", func(t *testing.T) {
		if err := os.WriteFile(path, []byte("secret/keygate/demo:\n  app_secret: rotated\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := f.Reload(); err != nil {
			t.Fatal(err)
		}
		s, err := f.Get(ctx, mustRef(t, "secret/keygate/demo#app_secret"))
		if err != nil || string(s.Value.Reveal()) != "rotated" {
			t.Fatalf("after reload: err %v", err)
		}
		// A broken file keeps the previous contents and the error names the file, not values.
		if err := os.WriteFile(path, []byte("secret/keygate/demo:\n  app_secret: 12345\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		err = f.Reload()
		if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "12345") {
			t.Fatalf("reload of a bad file: want an error naming %s and not the value, got %v", path, err)
		}
		if _, err := f.Get(ctx, mustRef(t, "secret/keygate/demo#app_secret")); err != nil {
			t.Fatalf("previous contents lost after failed reload: %v", err)
		}
		// The YAML library quotes a null key's value in its error; that must not come through.
		for _, bad := range []string{"secret/keygate/demo:\n  ~: s3cr3t-v4lue\n", "~: {app_secret: s3cr3t-v4lue}\n", "a: [s3cr3t-v4lue\n"} {
			if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := f.Reload(); err == nil || strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("reload of bad YAML: want an error without the value, got one holding it or none (%v)", err == nil)
			}
		}
	})
}

func mustRef(t testing.TB, s string) keystore.Ref {
	t.Helper()
	r, err := keystore.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkReadFailure: a 503 at stage keystore, the sentinel in the chain, the reference named,
// the secret value absent.
func checkReadFailure(t testing.TB, err, sentinel error, ref, secretValue string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error for %s", ref)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %q: want %v in the chain", err, sentinel)
	}
	if failure.Status(err) != 503 || failure.StageOf(err) != "keystore" {
		t.Errorf("error %q: want 503 at stage keystore, got %d at %q", err, failure.Status(err), failure.StageOf(err))
	}
	if !strings.Contains(err.Error(), ref) {
		t.Errorf("error %q does not name the reference %s", err, ref)
	}
	if secretValue != "" && strings.Contains(err.Error(), secretValue) {
		t.Errorf("error message contains the secret value")
	}
}

// TestFileKeystorePicksUpEdits: a key added to the file is served without a restart; an edit
// that breaks the file keeps the previous keys (and the error names no value).
func TestFileKeystorePicksUpEdits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.yaml")
	write := func(s string) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("secret/a:\n  k: one\n")
	f, err := keystore.OpenFile(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := keystore.ParseRef("secret/b#k")
	if _, err := f.Get(context.Background(), ref); err == nil {
		t.Fatal("secret/b exists before it was added")
	}
	write("secret/a:\n  k: one\nsecret/b:\n  k: two\n")
	waitGet := func(want string) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			s, err := f.Get(context.Background(), ref)
			if err == nil && string(s.Value.Reveal()) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the edited file was not picked up: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitGet("two")
	write("secret/b: [not, a, map\n")
	time.Sleep(keystore.FileReloadCheck + 100*time.Millisecond)
	waitGet("two") // a broken edit keeps the previous contents
}
