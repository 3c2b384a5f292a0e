package gateway_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/testkit/benchkit"
	"github.com/keygate/keygate/signer"
)

// TestRedTeamPipelineKeepsEachRequestsData: the article's pipeline (aes_cbc on data, then
// simple) runs from many goroutines over two providers, through Begin, SignRequest (which
// settles the body and gives the pooled field buffers back) and ProcessResponse (which
// decrypts in a pooled buffer). Each signed body must decrypt to its own data, and stay so
// after later requests reuse the buffers; each answer must decrypt to its own plaintext.
func TestRedTeamPipelineKeepsEachRequestsData(t *testing.T) {
	a := benchkit.App(t)
	snap, err := a.Compile(&config.File{Providers: []config.Provider{benchkit.ArticleProvider(0), benchkit.ArticleProvider(1)}}, gateway.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher([]byte("demo-aes-key-16b"))
	if err != nil {
		t.Fatal(err)
	}
	iv := []byte("demo-aes-iv-16by")
	seal := func(plain string) string {
		b := []byte(plain)
		pad := aes.BlockSize - len(b)%aes.BlockSize
		for range pad {
			b = append(b, byte(pad))
		}
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(b, b)
		return base64.StdEncoding.EncodeToString(b)
	}
	open := func(body []byte) (string, error) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return "", err
		}
		if _, ok := m["sign"]; !ok {
			return "", fmt.Errorf("no sign in %s", body)
		}
		s, _ := m["data"].(string)
		ct, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", err
		}
		plain, ok := signer.OpenCBC(block, iv, ct)
		if !ok {
			return "", fmt.Errorf("data does not open")
		}
		return string(plain), nil
	}
	ctx := context.Background()
	const goroutines = 6
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			type kept struct {
				body []byte
				data string
			}
			var keep []kept
			for i := range 40 {
				data := fmt.Sprintf("g%d-i%d-%s", g, i, strings.Repeat(string(rune('a'+g)), (i*37)%300))
				body := []byte(fmt.Sprintf(`{"timestamp":1700000000,"data":%q}`, data))
				call, err := snap.Begin(gateway.Inbound{
					Method: "POST", Authority: fmt.Sprintf("p%05d.egress.local", g%2), Path: "/orders", BodySize: int64(len(body)),
					Header: http.Header{"Content-Type": {"application/json"}},
				}, signer.SystemClock())
				if err == nil {
					err = call.SignRequest(ctx, body)
				}
				if err != nil {
					errs <- err
					return
				}
				signed := call.Exchange.Request.Body()
				if got, err := open(signed); err != nil || got != data {
					errs <- fmt.Errorf("goroutine %d round %d: signed data %q (%v), want %q", g, i, got, err, data)
					return
				}
				keep = append(keep, kept{signed, data})
				answerPlain := fmt.Sprintf(`{"answer":"for g%d i%d"}`, g, i)
				resp := &signer.Response{Status: 200, Header: http.Header{}, Body: []byte(`{"code":0,"data":"` + seal(answerPlain) + `"}`)}
				if err := call.ProcessResponse(ctx, resp); err != nil {
					errs <- err
					return
				}
				if want := `{"code":0,"data":` + answerPlain + `}`; !bytes.Equal(resp.Body, []byte(want)) {
					errs <- fmt.Errorf("goroutine %d round %d: answer %s, want %s", g, i, resp.Body, want)
					return
				}
			}
			for _, k := range keep {
				if got, err := open(k.body); err != nil || got != k.data {
					errs <- fmt.Errorf("goroutine %d: a signed body changed after its buffers were reused: %q (%v), want %q", g, got, err, k.data)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
