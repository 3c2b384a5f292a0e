package daemon

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/token"
	"github.com/keygate/keygate/internal/versions"
	"github.com/keygate/keygate/keystore"
)

// bootConfig reads what keygate needs before any version can be restored: where the keystore
// and the state are. It comes from the config file or, when the file cannot be read (the
// config store is unreachable at restart), from the last-known-good version on local disk.
func bootConfig(path string, log *slog.Logger) (*app.Loaded, error) {
	loaded, err := app.Load(path)
	if err == nil {
		return loaded, nil
	}
	// The file is unreadable, so only the environment can say where the state is
	// (KEYGATE_STATE_DIR, else the default).
	var env config.File
	dir, _ := filepath.Abs(filepath.Dir(path))
	app.Prepare(&env, dir)
	v, lerr := versions.LastKnownGoodIn(env.StateDir()).Load()
	if lerr != nil {
		return nil, err // nothing to fall back on: the file's own error says what is wrong
	}
	log.Warn("config file unreadable: starting from the last-known-good version", "err", err, "version", v.Number)
	return app.LoadBytes(v.Config, dir, "last-known-good version "+fmt.Sprint(v.Number))
}

// sharedState is where versions, the last-known-good copy and provider tokens live: local disk
// for one machine, the keystore's Vault for a fleet.
type sharedState struct {
	versions versions.Store
	lkg      *versions.LastKnownGood
	tokens   token.Store // nil: in memory
}

func openShared(store keystore.Store, f *config.File) (sharedState, error) {
	dir := f.StateDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return sharedState{}, fmt.Errorf("state.dir: %w", err)
	}
	lkg := versions.LastKnownGoodIn(dir)
	if !f.State.SharedInVault {
		disk, err := versions.OpenDisk(filepath.Join(dir, "versions"), 0)
		if err != nil {
			return sharedState{}, fmt.Errorf("state.dir: %w", err)
		}
		return sharedState{versions: disk, lkg: lkg}, nil
	}
	vc, ok := store.(keystore.VaultClient)
	if !ok || vc.VaultClient() == nil {
		return sharedState{}, errors.New("state.shared_in_vault: the keystore is not Vault")
	}
	ts, err := token.NewVaultStore(token.VaultStoreOptions{Client: vc.VaultClient()})
	if err != nil {
		return sharedState{}, fmt.Errorf("state.shared_in_vault: %w", err)
	}
	return sharedState{
		versions: versions.NewVaultStore(vc.VaultClient(), versions.VaultOptions{}),
		lkg:      lkg, tokens: ts,
	}, nil
}

// openAudit opens the JSON-lines audit log and the in-memory copy the admin API queries.
func openAudit(f *config.File) (audit.Sink, *audit.Memory, func(), error) {
	mem := audit.NewMemory(0)
	path := auditPath(f)
	var w io.Writer = os.Stdout
	closeFn := func() {}
	if path != "-" {
		file, err := audit.OpenRotating(path, 0, 0) // bounded: 64 MiB × 5 files
		if err != nil {
			return nil, nil, nil, fmt.Errorf("state.audit_file: %w", err)
		}
		w, closeFn = file, func() { _ = file.Close() }
	}
	return audit.Fanout{audit.NewJSONLines(w), mem}, mem, closeFn, nil
}
