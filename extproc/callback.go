package extproc

import (
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/keygate/keygate/signer"
)

// callbackRefusal is the failure answer of the callback provider a refused request was routed
// to (nil for egress providers): a forged callback refused before its call began (a reserved
// x-keygate-* header, say) still gets the provider's answer, which its retries understand.
func (p *processor) callbackRefusal(msg *extprocv3.ProcessingRequest) func(error) *signer.Response {
	if p.inbound == nil {
		return nil
	}
	prov, err := p.snap.IdentifyOn(p.ingress, routeName(msg), p.inbound.get(":authority"))
	if err != nil || prov == nil {
		return nil
	}
	return prov.Refusal
}

// refuseCallback answers a failed callback with its provider's documented failure answer; the
// request never reaches the service. nil for egress requests (keygate's own error reply).
func (p *processor) refuseCallback(err error) *extprocv3.ProcessingResponse {
	refusal := p.refusal
	if p.call != nil {
		refusal = p.call.Provider.Refusal
	}
	if refusal == nil {
		return nil
	}
	r := refusal(err)
	mut := &extprocv3.HeaderMutation{}
	for name, vals := range r.Header {
		for i, v := range vals {
			addSet(mut, setHeader(strings.ToLower(name), v, i > 0))
		}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(r.Status)},
			Headers: mut, Body: r.Body, Details: "keygate_callback_refused",
		}}}
}
