package emu

import (
	"net/http"
	"strconv"
)

// localReply is a response Envoy generates itself.
type localReply struct {
	status  int
	body    []byte
	headers headerMap // extra headers (ImmediateResponse); :status and framing are added
	details string    // response code details, as in Envoy's access log %RESPONSE_CODE_DETAILS%
	// throughFilters: the reply passes through the encoder filter chain, so ext_proc still
	// gets response_headers (router and buffer-limit replies). ext_proc's own replies do not.
	throughFilters bool
}

// routerReply is a local reply from the router or the filter manager.
func routerReply(status int, body, details string) *localReply {
	return &localReply{status: status, body: []byte(body), details: details, throughFilters: true}
}

// filterReply is a local reply sent by the ext_proc filter itself; processing is over.
func filterReply(status int, details string) *localReply {
	return &localReply{status: status, details: details}
}

// responseHeaders renders the reply as Envoy's sendLocalReply does: :status, then the extra
// headers, then content-length and a text/plain content-type when there is a body.
func (l *localReply) responseHeaders() headerMap {
	h := headerMap{entries: []headerEntry{{":status", strconv.Itoa(l.status)}}}
	h.entries = append(h.entries, l.headers.entries...)
	if len(l.body) > 0 {
		h.set("content-length", strconv.Itoa(len(l.body)))
		if !h.has("content-type") {
			h.add("content-type", "text/plain")
		}
	}
	return h
}

// writeDownstream writes the final response to the client as Envoy's HCM would.
func writeDownstream(w http.ResponseWriter, h headerMap, body []byte, trailers headerMap) {
	status := http.StatusOK
	if s, ok := h.get(":status"); ok {
		if n, err := strconv.Atoi(s); err == nil && n >= 100 && n <= 999 {
			status = n
		}
	}
	out := w.Header()
	for _, e := range h.entries {
		if e.key[0] != ':' {
			out.Add(e.key, e.value)
		}
	}
	out.Set("Server", "envoy") // server_header_transformation OVERWRITE
	if cl, ok := h.contentLength(); ok && cl != len(body) {
		out.Del("Content-Length") // Go refuses a lying length; Envoy's codec would send it and break framing
	}
	for _, e := range trailers.entries {
		out.Add(http.TrailerPrefix+e.key, e.value)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
