package main

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/internal/tenancy"
	"github.com/keygate/keygate/xds"
)

// exchange is what one scenario's requests carry, built once: the driver sends the same bodies
// every time (Envoy would buffer new bytes each time; gRPC marshals them either way). Header
// messages are built per request, with a fresh x-request-id as Envoy's.
type exchange struct {
	authority, path, contentType string
	reqBody, respBody            []byte
	// route is the route Envoy matched (keygate's xDS names it keygate/<provider>); spiffeID
	// is the caller's certificate URI SAN. Both travel as the request attributes the pushed
	// filter config asks for (xds/listener.go), as Envoy sends them.
	route, spiffeID string
}

// benchSPIFFEID is the load driver's identity as a caller: testdata/keygate.yaml's tenant
// "bench" is identified by it, as a mesh service calling through Envoy over mTLS would be.
const benchSPIFFEID = "spiffe://bench.local/ns/bench/sa/loadgen"

// demoKey and demoIV are the AES key and IV of testdata/keys.yaml (secret/bench/demo): the
// driver plays the provider and encrypts its answers' data field with them.
var demoKey, demoIV = []byte("demo-aes-key-16b"), []byte("demo-aes-iv-16by")

// jsonBody is a JSON object of about size bytes whose `data` field holds the padding: the
// article's request shape (timestamp, data) plus a few ordinary fields.
func jsonBody(size int) []byte {
	head := `{"timestamp":1700000000,"orderId":"ord-20240102-000042","amount":12345,"currency":"CNY","memo":"load driver","data":"`
	tail := `"}`
	n := max(size-len(head)-len(tail), 16)
	return []byte(head + strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789"[:36], n/36+1)[:n] + tail)
}

// formBody is an Alipay-style form of about size bytes: biz_content carries a JSON document.
func formBody(size int) []byte {
	biz := jsonBody(size * 3 / 4)
	v := url.Values{"method": {"alipay.trade.query"}, "biz_content": {string(biz)}}
	return []byte(v.Encode())
}

// encryptedAnswer is the article provider's answer: {"code":0,"msg":"ok","data":base64(AES-CBC(json))}.
func encryptedAnswer(size int) []byte {
	plain := jsonBody(size * 3 / 4)
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	for range pad {
		plain = append(plain, byte(pad))
	}
	block, _ := aes.NewCipher(demoKey) // a 16-byte key cannot fail
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, demoIV).CryptBlocks(ct, plain)
	out, _ := json.Marshal(map[string]any{"code": 0, "msg": "ok", "data": base64.StdEncoding.EncodeToString(ct)})
	return out
}

func header(k, v string) *corev3.HeaderValue { return &corev3.HeaderValue{Key: k, RawValue: []byte(v)} }

// requestHeaders is Envoy's request_headers message: lower-case names, raw_value only,
// pseudo-headers first, end_of_stream false when a body follows.
func (e *exchange) requestHeaders(id uint64) *extprocv3.ProcessingRequest {
	hs := []*corev3.HeaderValue{
		header(":authority", e.authority), header(":path", e.path), header(":method", "POST"),
		header(":scheme", "http"), header("user-agent", "keygate-loadgen/1"), header("accept", "application/json"),
		header("content-type", e.contentType), header("content-length", strconv.Itoa(len(e.reqBody))),
		header("x-forwarded-proto", "http"), header("x-request-id", requestID(id)),
	}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: len(e.reqBody) == 0},
	}, Attributes: e.attributes()}
}

// attributes is what Envoy puts on the request direction's first message for the
// request_attributes keygate's filter config names (envoy/emu/attributes.go): keyed by the
// filter name, then by the expression text; an attribute without a value is left out.
func (e *exchange) attributes() map[string]*structpb.Struct {
	fields := map[string]*structpb.Value{}
	if e.route != "" {
		fields[routing.RouteAttribute] = structpb.NewStringValue(e.route)
	}
	if e.spiffeID != "" {
		fields[tenancy.SPIFFEAttribute] = structpb.NewStringValue(e.spiffeID)
	}
	return map[string]*structpb.Struct{xds.DefaultExtProcFilterName: {Fields: fields}}
}

func (e *exchange) requestBody() *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: e.reqBody, EndOfStream: true},
	}}
}

// responseHeaders is the provider's answer as Envoy reports it.
func (e *exchange) responseHeaders() *extprocv3.ProcessingRequest {
	hs := []*corev3.HeaderValue{
		header(":status", "200"), header("content-type", "application/json"),
		header("content-length", strconv.Itoa(len(e.respBody))), header("x-envoy-upstream-service-time", "3"),
	}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
		ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: len(e.respBody) == 0},
	}}
}

func (e *exchange) responseBody() *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
		ResponseBody: &extprocv3.HttpBody{Body: e.respBody, EndOfStream: true},
	}}
}

// requestID looks like Envoy's (a UUID); uniqueness is all that matters here.
func requestID(n uint64) string {
	s := strconv.FormatUint(n, 16)
	return "6f1c2a4e-0000-4000-8000-" + strings.Repeat("0", max(12-len(s), 0)) + s
}
