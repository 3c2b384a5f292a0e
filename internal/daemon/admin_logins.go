package daemon

import (
	"log/slog"
	"slices"
	"sync"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/versions"
)

// adminLogins is who may log in with a static token: the running config version's
// admin.tokens plus admin.tokens_file's. Both are followed: a line removed from admin.tokens
// (a leaked token revoked with a config apply, the file or the API) stops logging in when that
// version runs, not at the next restart.
type adminLogins struct {
	mu     sync.Mutex
	set    *admin.TokenSet
	config []admin.Token // the running version's admin.tokens
	file   []admin.Token // admin.tokens_file's
	log    *slog.Logger
}

// replace makes config and file the accepted set, or changes nothing and says why.
func (l *adminLogins) replace(cfg, file []admin.Token) error {
	if err := l.set.Replace(append(slices.Clone(cfg), file...)); err != nil {
		return err
	}
	l.config, l.file = cfg, file
	return nil
}

// setFile is a new admin.tokens_file content.
func (l *adminLogins) setFile(file []admin.Token) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.replace(l.config, file)
}

// versionApplied follows the config version that became current (configs.onApplied).
func (l *adminLogins) versionApplied(v versions.Version) {
	f, err := config.Parse(v.Config)
	if err != nil {
		l.log.Error("admin tokens of the applied version could not be read: the previous tokens stay", "version", v.Number, "err", err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.replace(adminTokens(f.Admin.Tokens), l.file); err != nil {
		// A version's tokens are validated before it applies; what is left is one token
		// under two principals, here and in admin.tokens_file. Fail closed: the version's
		// tokens without the file's, so a token this version removed does not log in.
		l.log.Error("admin.tokens of the applied version conflict with admin.tokens_file: only the version's tokens log in until the file changes",
			"version", v.Number, "err", err)
		if err := l.replace(adminTokens(f.Admin.Tokens), nil); err != nil {
			l.log.Error("admin.tokens of the applied version refused: the previous tokens stay", "version", v.Number, "err", err)
		}
	}
}

// runningTokens is the admin.tokens of the version keygate serves (restored from the store,
// which the API may have changed since the file was written), else of the boot file.
func runningTokens(cfgs configs, boot *config.File) []config.AdminToken {
	if v, ok := cfgs.Current(); ok {
		if f, err := config.Parse(v.Config); err == nil {
			return f.Admin.Tokens
		}
	}
	return boot.Admin.Tokens
}
