// Package app assembles a keygate process from a config: it loads the file (viper, with
// environment overrides), opens the keystore, builds the compilers of every part, and compiles
// snapshots. `serve`, `dev` and `sign` all start here, so they run the same pipeline.
package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/viper"

	"github.com/keygate/keygate/internal/config"
)

// EnvPrefix is the prefix of environment overrides: KEYGATE_LISTEN_EXT_PROC overrides
// listen.ext_proc, KEYGATE_KEYSTORE_VAULT_ADDRESS overrides keystore.vault.address,
// KEYGATE_STATE_DIR overrides state.dir. Machine-specific settings belong there, so that the
// replicas of a fleet run byte-identical config files (one version, one hash).
const EnvPrefix = "KEYGATE"

// overridable lists the settings the environment may override: the ones that differ between
// machines. Providers are never overridden from the environment; they are versioned config.
var overridable = []string{
	"listen.ext_proc", "listen.admin", "listen.xds",
	"keystore.type", "keystore.file.path", "keystore.vault.address", "keystore.vault.namespace",
	"state.dir", "state.audit_file",
}

// Loaded is a config file as read: the bytes (versioned as written), the parsed File with
// environment overrides applied, and the folder relative paths resolve against.
type Loaded struct {
	Path string
	Data []byte
	File *config.File
	Dir  string
}

// Load reads path with viper for environment overrides and parses it strictly.
func Load(path string) (*Loaded, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	dir, _ := filepath.Abs(filepath.Dir(path))
	return LoadBytes(data, dir, path)
}

// LoadBytes is Load for a config already in memory (the embedded dev config, an admin apply).
func LoadBytes(data []byte, dir, name string) (*Loaded, error) {
	f, err := config.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	Prepare(f, dir)
	return &Loaded{Path: name, Data: data, File: f, Dir: dir}, nil
}

// Prepare applies the environment overrides and makes relative paths relative to dir. Every
// config keygate runs goes through it, whether read from the file, a stored version, or the
// admin API.
func Prepare(f *config.File, dir string) {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	for _, key := range overridable {
		_ = v.BindEnv(key) // cannot fail with a non-empty key
	}
	applyOverrides(f, v)
	resolvePaths(f, dir)
}

func applyOverrides(f *config.File, v *viper.Viper) {
	set := func(key string, dst *string) {
		if v.IsSet(key) {
			*dst = v.GetString(key)
		}
	}
	set("listen.ext_proc", &f.Listen.ExtProc)
	set("listen.admin", &f.Listen.Admin)
	set("listen.xds", &f.Listen.XDS)
	set("keystore.type", &f.Keystore.Type)
	set("state.dir", &f.State.Dir)
	set("state.audit_file", &f.State.AuditFile)
	if v.IsSet("keystore.file.path") {
		if f.Keystore.File == nil {
			f.Keystore.File = &config.FileStore{}
		}
		f.Keystore.File.Path = v.GetString("keystore.file.path")
	}
	if v.IsSet("keystore.vault.address") || v.IsSet("keystore.vault.namespace") {
		if f.Keystore.Vault == nil {
			f.Keystore.Vault = &config.Vault{}
		}
		set("keystore.vault.address", &f.Keystore.Vault.Address)
		set("keystore.vault.namespace", &f.Keystore.Vault.Namespace)
	}
}

// resolvePaths makes file references relative to the config file's folder, as a user reading
// the config would expect.
func resolvePaths(f *config.File, dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if f.Keystore.File != nil {
		abs(&f.Keystore.File.Path)
	}
	abs(&f.State.Dir)
	if t := f.Listen.TLS; t != nil { // keygate's own files; listen.tls.envoy names Envoy's
		abs(&t.CertFile)
		abs(&t.KeyFile)
		abs(&t.ClientCAFile)
	}
	abs(&f.Admin.TokensFile)
	if f.Admin.JWT != nil {
		abs(&f.Admin.JWT.JWKSFile)
	}
	if f.State.AuditFile != "-" {
		abs(&f.State.AuditFile)
	}
	for i := range f.Providers {
		if s := f.Providers[i].Script; s != nil {
			abs(&s.File)
		}
		abs(&f.Providers[i].Upstream.CAFile)
	}
}

// Defaults for the listen addresses, all on loopback.
const (
	DefaultExtProcAddr = "127.0.0.1:18080"
	DefaultAdminAddr   = "127.0.0.1:18081"
	DefaultXDSAddr     = "127.0.0.1:18000"
)

// ListenOrDefault fills unset listen addresses.
func ListenOrDefault(l config.Listen) config.Listen {
	if l.ExtProc == "" {
		l.ExtProc = DefaultExtProcAddr
	}
	if l.Admin == "" {
		l.Admin = DefaultAdminAddr
	}
	if l.XDS == "" {
		l.XDS = DefaultXDSAddr
	}
	return l
}
