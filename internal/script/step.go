// Package script is keygate's custom mode: a provider's signing logic written in JavaScript and
// run in goja, with the API of the key-gateway article (reqHeaders, reqParams, reqBody, respBody
// and built-ins). Secrets reach scripts only as handles (see handles.go): crypto built-ins use
// them, outputs refuse them. Programs are compiled once per config version and run in pooled,
// frozen runtimes under a time and stack limit. docs/custom-mode.md is the user's guide.
package script

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// The provider names the article's arguments come from.
const (
	appKeyVar     = "app_key"    // vars: AppKey, a plain identifier
	aesKeyName    = "aes_key"    // secrets: AesKey handle
	aesIVName     = "aes_iv"     // secrets: AesIV handle
	appSecretName = "app_secret" // secrets: appended by reqBody.buildSignStr()
)

// DefaultMaxTimeout is the default ceiling of script.timeout.
const DefaultMaxTimeout = 10 * time.Second

// Options are the process-wide settings of compiled scripts. Zero fields take defaults.
type Options struct {
	BaseDir        string        // a relative script.file is read from here
	DefaultTimeout time.Duration // per invocation when the script sets none; default 50ms
	MaxStackDepth  int           // JavaScript call depth; default 256
	HTTPClient     *http.Client  // for http_post_*; default a new client. Redirects are never followed.
	TokenURL       string        // the provider's token.url: TokenUrl, and the only host http_post_* reaches
	TokenTimeout   time.Duration // per http_post_* call; default 5s
	Logger         *slog.Logger  // for log()/console.log at debug level; default discards
	MaxMemory      int64         // ceiling of script.memory_bytes; default DefaultMemory
	// MaxTimeout is the ceiling of script.timeout; default DefaultMaxTimeout. Script slots are
	// not preemptible, so a script's time limit is also how long it may keep a processor from
	// other tenants (a dry run's context lives as long as the admin connection).
	MaxTimeout time.Duration

	observeDerived func([]byte)  // tests: sees each value a built-in derived from a secret
	topLevel       time.Duration // tests: the top level's limit instead of topLevelLimit
}

// defaultTimeout is a script's time per invocation when neither it nor Options sets one. A
// variable only so that the package's tests can raise it (main_test.go): a test about what a
// script may touch must not fail because a loaded machine ran it slowly.
var defaultTimeout = 50 * time.Millisecond

