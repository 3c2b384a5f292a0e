package emu

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

// headerEntry is one header line; keys are lower-case, as in Envoy's HeaderMap.
type headerEntry struct{ key, value string }

// headerMap is an ordered multimap like Envoy's HeaderMapImpl: pseudo-headers first, then the
// rest in arrival order.
type headerMap struct{ entries []headerEntry }

func (h *headerMap) get(key string) (string, bool) {
	for _, e := range h.entries {
		if e.key == key {
			return e.value, true
		}
	}
	return "", false
}

func (h *headerMap) has(key string) bool { _, ok := h.get(key); return ok }

// set replaces every value of key by one value (Envoy setCopy), keeping the first position.
func (h *headerMap) set(key, value string) {
	out := h.entries[:0]
	done := false
	for _, e := range h.entries {
		if e.key != key {
			out = append(out, e)
			continue
		}
		if !done {
			out = append(out, headerEntry{key, value})
			done = true
		}
	}
	h.entries = out
	if !done {
		h.add(key, value)
	}
}

// add appends a value (Envoy addCopy); a new pseudo-header goes before the regular ones.
func (h *headerMap) add(key, value string) {
	if strings.HasPrefix(key, ":") {
		i := 0
		for i < len(h.entries) && strings.HasPrefix(h.entries[i].key, ":") {
			i++
		}
		h.entries = append(h.entries[:i], append([]headerEntry{{key, value}}, h.entries[i:]...)...)
		return
	}
	h.entries = append(h.entries, headerEntry{key, value})
}

func (h *headerMap) del(key string) {
	out := h.entries[:0]
	for _, e := range h.entries {
		if e.key != key {
			out = append(out, e)
		}
	}
	h.entries = out
}

func (h *headerMap) clone() headerMap {
	return headerMap{entries: append([]headerEntry(nil), h.entries...)}
}

// byteSize is Envoy's HeaderMap::byteSize: sum of key and value lengths.
func (h *headerMap) byteSize() int {
	n := 0
	for _, e := range h.entries {
		n += len(e.key) + len(e.value)
	}
	return n
}

// proto encodes the map as Envoy does: value in raw_value, value field empty.
func (h *headerMap) proto() *corev3.HeaderMap {
	m := &corev3.HeaderMap{}
	for _, e := range h.entries {
		m.Headers = append(m.Headers, &corev3.HeaderValue{Key: e.key, RawValue: []byte(e.value)})
	}
	return m
}

// contentLength returns the parsed content-length, if present and valid.
func (h *headerMap) contentLength() (int, bool) {
	v, ok := h.get("content-length")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	return n, err == nil && n >= 0
}

// hopByHop are the connection-level headers the HCM and codecs remove before filters run.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true,
}

// fromHTTPHeader appends h's fields in sorted key order (Go does not keep arrival order).
func (h *headerMap) fromHTTPHeader(src http.Header) {
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if hopByHop[lk] || (lk == "te" && !strings.EqualFold(src.Get(k), "trailers")) {
			continue
		}
		for _, v := range src[k] {
			h.add(lk, v)
		}
	}
}

// downstreamRequestHeaders builds the header map the filter chain sees for r: pseudo-headers
// from the request line, the request's headers, then what the HCM adds (x-forwarded-proto,
// x-request-id) when absent.
func downstreamRequestHeaders(r *http.Request, stripPort bool) headerMap {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	authority := strings.ToLower(r.Host)
	if stripPort {
		authority = stripHostPort(authority)
	}
	path := r.RequestURI
	if path == "" {
		path = r.URL.RequestURI()
	}
	path = originForm(path)
	h := headerMap{entries: []headerEntry{
		{":authority", authority}, {":path", path}, {":method", r.Method}, {":scheme", scheme},
	}}
	h.fromHTTPHeader(r.Header)
	if !h.has("x-forwarded-proto") {
		h.add("x-forwarded-proto", scheme)
	}
	if !h.has("x-request-id") {
		h.add("x-request-id", newUUID())
	}
	return h
}

// originForm is the HTTP/1 codec's handling of an absolute-form request target
// (ServerConnectionImpl::handlePath, allow_absolute_url defaulting to true): ":path" is the
// path and query of "POST http://host/path" ("/" when empty); :authority comes from the URL's
// host, which Go's server already put in r.Host.
func originForm(target string) string {
	lower := strings.ToLower(target)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return target
	}
	rest := target[strings.Index(target, "://")+3:]
	i := strings.IndexAny(rest, "/?")
	if i < 0 {
		return "/"
	}
	if rest[i] == '?' {
		return "/" + rest[i:]
	}
	return rest[i:]
}

// stripHostPort is HeaderUtility::stripPortFromHost (source/common/http/header_utility.cc):
// getPortStart finds the last ':' unless a ']' comes after it, and the rest must parse with
// absl::SimpleAtoi as a uint32 (spaces trimmed, optional '+'); otherwise the host is kept whole.
func stripHostPort(host string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.LastIndexByte(host, ']') > i {
		return host
	}
	port := strings.TrimPrefix(strings.Trim(host[i+1:], " \t\n\v\f\r"), "+")
	if n, err := strconv.ParseUint(port, 10, 32); err != nil || port == "" || strings.ContainsAny(port, "+-") || n > 1<<32-1 {
		return host
	}
	return host[:i]
}

// newUUID returns a random RFC 4122 version 4 UUID, as Envoy's request-id extension does.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
