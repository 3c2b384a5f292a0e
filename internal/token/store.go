package token

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/keygate/keygate/internal/secret"
)

// ErrConflict is what a Coordinator's store reports when a check-and-set write lost a race.
var ErrConflict = errors.New("token store: concurrent write")

// Store persists tokens beyond one manager: across config versions, and across replicas when the
// store is shared. Load reports false for a key holding no token. Implementations must be safe
// for concurrent use.
type Store interface {
	Load(ctx context.Context, key Key) (Token, bool, error)
	Save(ctx context.Context, key Key, t Token) error
	Delete(ctx context.Context, key Key) error
}

// Coordinator is the optional capability of a shared store to elect one fetcher per key. A
// replica that needs a token takes the lease, fetches and saves (saving ends the lease); the
// others wait for the saved token. A lease expires by itself after ttl, so a crashed holder
// blocks the others for at most ttl.
type Coordinator interface {
	Store
	// TryLease takes key's fetch lease for holder until now+ttl. It reports false when another
	// holder's lease is still running or another replica took it first.
	TryLease(ctx context.Context, key Key, holder string, ttl time.Duration) (bool, error)
	// Release ends holder's lease early (its fetch failed); a no-op if holder does not hold it.
	Release(ctx context.Context, key Key, holder string) error
}

// MemoryStore is a Store and Coordinator in this process's memory: the default store, and a
// way for several managers in one process (tests) to share tokens.
type MemoryStore struct {
	clock func() time.Time

	mu      sync.Mutex
	records map[Key]memoryRecord
}

type memoryRecord struct {
	tok    Token
	holder string
	until  time.Time
}

var _ Coordinator = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store reading time from clock (nil: time.Now).
func NewMemoryStore(clock func() time.Time) *MemoryStore {
	if clock == nil {
		clock = time.Now
	}
	return &MemoryStore{clock: clock, records: map[Key]memoryRecord{}}
}

func (s *MemoryStore) Load(_ context.Context, key Key) (Token, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[key]
	return r.tok, !r.tok.Value.IsZero(), nil
}

// Save stores t and ends any lease on key.
func (s *MemoryStore) Save(_ context.Context, key Key, t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[key] = memoryRecord{tok: t}
	return nil
}

func (s *MemoryStore) Delete(_ context.Context, key Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[key]
	r.tok = Token{}
	s.records[key] = r
	return nil
}

// DeleteIf removes the token only if it is rejected.
func (s *MemoryStore) DeleteIf(_ context.Context, key Key, rejected secret.Value) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[key]; r.tok.Value.Equal(rejected) {
		r.tok = Token{}
		s.records[key] = r
	}
	return nil
}

// ConditionalDeleter is the optional capability of deleting a stored token only if it is the
// rejected one, atomically: a replica must never erase the token another replica just saved.
type ConditionalDeleter interface {
	DeleteIf(ctx context.Context, key Key, rejected secret.Value) error
}

var (
	_ ConditionalDeleter = (*MemoryStore)(nil)
	_ ConditionalDeleter = (*VaultStore)(nil)
)

func (s *MemoryStore) TryLease(_ context.Context, key Key, holder string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	r := s.records[key]
	if r.holder != "" && r.holder != holder && now.Before(r.until) {
		return false, nil
	}
	r.holder, r.until = holder, now.Add(ttl)
	s.records[key] = r
	return true, nil
}

func (s *MemoryStore) Release(_ context.Context, key Key, holder string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.records[key]; ok && r.holder == holder {
		r.holder, r.until = "", time.Time{}
		s.records[key] = r
	}
	return nil
}
