package token

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/testkit"
)

// fixture is a manager over a fake clock and a real loopback token endpoint.
type fixture struct {
	srv   *tokenServer
	clock *fakeClock
	m     *Manager
	src   *ProviderSource
	logs  *testkit.SyncBuffer
}

func newFixture(t *testing.T, p Policy) *fixture {
	fx := &fixture{srv: newTokenServer(t), clock: newFakeClock(), logs: &testkit.SyncBuffer{}}
	log := slog.New(slog.NewJSONHandler(fx.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fx.m = NewManager(Options{Logger: log, Clock: fx.clock.Now})
	fx.src = fx.m.source("acme", "pay", oauth2For(t, fx.srv, fx.clock.Now), p)
	t.Cleanup(func() { noLeak(t, "log output", fx.logs.String()) })
	return fx
}

// burst runs n concurrent Token calls and returns the distinct tokens and errors seen.
func burst(t *testing.T, ts interface {
	Token(context.Context) (secret.Value, error)
}, n int) (map[string]int, []error) {
	var mu sync.Mutex
	got := map[string]int{}
	var errs []error
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := ts.Token(context.Background())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			got[reveal(v)]++
		}()
	}
	wg.Wait()
	return got, errs
}

func TestSingleFlight(t *testing.T) {
	fx := newFixture(t, Policy{})
	fx.srv.set("ok", 50*time.Millisecond) // callers pile up behind the fetch
	got, errs := burst(t, fx.src, 200)
	if len(errs) > 0 {
		t.Fatalf("%d callers failed, first: %v", len(errs), errs[0])
	}
	if n := fx.srv.calls.Load(); n != 1 {
		t.Errorf("token endpoint called %d times for 200 concurrent callers, want 1", n)
	}
	if got[issued(1)] != 200 {
		t.Errorf("callers did not all get the one fetched token (%d distinct)", len(got))
	}
}

func TestRefreshAheadAndExpiry(t *testing.T) {
	fx := newFixture(t, Policy{RefreshBefore: 60 * time.Second})
	ctx := context.Background()
	if _, err := fx.src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	fx.clock.Advance(30 * time.Second) // fresh: no fetch
	if v, _ := fx.src.Token(ctx); reveal(v) != issued(1) || fx.srv.calls.Load() != 1 {
		t.Fatal("a fresh token was not served from the cache")
	}
	fx.clock.Advance(40 * time.Second) // 70s of 120s: inside the refresh window
	fx.srv.set("ok", 50*time.Millisecond)
	got, errs := burst(t, fx.src, 100)
	if len(errs) > 0 || got[issued(1)] != 100 {
		t.Fatalf("inside the refresh window callers must get the valid token at once (errors %d)", len(errs))
	}
	eventually(t, "the background refresh", func() bool { v, _ := fx.src.Load(ctx); return reveal(v) == issued(2) })
	if n := fx.srv.calls.Load(); n != 2 {
		t.Errorf("refresh ahead called the endpoint %d times, want 2 in all", n)
	}
	fx.clock.Advance(200 * time.Second) // token 2 expired
	v, err := fx.src.Token(ctx)
	if err != nil || reveal(v) != issued(3) {
		t.Fatalf("after expiry want a fresh fetch, got error %v", err)
	}
}

func TestInvalidateBurstRefetchesOnce(t *testing.T) {
	for _, explicit := range []bool{false, true} {
		name := map[bool]string{false: "Invalidate", true: "InvalidateToken"}[explicit]
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, Policy{})
			ctx := context.Background()
			old, err := fx.src.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			fx.clock.Advance(2 * time.Second) // older than the invalidate grace
			fx.srv.set("ok", 20*time.Millisecond)
			var wg sync.WaitGroup
			for range 50 { // 50 in-flight requests all answered 401 with the same token
				wg.Add(1)
				go func() {
					defer wg.Done()
					if explicit {
						fx.src.InvalidateToken(ctx, old)
					} else {
						fx.src.Invalidate(ctx)
					}
					if _, err := fx.src.Token(ctx); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if n := fx.srv.calls.Load(); n != 2 {
				t.Errorf("token endpoint called %d times, want 2 (one refetch)", n)
			}
			if v, _ := fx.src.Load(ctx); v.Equal(old) {
				t.Error("the rejected token is still cached")
			}
		})
	}
}

func TestFetchFailures(t *testing.T) {
	tests := []struct {
		mode   string
		kind   failure.Kind
		status int
		says   string
	}{
		{"500", failure.BadGateway, 502, "answered 500"},
		{"503", failure.Unavailable, 503, "answered 503"},
		{"401", failure.BadGateway, 502, "answered 401"},
		{"slow", failure.Timeout, 504, "did not answer"},
		{"empty", failure.BadGateway, 502, "without access_token"},
		{"garbage", failure.BadGateway, 502, "without access_token"},
		{"html", failure.BadGateway, 502, "text/html"},
		{"nofield", failure.BadGateway, 502, "without access_token"},
		{"refused", failure.Unavailable, 503, "unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			fx := newFixture(t, Policy{Timeout: 200 * time.Millisecond})
			switch tt.mode {
			case "slow":
				fx.srv.set("slow", 2*time.Second)
			case "refused":
				fx.srv.Close()
			default:
				fx.srv.set(tt.mode, 0)
			}
			_, err := fx.src.Token(context.Background())
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			noLeak(t, "error", msg)
			if failure.KindOf(err) != tt.kind || failure.Status(err) != tt.status || failure.StageOf(err) != "token" {
				t.Errorf("kind %v status %d stage %q, want %v %d token", failure.KindOf(err), failure.Status(err), failure.StageOf(err), tt.kind, tt.status)
			}
			if !bytes.Contains([]byte(msg), []byte(tt.says)) {
				t.Errorf("error %q does not say %q", msg, tt.says)
			}
			if !bytes.Contains([]byte(fx.logs.String()), []byte("token fetch failed")) {
				t.Error("the failed fetch was not logged (the leak scan of the log would be vacuous)")
			}
		})
	}
}

