package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/versions"
)

// adminLogins is who may log in: with a static token, the running config version's
// admin.tokens plus admin.tokens_file's; with a JWT, the running version's admin.jwt. All are
// followed: a line removed from admin.tokens (a leaked token revoked with a config apply, the
// file or the API), or an admin.jwt narrowed or removed (a compromised issuer), stops logging
// in when that version runs, not at the next restart.
type adminLogins struct {
	mu     sync.Mutex
	set    *admin.TokenSet
	config []admin.Token // the running version's admin.tokens
	file   []admin.Token // admin.tokens_file's
	// jwt checks JWTs with the running version's admin.jwt; nil when keygate started without
	// one (the login routes are set up at start: turning JWT login on takes a restart).
	jwt *followedJWT
	dir string // relative paths of a version (admin.jwt.jwks_file) resolve here
	// version is the newest version followed: versions are applied in order, but their
	// onApplied calls may run concurrently and an older one must not undo a newer one.
	version int
	// metricsAuth is the running version's admin.metrics.require_token: whether /metrics
	// wants a gateway admin's token (turning it on must not wait for a restart).
	metricsAuth atomic.Bool
	log         *slog.Logger
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
		l.log.Error("admin logins of the applied version could not be read: the previous ones stay", "version", v.Number, "err", err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if v.Number < l.version {
		return
	}
	l.version = v.Number
	l.followJWT(v.Number, f)
	l.metricsAuth.Store(f.Admin.Metrics.RequireToken)
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

// followJWT makes f's admin.jwt the one JWTs are checked with, when it changed. A section that
// cannot be built (an unreadable JWKS file) fails closed: no JWT logs in until one can. The
// caller holds l.mu.
func (l *adminLogins) followJWT(version int, f *config.File) {
	if l.jwt == nil {
		return
	}
	app.Prepare(f, l.dir)
	key := jwtKey(f.Admin.JWT)
	if cur := l.jwt.cur.Load(); cur != nil && cur.key == key {
		return
	}
	st := &jwtState{key: key}
	if j := f.Admin.JWT; j != nil {
		v, err := newJWTVerifier(j)
		if err != nil {
			l.log.Error("admin.jwt of the applied version could not be built: no JWT logs in", "version", version, "err", err)
		}
		st.v = v
	}
	l.jwt.cur.Store(st)
	l.log.Info("admin.jwt of the applied version checks JWT logins", "version", version, "enabled", st.v != nil)
}

// jwtKey is what a verifier was built from, to tell a changed admin.jwt.
func jwtKey(j *config.AdminJWT) string {
	b, _ := json.Marshal(j)
	return string(b)
}

// followedJWT is the admin API's JWT verifier: the running version's admin.jwt.
type followedJWT struct{ cur atomic.Pointer[jwtState] }

type jwtState struct {
	key string
	v   admin.JWTVerifier // nil: admin.jwt is off (or could not be built)
}

var errJWTOff = errors.New("JWT login is off in the running config version (admin.jwt)")

func (f *followedJWT) Verify(ctx context.Context, raw string) (admin.Principal, error) {
	st := f.cur.Load()
	if st == nil || st.v == nil {
		return admin.Principal{}, errJWTOff
	}
	return st.v.Verify(ctx, raw)
}
