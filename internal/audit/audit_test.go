package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestJSONLinesFormat(t *testing.T) {
	var buf bytes.Buffer
	s := NewJSONLines(&buf)
	ctx := context.Background()
	_ = s.Write(ctx, Admin{Time: t0, Actor: "ops", Role: "gateway_admin", Action: "config.apply", Version: 3, Outcome: OutcomeOK, Status: 200})
	_ = s.Write(ctx, Sign{Time: t0, Tenant: "acme", Provider: "pay", Schemes: []string{"aes_cbc", "simple"},
		Keys: []signer.KeyUse{{Name: "app_secret", Ref: "secret/keygate/acme#app_secret", Version: 2}}, Outcome: OutcomeOK, Status: 200, Latency: 1500 * time.Microsecond})
	want := `{"type":"admin","time":"2026-01-02T03:04:05Z","actor":"ops","role":"gateway_admin","action":"config.apply","version":3,"outcome":"ok","status":200}
{"type":"sign","time":"2026-01-02T03:04:05Z","tenant":"acme","provider":"pay","schemes":["aes_cbc","simple"],"outcome":"ok","status":200,"keys":[{"name":"app_secret","ref":"secret/keygate/acme#app_secret","version":2}],"latency_ms":1.5}
`
	if buf.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestJSONLinesConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	s := NewJSONLines(&buf)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				_ = s.Write(context.Background(), Admin{Actor: fmt.Sprintf("a%d", i), Version: j, Action: "x", Outcome: OutcomeOK})
			}
		}()
	}
	wg.Wait()
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", n, err)
		}
		n++
	}
	if n != 400 {
		t.Fatalf("got %d lines, want 400", n)
	}
}

func TestMemoryQuery(t *testing.T) {
	m := NewMemory(3) // per tenant and kind
	ctx := context.Background()
	for i, tenant := range []string{"a", "b", "a", "a", "b"} {
		_ = m.Write(ctx, Admin{Actor: "ops", Tenant: tenant, Version: i})
	}
	_ = m.Write(ctx, Sign{Tenant: "a", Provider: "p"})
	cases := []struct {
		name string
		f    Filter
		want int
	}{
		{"all kept", Filter{}, 6}, // a keeps its 3 admin events and, apart, its sign event; b both
		{"tenant a", Filter{Tenant: "a"}, 4},
		{"tenant b", Filter{Tenant: "b"}, 2},
		{"sign only", Filter{Kind: KindSign}, 1},
		{"limit", Filter{Limit: 1}, 1},
		{"no such tenant", Filter{Tenant: "c"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := m.Query(c.f); len(got) != c.want {
				t.Fatalf("got %d events, want %d", len(got), c.want)
			}
		})
	}
	got := m.Query(Filter{})
	if got[0].(Admin).Version != 0 || got[5].Kind() != KindSign {
		t.Fatalf("order wrong (want oldest first across tenants): %+v", got)
	}
}

// TestRetentionIsPerTenant: a flood of one tenant's events, or of unauthenticated requests
// (no actor; whatever tenant their URL names), evicts no other tenant's events.
func TestRetentionIsPerTenant(t *testing.T) {
	m := NewMemory(100)
	ctx := context.Background()
	_ = m.Write(ctx, Admin{Actor: "beta-admin", Tenant: "beta", Action: "credential.revoke"})
	for range 10000 {
		_ = m.Write(ctx, Admin{Tenant: "beta", Action: "config.read", Outcome: OutcomeDenied}) // token-less
		_ = m.Write(ctx, Admin{Actor: "alpha-admin", Tenant: "alpha", Action: "config.read"})
	}
	beta := m.Query(Filter{Tenant: "beta"})
	if len(beta) != 1 || beta[0].(Admin).Action != "credential.revoke" {
		t.Fatalf("beta's events after the floods: %d, want its one revoke", len(beta))
	}
	if n := len(m.Query(Filter{})); n > 100+100+AnonymousCapacity+1 {
		t.Fatalf("%d events kept: the memory is not bounded", n)
	}
}

type failing struct{}

func (failing) Write(context.Context, Event) error { return errors.New("disk full") }

func TestFanout(t *testing.T) {
	a, b := NewMemory(0), NewMemory(0)
	err := Fanout{a, failing{}, nil, b}.Write(context.Background(), Admin{Action: "x"})
	if err == nil || len(a.Query(Filter{})) != 1 || len(b.Query(Filter{})) != 1 {
		t.Fatalf("fanout: err=%v a=%d b=%d", err, len(a.Query(Filter{})), len(b.Query(Filter{})))
	}
}

// TestNoSecretInEvents: no event type has a field that could hold a secret value, and events
// built from secret-bearing inputs (as a careless caller would) marshal without them.
func TestNoSecretInEvents(t *testing.T) {
	const raw = "sk_live_TOPSECRET_0123456789"
	sv := secret.FromString(raw)
	events := []Event{
		Admin{Time: t0, Actor: fmt.Sprint(sv), Role: "tenant_admin", Tenant: "acme", Action: "secret.write",
			Target: "secret/keygate/tenants/acme/pay", Version: 4, Outcome: OutcomeOK,
			Error: failure.Wrap(failure.BadRequest, "admin", fmt.Errorf("value %v rejected", sv), "").Error()},
		Sign{Time: t0, Tenant: "acme", Provider: fmt.Sprintf("%v", sv), Schemes: []string{fmt.Sprintf("%s", sv)},
			Keys: []signer.KeyUse{{Name: "k", Ref: "secret/keygate/acme#k", Version: 1}}, Outcome: OutcomeError,
			Stage: "sign", Error: fmt.Sprintf("%+v", sv), Latency: time.Millisecond},
	}
	secretType := reflect.TypeOf(secret.Value{})
	for _, e := range events {
		t.Run(e.Kind(), func(t *testing.T) {
			typ := reflect.TypeOf(e)
			for i := range typ.NumField() {
				ft := typ.Field(i).Type
				if ft == secretType || ft.Kind() == reflect.Interface || (ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8) {
					t.Errorf("field %s has type %s, which could carry a secret", typ.Field(i).Name, ft)
				}
			}
			var buf bytes.Buffer
			if err := NewJSONLines(&buf).Write(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(buf.String(), raw) || strings.Contains(buf.String(), "TOPSECRET") {
				t.Error("a marshalled event contains the secret value")
			}
			if !strings.Contains(buf.String(), secret.Redacted) {
				t.Error("the redacted marker is missing: the test inputs did not reach the output")
			}
		})
	}
}
