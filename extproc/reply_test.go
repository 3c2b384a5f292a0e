package extproc

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/signer"
)

// The retry's answer goes back as an ImmediateResponse whose headers Envoy applies with the
// filter's mutation checker, stopping at the first failure (Filter::sendImmediateResponse).
// A provider's x-envoy-* header must not make the other headers disappear, and the order must
// not depend on map iteration.
func TestImmediateAnswerCarriesOnlyHeadersEnvoyAccepts(t *testing.T) {
	r := &signer.Response{Status: 200, Body: []byte("ok"), Header: http.Header{
		"X-Envoy-Upstream-Service-Time": {"3"}, "X-B": {"b1", "b2"}, "X-A": {"a"},
		"Content-Type": {"application/json"}, "Content-Length": {"2"}, "Connection": {"close"},
		"X-Bad-Value": {"a\r\nInjected: 1"},
	}}
	for range 20 { // map order varies run to run
		got := []string{}
		for _, h := range immediateAnswer(r).GetImmediateResponse().GetHeaders().GetSetHeaders() {
			//lint:ignore SA1019 ext_proc reads only the legacy append flag
			got = append(got, h.GetHeader().GetKey()+"="+string(h.GetHeader().GetRawValue())+map[bool]string{true: "+"}[h.GetAppend().GetValue()])
		}
		want := "content-type=application/json,x-a=a,x-b=b1,x-b=b2+"
		if strings.Join(got, ",") != want {
			t.Fatalf("headers %v, want %s", got, want)
		}
	}
}