func TestBackoffLimitsCalls(t *testing.T) {
	t.Run("fake clock", func(t *testing.T) {
		fx := newFixture(t, Policy{})
		fx.srv.set("500", 0)
		for range 5 {
			if _, errs := burst(t, fx.src, 200); len(errs) != 200 {
				t.Fatalf("%d callers succeeded against a failing endpoint", 200-len(errs))
			}
		}
		if n := fx.srv.calls.Load(); n != 1 {
			t.Errorf("1000 callers inside the backoff made %d calls, want 1", n)
		}
		fx.clock.Advance(DefaultBackoffMax + time.Second)
		_, _ = fx.src.Token(context.Background())
		if n := fx.srv.calls.Load(); n != 2 {
			t.Errorf("after the backoff %d calls, want 2", n)
		}
	})
	t.Run("real clock", func(t *testing.T) {
		srv := newTokenServer(t)
		srv.set("500", 0)
		m := NewManager(Options{})
		src := m.Source("acme", "pay", oauth2For(t, srv, time.Now), Policy{BackoffMin: 100 * time.Millisecond})
		// Callers hammer for a second: doubling waits from 50-100ms allow at most 5 calls.
		for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
			_, _ = src.Token(context.Background())
		}
		if n := srv.calls.Load(); n > 6 || n < 1 {
			t.Errorf("a second of hammering a failing endpoint made %d calls, want 1..6", n)
		}
	})
}

func TestServeStale(t *testing.T) {
	for _, stale := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[stale], func(t *testing.T) {
			fx := newFixture(t, Policy{ServeStale: stale, RefreshBefore: 60 * time.Second})
			ctx := context.Background()
			if _, err := fx.src.Token(ctx); err != nil {
				t.Fatal(err)
			}
			fx.srv.set("500", 0)
			fx.clock.Advance(70 * time.Second) // inside the refresh window
			if v, err := fx.src.Token(ctx); err != nil || reveal(v) != issued(1) {
				t.Fatalf("while the refresh runs the valid token must be served (err %v)", err)
			}
			eventually(t, "the refresh to fail", func() bool {
				fx.src.e.mu.Lock()
				defer fx.src.e.mu.Unlock()
				return fx.src.e.lastErr != nil && !fx.src.e.refreshing
			})
			v, err := fx.src.Token(ctx)
			if stale && (err != nil || reveal(v) != issued(1)) {
				t.Errorf("serve_stale on: want the still-valid token while the endpoint fails, got error %v", err)
			}
			if !stale && (err == nil || failure.Status(err) != 502) {
				t.Errorf("serve_stale off: want the endpoint's 502 after a failed refresh, got error %v", err)
			}
			fx.clock.Advance(60 * time.Second) // expired
			if _, err := fx.src.Token(ctx); err == nil {
				t.Error("an expired token was served")
			}
		})
	}
}

func TestCallerCancelKeepsSharedFetch(t *testing.T) {
	fx := newFixture(t, Policy{})
	fx.srv.set("ok", 300*time.Millisecond)
	short, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := fx.src.Token(short); done <- err }()
	time.Sleep(10 * time.Millisecond)
	v, err := fx.src.Token(context.Background())
	if err != nil || reveal(v) != issued(1) {
		t.Fatalf("the patient caller did not get the shared fetch's token: %v", err)
	}
	if err := <-done; failure.KindOf(err) != failure.Timeout || failure.StageOf(err) != "token" {
		t.Errorf("the impatient caller got %v, want a token-stage timeout", err)
	}
	if n := fx.srv.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestSaveLoadAndSecretsStayOut(t *testing.T) {
	fx := newFixture(t, Policy{})
	ctx := context.Background()
	if _, ok := fx.src.Load(ctx); ok {
		t.Fatal("Load found a token before any")
	}
	mine := secret.FromString(tokenMarker + "-script")
	if err := fx.src.Save(ctx, mine, fx.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if v, err := fx.src.Token(ctx); err != nil || !v.Equal(mine) || fx.srv.calls.Load() != 0 {
		t.Fatal("a saved token was not served")
	}
	err := fx.src.Save(ctx, mine, fx.clock.Now().Add(-time.Second))
	if failure.StageOf(err) != "token" {
		t.Errorf("saving an expired token: %v", err)
	}
	noLeak(t, "error", err.Error())
	// A new manager over the same store (a config reload, a restart with a shared store).
	fx.src.Invalidate(ctx)
	fx.clock.Advance(2 * time.Second)
	fx.src.Invalidate(ctx)
	if _, ok := fx.src.Load(ctx); ok {
		t.Error("Load returned an invalidated token")
	}
}
