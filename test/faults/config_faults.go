package faults

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/versions"
)

// invalidConfigPushed: a config that parses but does not compile, and one that does not parse,
// are refused with an error naming the field; the running snapshot keeps serving.
func invalidConfigPushed(t *testing.T, e *env, r *record) {
	up := r.watch(verifyingUpstream(t, e.s, nil, 0))
	dir := writeConfig(t, e.s, setup{upstream: up})
	w := startWorld(t, e, dir)
	r.caller = newCaller(w.egress)
	staticStatuses(t, r.caller, 4, http.StatusOK)
	before := w.kg.App.Snapshots.Load()

	good := configYAML(e.s, setup{upstream: up})
	unknownScheme := strings.Replace(good, "scheme: static,", "scheme: no_such_scheme,", 1)
	loaded, err := app.LoadBytes([]byte(unknownScheme), dir, "pushed.yaml")
	if err != nil {
		t.Fatalf("the bad config should parse (it fails later, at compile): %v", err)
	}
	_, err = w.kg.App.Apply(loaded.File, gateway.Meta{})
	var fe *config.FieldError
	if err == nil || !errors.As(err, &fe) || !strings.HasPrefix(fe.Path, "providers[0]") {
		t.Errorf("apply of an unknown scheme: err %v, want a field error under providers[0]", err)
	}
	r.note("compile error: %v", err)
	_, err = app.LoadBytes([]byte(strings.Replace(good, "timeout: 2s", "timeout: 2s, colour: red", 1)), dir, "pushed.yaml")
	if err == nil || !strings.Contains(err.Error(), "upstream.colour") {
		t.Errorf("parse of an unknown field: err %v, want one naming upstream.colour", err)
	}
	r.note("parse error: %v", err)
	if w.kg.App.Snapshots.Load() != before {
		t.Errorf("a refused config replaced the running snapshot")
	}
	staticStatuses(t, r.caller, 4, http.StatusOK)
	wantOnly(t, r.caller, http.StatusOK)
}

// configStoreUnreachable: keygate applied a config through the version manager (stored in
// Vault KV, cached on disk as last-known-good); it restarts while Vault is down and serves the
// last-known-good version.
func configStoreUnreachable(t *testing.T, e *env, r *record) {
	v, _ := e.vaultUp(t)
	up := r.watch(verifyingUpstream(t, e.s, nil, 0))
	dir := writeConfig(t, e.s, setup{upstream: up})
	data, err := os.ReadFile(filepath.Join(dir, "keygate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lkg := &versions.LastKnownGood{Path: filepath.Join(t.TempDir(), "last-known-good.json")}
	store := versions.NewVaultStore(v.Client(), versions.VaultOptions{Prefix: "faults-config"})
	manager := func(a *app.App) *versions.Manager {
		return versions.NewManager(versions.Options{Store: store, LastKnownGood: lkg, Logger: e.log,
			Compile: func(_ context.Context, f *config.File, pins map[string]int) error {
				_, err := a.Apply(f, gateway.Meta{Pins: pins})
				return err
			}})
	}
	loaded := loadConfig(t, dir)
	first := newApp(t, loaded, e.log)
	if _, err := manager(first).Apply(context.Background(), data, "faults", "initial"); err != nil {
		t.Fatalf("apply through the version manager: %v", err)
	}
	e.vaultDown()

	second := newApp(t, loaded, e.log) // the restarted process
	restored, err := manager(second).Restore(context.Background())
	if err != nil {
		t.Fatalf("restore with the config store down: %v", err)
	}
	r.note("restored version %d from last-known-good with the Vault config store down", restored.Number)
	kg := startKeygate(t, second, loaded, "127.0.0.1:0", e.log)
	r.caller = newCaller(StartEgress(t, loaded.File, kg.addr, e.log))
	staticStatuses(t, r.caller, 10, http.StatusOK)
	wantOnly(t, r.caller, http.StatusOK)
}
