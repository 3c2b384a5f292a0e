package fleet

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/keygate/keygate/envoy/emu"
)

// startEgress starts an Envoy emulator configured over ADS by the replica's own xDS server, as
// each replica's Envoy sidecar would be, and returns its URL.
func startEgress(t *testing.T, r *replica) string {
	t.Helper()
	conn, err := grpc.NewClient(r.xds, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	e, err := emu.NewFromADS(ctx, conn, emu.ADSConfig{NodeID: "fleet-" + r.name, NodeCluster: "fleet"},
		emu.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		stop()
		_ = conn.Close()
		t.Fatalf("%s: emulator over ADS: %v", r.name, err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(func() { srv.Close(); stop(); _ = e.Close(); _ = conn.Close() })
	return srv.URL
}

// tally is what the callers of one burst got back, per replica.
type tally struct {
	mu       sync.Mutex
	statuses map[string]map[string]int // replica -> status -> count
	// firstError is the first error body each replica answered (keygate's error bodies name
	// the stage and reference, never a value), for the failure message.
	firstError map[string]string
}

func (ty *tally) add(replica, status, body string) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	if ty.statuses[replica] == nil {
		ty.statuses[replica] = map[string]int{}
	}
	ty.statuses[replica][status]++
	if status != "200" && ty.firstError[replica] == "" {
		if ty.firstError == nil {
			ty.firstError = map[string]string{}
		}
		ty.firstError[replica] = status + " " + body
	}
}

// notOK counts answers other than 200.
func (ty *tally) notOK() int {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	n := 0
	for _, m := range ty.statuses {
		for s, c := range m {
			if s != "200" {
				n += c
			}
		}
	}
	return n
}

// burst sends n requests at once (released together), spread round-robin over the egresses, and
// tallies the statuses per replica.
func burst(replicas []*replica, egress []string, n int, host string) *tally {
	client := &http.Client{Timeout: 20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}}
	defer client.CloseIdleConnections()
	ty := &tally{statuses: map[string]map[string]int{}}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		k := i % len(egress)
		wg.Go(func() {
			<-start
			status, body := send(client, egress[k], host)
			ty.add(replicas[k].name, status, body)
		})
	}
	close(start)
	wg.Wait()
	return ty
}

// send posts one order and returns the status as text ("no answer" when none came back) and,
// for an error, the start of the body.
func send(c *http.Client, egress, host string) (string, string) {
	req, err := http.NewRequest(http.MethodPost, egress+"/orders", strings.NewReader(`{"amount":7}`))
	if err != nil {
		return "bad request", err.Error()
	}
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "no answer", err.Error()
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return strconv.Itoa(resp.StatusCode), string(b)
}