func (o Options) withDefaults() Options {
	if o.DefaultTimeout <= 0 {
		o.DefaultTimeout = defaultTimeout
	}
	if o.MaxStackDepth <= 0 {
		o.MaxStackDepth = 256
	}
	if o.TokenTimeout <= 0 {
		o.TokenTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxMemory <= 0 {
		o.MaxMemory = DefaultMemory
	}
	if o.MaxTimeout <= 0 {
		o.MaxTimeout = DefaultMaxTimeout
	}
	return o
}

// Step is a compiled script: the request function as a signer.Step and the response function,
// if any, as a signer.ResponseStep. It is immutable apart from its runtime pool and safe for
// concurrent use.
type Step struct {
	opts     Options
	provider string
	src      *source
	program  *goja.Program
	reqFn    string
	respFn   string // "" when the script has no response function
	timeout  time.Duration
	topLevel time.Duration // min(timeout, topLevelLimit): the top level's limit (vm.go)

	secrets  map[string]keystore.Ref
	appKey   *string
	vars     map[string]string // the provider's plain values: the script's `vars`
	prefix   string
	tokenURL *url.URL
	client   *http.Client

	roles    map[string]secretRole // declared and default roles by secret name (roles.go)
	inferred sync.Map              // secret name -> secretRole fixed by its first use
	memory   int64                 // per-invocation memory budget (memory.go)

	pool      chan *vm // idle runtimes, see vm.go
	ivBinding sync.Map // secret key name -> mode and IV it is bound to, see cipher.go
}

var (
	_ signer.Step         = (*Step)(nil)
	_ signer.ResponseStep = (*Step)(nil)
)

// Compile reads, parses and compiles a provider's script, and builds one runtime to prove the
// functions exist. It runs at config load; a *SyntaxError carries the file, line and column.
func Compile(cfg config.Script, b signer.Build, opts Options) (*Step, error) {
	opts = opts.withDefaults()
	boundRegexps()
	name, text := "inline", cfg.Inline
	if cfg.File != "" {
		name = cfg.File
		path := cfg.File
		if !filepath.IsAbs(path) && opts.BaseDir != "" {
			path = filepath.Join(opts.BaseDir, path)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("script %s: %w", cfg.File, err)
		}
		text = string(raw)
	}
	src, err := parseSource(name, text)
	if err != nil {
		return nil, err
	}
	prog, err := goja.CompileAST(src.program, false)
	if err != nil {
		return nil, &SyntaxError{File: name, Line: 1, Column: 1, Msg: err.Error()}
	}
	s := &Step{
		opts: opts, provider: b.Provider, src: src, program: prog,
		timeout: cfg.Timeout.Or(opts.DefaultTimeout), secrets: b.Secrets,
		topLevel: min(cfg.Timeout.Or(opts.DefaultTimeout), cmp.Or(opts.topLevel, topLevelLimit)),
	}
	if t := cfg.Timeout.Std(); t > opts.MaxTimeout {
		return nil, fmt.Errorf("%s.timeout: want at most %v, got %v (a looping script holds a processor slot that long)", b.Path, opts.MaxTimeout, t)
	}
	if s.reqFn, s.respFn, err = pickFunctions(cfg, src); err != nil {
		return nil, err
	}
	s.roles, err = compileRoles(b.Path+".secrets", cfg.Secrets, func(n string) bool { _, ok := b.Secrets[n]; return ok })
	if err != nil {
		return nil, err
	}
	switch s.memory = cfg.MemoryBytes; {
	case s.memory == 0:
		s.memory = min(DefaultMemory, opts.MaxMemory)
	case s.memory < 0 || s.memory > opts.MaxMemory:
		return nil, fmt.Errorf("%s.memory_bytes: want 1 to %d bytes, got %d", b.Path, opts.MaxMemory, s.memory)
	}
	s.vars = b.Vars
	if v, ok := b.Vars[appKeyVar]; ok {
		s.appKey = &v
	}
	if b.Upstream != nil {
		s.prefix = strings.TrimSuffix(b.Upstream.Path, "/")
	}
	if opts.TokenURL != "" {
		if s.tokenURL, err = url.Parse(opts.TokenURL); err != nil || s.tokenURL.Host == "" {
			return nil, fmt.Errorf("script %s: token url %q is not an absolute URL", name, opts.TokenURL)
		}
	}
	s.client = noRedirects(opts.HTTPClient)
	v, err := s.newVM()
	if err != nil {
		return nil, err
	}
	s.pool = make(chan *vm, max(4, 2*runtime.GOMAXPROCS(0)))
	s.put(v)
	return s, nil
}

// pickFunctions chooses the request and response functions: the configured names, or the first
// and second top-level functions in source order (the article's two anonymous functions).
func pickFunctions(cfg config.Script, src *source) (string, string, error) {
	req, resp := cfg.Request, cfg.Response
	if req == "" {
		req = src.funcs[0]
	}
	if resp == "" && cfg.Request == "" && len(src.funcs) > 1 {
		resp = src.funcs[1]
	}
	if req == resp {
		return "", "", fmt.Errorf("script %s: the request and response functions are both %q", src.name, req)
	}
	return req, resp, nil
}

func noRedirects(c *http.Client) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// Needs: the request function may read the body; the response function reads the response body.
func (s *Step) Needs() signer.Needs {
	return signer.Needs{RequestBody: true, ResponseBody: s.respFn != ""}
}
