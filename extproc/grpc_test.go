package extproc

import (
	"bytes"
	"context"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/internal/gateway"
)

// TestBodyAtTheLimitFitsInOneMessage: Envoy sends a buffered body of up to the body limit in one
// ext_proc message, with the headers and attributes around it; the gRPC server's message limit
// must take that whole message (gRPC's default 4 MiB, or a limit without headroom, would refuse
// a body keygate promises to sign with RESOURCE_EXHAUSTED, and the request would fail).
func TestBodyAtTheLimitFitsInOneMessage(t *testing.T) {
	_, client := serveTest(t, Options{}) // message limit sized for gateway.DefaultMaxBody
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := client.Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(headersMsg("body.local", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatalf("headers: %v", err)
	}
	body := bytes.Repeat([]byte("b"), gateway.DefaultMaxBody)
	if err := st.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}}); err != nil {
		t.Fatal(err)
	}
	resp, err := st.Recv()
	if err != nil {
		t.Fatalf("a body of exactly the limit (%d bytes): %v", len(body), err)
	}
	got := resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody()
	if want := string(body) + "-signed"; string(got) != want {
		t.Errorf("body at the limit: answer %v, want the signed body (%d bytes)", resp.GetImmediateResponse(), len(want))
	}
}
