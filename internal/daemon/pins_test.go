package daemon

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/vaulttest"
	"github.com/keygate/keygate/internal/versions"
	"github.com/keygate/keygate/signer"
	"github.com/keygate/keygate/xds"
)

// TestRollbackRestoresPinnedSecretVersions: a config version pins the KV versions of the
// secrets it uses, so rolling back restores the keys that config signed with, not just its YAML.
func TestRollbackRestoresPinnedSecretVersions(t *testing.T) {
	v := vaulttest.Start(t)
	ctx := context.Background()
	ks := config.Keystore{Type: "vault", Vault: &config.Vault{Address: v.Addr(),
		Auth: config.VaultAuth{Method: "token", TokenFile: vaulttest.WriteSecretFile(t, "token", v.RootToken())}}}
	a, store := openApp(t, ks)
	disk, err := versions.OpenDisk(filepath.Join(t.TempDir(), "versions"), 0)
	if err != nil {
		t.Fatal(err)
	}
	pub := &publisher{app: a, xds: xds.NewServer(nil), dir: t.TempDir()}
	m := versions.NewManager(versions.Options{Store: disk, Compile: pub.compile, Secrets: secretVersions{store}})

	const cfg = `
keystore: {type: vault, vault: {address: "http://127.0.0.1:1", auth: {method: token}}}
providers:
  - name: pay
    hosts: [pay.egress.local]
    upstream: {url: "https://pay.example"}
    secrets: {key: secret/keygate/pin#key}
    signing: [{scheme: static, secret: key, in: bearer}]
`
	current := func() string {
		t.Helper()
		p, _ := a.Snapshots.Load().ProviderByName("pay")
		x := &signer.Exchange{}
		val, err := p.Keys.Secret(ctx, x, "key")
		if err != nil {
			t.Fatalf("read the pinned key: %v", err)
		}
		return string(val.Reveal())
	}

	v.WriteKV(t, "keygate/pin", map[string]string{"key": "pinned-key-version-one"})
	v1, err := m.Apply(ctx, []byte(cfg), "test", "first")
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if v1.SecretVersions["secret/keygate/pin#key"] != 1 || current() != "pinned-key-version-one" {
		t.Fatalf("version 1 pins %v", v1.SecretVersions)
	}

	v.WriteKV(t, "keygate/pin", map[string]string{"key": "rotated-key-version-two"})
	if current() != "pinned-key-version-one" {
		t.Fatal("a running version must keep its pinned key after a rotation")
	}
	v2, err := m.Apply(ctx, []byte(cfg), "test", "pick up the rotated key")
	if err != nil {
		t.Fatalf("apply after rotation: %v", err)
	}
	if v2.Number != 2 || v2.SecretVersions["secret/keygate/pin#key"] != 2 || current() != "rotated-key-version-two" {
		t.Fatalf("version %d pins %v", v2.Number, v2.SecretVersions)
	}

	v3, err := m.Rollback(ctx, 1, "test", "the rotation broke the provider")
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if v3.Number != 3 || v3.SecretVersions["secret/keygate/pin#key"] != 1 || current() != "pinned-key-version-one" {
		t.Fatalf("rollback to 1 gave version %d pinning %v", v3.Number, v3.SecretVersions)
	}
}
