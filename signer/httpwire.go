package signer

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
)

// RequestFromHTTP converts a parsed HTTP/1.1 request (http.ReadRequest) into a Request for the
// given scheme ("https" or "http"). It reads and closes the body. Host becomes the Authority;
// Content-Length and Transfer-Encoding are dropped (the body decides them when it is written).
func RequestFromHTTP(hr *http.Request, scheme string) (*Request, error) {
	var body []byte
	if hr.Body != nil {
		b, err := io.ReadAll(hr.Body)
		_ = hr.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the request body: %w", err)
		}
		body = b
	}
	target := hr.RequestURI
	if target == "" {
		target = hr.URL.RequestURI()
	}
	host := hr.Host
	if host == "" {
		host = hr.URL.Host
	}
	h := hr.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Del("Host")
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	return NewRequest(hr.Method, scheme, host, target, h, body), nil
}

// WriteHTTP1 prints the request as raw HTTP/1.1: the request line with the full target, Host,
// the other headers in sorted canonical order (one line per value; a name as a script spelled
// it, else canonical), Content-Length when there
// is a body (or the method carries one), a blank line and the body. Secret header values are
// printed as they are: a caller that must redact does so on the Header first.
func (r *Request) WriteHTTP1(w io.Writer) error {
	bw := bufio.NewWriter(w)
	target := r.Path
	if target == "" {
		target = "/"
	}
	fmt.Fprintf(bw, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, target, r.Authority)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		ck := http.CanonicalHeaderKey(k)
		if ck != "Host" && ck != "Content-Length" && ck != "Transfer-Encoding" {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return http.CanonicalHeaderKey(keys[i]) < http.CanonicalHeaderKey(keys[j])
	})
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(bw, "%s: %s\r\n", r.HeaderName(k), v)
		}
	}
	body := r.Body()
	if len(body) > 0 || r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		bw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	bw.WriteString("\r\n")
	bw.Write(body)
	return bw.Flush()
}
