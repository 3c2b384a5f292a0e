package token

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/keygate/keygate/signer"
)

// Observer receives the manager's events, for metrics. Calls are synchronous and must be cheap.
// Labels derived from Key are names, never secrets.
type Observer interface {
	// Lookup is one Token call: served from the cache (hit) or needing a fetch (miss).
	Lookup(key Key, hit bool)
	// Fetched is one call of the token endpoint; err is nil on success.
	Fetched(key Key, err error)
}

// NopObserver discards events; it is the default Observer.
type NopObserver struct{}

func (NopObserver) Lookup(Key, bool)   {}
func (NopObserver) Fetched(Key, error) {}

var _ Observer = NopObserver{}

// Options configure a Manager. Zero fields take the defaults applied in withDefaults.
type Options struct {
	// Store persists tokens; a Coordinator store makes replicas fetch once. Default: a new
	// MemoryStore.
	Store  Store
	Logger *slog.Logger // default: discard
	Clock  func() time.Time
	// Observer gets lookup and fetch events. Default: NopObserver.
	Observer Observer
	// HTTPClient is what fetchers compiled by Manager.Provider use. Default: a client without a
	// global timeout (each fetch is bounded by its policy's Timeout).
	HTTPClient *http.Client
	// Holder names this replica in leases of a Coordinator store. Default: host-pid-random.
	Holder string
	// LeasePoll is how often a replica that lost the lease re-reads the store. Default 50ms.
	LeasePoll time.Duration
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Store == nil {
		o.Store = NewMemoryStore(o.Clock)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Observer == nil {
		o.Observer = NopObserver{}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		o.Holder = host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)
	}
	if o.LeasePoll <= 0 {
		o.LeasePoll = 50 * time.Millisecond
	}
	return o
}

// Manager caches tokens per (tenant, provider). It lives as long as the process: config versions
// come and go, each taking a Source from the same Manager, so a reload keeps the cached tokens.
type Manager struct {
	opts Options

	mu      sync.Mutex
	entries map[Key]*entry

	// Background refreshes are the Manager's: they run under ctx, Close cancels and waits.
	ctx      context.Context
	stop     context.CancelFunc
	refreshs sync.WaitGroup
}

// NewManager returns a Manager with opts' defaults applied.
func NewManager(opts Options) *Manager {
	ctx, stop := context.WithCancel(context.Background())
	return &Manager{opts: opts.withDefaults(), entries: map[Key]*entry{}, ctx: ctx, stop: stop}
}

// Retain drops the cached tokens of every key keep refuses: a provider that left the config
// (or changed tenant) no longer holds a token, and the map does not grow with each config.
func (m *Manager) Retain(keep func(Key) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.entries {
		if !keep(k) {
			delete(m.entries, k)
		}
	}
}

// Close stops the background refreshes and waits for them.
func (m *Manager) Close() {
	m.stop()
	m.refreshs.Wait()
}

// Source returns the token source of provider for tenant, fetching with f under policy p. The
// cache state belongs to the (tenant, provider) key, so sources handed out for successive config
// versions share it; each fetch uses the fetcher of the source that started it.
func (m *Manager) Source(tenant, provider string, f Fetcher, p Policy) signer.TokenSource {
	return m.source(tenant, provider, f, p)
}

func (m *Manager) source(tenant, provider string, f Fetcher, p Policy) *ProviderSource {
	key := Key{Tenant: tenant, Provider: provider}
	m.mu.Lock()
	e, ok := m.entries[key]
	if !ok {
		e = &entry{key: key}
		m.entries[key] = e
	}
	m.mu.Unlock()
	return &ProviderSource{m: m, e: e, f: f, p: p.withDefaults()}
}
