package script

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

// TestHostCallsPauseTheScriptsTime: a host call (the token endpoint) is bounded by its own
// timeout, not the script's: a 300ms answer does not spend a 100ms script budget; and the
// budget runs again after it, so a loop after the call still times out.
func TestHostCallsPauseTheScriptsTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(300 * time.Millisecond)
		_, _ = w.Write([]byte(`{"token":"t"}`))
	}))
	defer srv.Close()
	compile := func(body string) *Step {
		s, err := Compile(config.Script{Inline: reqHead + body + "\n}", Timeout: config.Duration(100 * time.Millisecond)},
			testBuild(t), Options{TokenURL: srv.URL + "/token"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if err := compile(`http_post_json(TokenUrl, {}, {});`).SignRequest(context.Background(), newExchange("/p", `{}`, nil)); err != nil {
		t.Fatalf("a 300ms host call under a 100ms script budget: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := compile(`http_post_json(TokenUrl, {}, {}); for (;;) {}`).SignRequest(ctx, newExchange("/p", `{}`, nil))
	if failure.KindOf(err) != failure.Timeout || !strings.Contains(err.Error(), "ran longer than") && !strings.Contains(err.Error(), "ran out of time") {
		t.Fatalf("a loop after a host call: err %v, want the script's timeout", err)
	}
}
