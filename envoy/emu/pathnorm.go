package emu

import (
	"net/http"
	"strings"
	"unicode/utf8"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// EscapedSlashesAction mirrors HCM path_with_escaped_slashes_action (Envoy's own enum).
type EscapedSlashesAction = hcmv3.HttpConnectionManager_PathWithEscapedSlashesAction

// normalizePath is ConnectionManagerUtility::maybeNormalizePath (source/common/http/
// conn_manager_utility.cc), run by the HCM on the request headers before routing and before
// any HTTP filter: the fragment is stripped; with an escaped-slashes action other than
// KEEP_UNCHANGED, %2F/%5C (any case) in the path are unescaped (PathUtil::unescapeSlashes) and
// REJECT_REQUEST answers 400 instead; normalize_path canonicalizes per RFC 3986 with Chromium's
// url::CanonicalizePath (PathUtil::canonicalPath; a failure is a 400); merge_slashes then
// collapses "//" (PathTransformer::mergeSlashes). The query is never touched. A rejected path
// is the local reply "path_normalization_failed".
func normalizePath(h *headerMap, c Config) *localReply {
	p, ok := h.get(":path")
	if !ok {
		return nil
	}
	if i := strings.IndexByte(p, '#'); i >= 0 {
		p = p[:i] // http_strip_fragment_from_path_unsafe_if_disabled, on by default
	}
	path, query, hasQuery := strings.Cut(p, "?")
	if hasQuery {
		query = "?" + query
	}
	reject := routerReply(http.StatusBadRequest, "", "path_normalization_failed")
	switch c.PathWithEscapedSlashesAction {
	case hcmv3.HttpConnectionManager_IMPLEMENTATION_SPECIFIC_DEFAULT, hcmv3.HttpConnectionManager_KEEP_UNCHANGED:
	default:
		if unescaped := unescapeSlashes(path); unescaped != path {
			if c.PathWithEscapedSlashesAction == hcmv3.HttpConnectionManager_REJECT_REQUEST {
				return reject
			}
			path = unescaped // UNESCAPE_AND_FORWARD (the emulator does not redirect)
		}
	}
	if c.NormalizePath {
		canon, ok := canonicalizePath(path)
		if !ok {
			return reject
		}
		path = canon
	}
	if c.MergeSlashes && strings.Contains(path, "//") {
		merged := strings.Join(strings.FieldsFunc(path, func(r rune) bool { return r == '/' }), "/")
		if strings.HasPrefix(path, "/") {
			merged = "/" + merged
		}
		if strings.HasSuffix(path, "/") && merged != "/" {
			merged += "/"
		}
		path = merged
	}
	h.set(":path", path+query)
	return nil
}

// unescapeSlashes is PathUtil::unescapeSlashes: %2F and %5C in any case become '/' and '\'.
func unescapeSlashes(path string) string {
	r := strings.NewReplacer("%2F", "/", "%2f", "/", "%5C", "\\", "%5c", "\\")
	return r.Replace(path)
}

// canonicalizePath is Chromium's url::CanonicalizePath on a path that starts with '/', as
// Envoy calls it (special-URL mode): '\' is a slash; "." and ".." segments, dots spelled "%2e"
// in any case included, are resolved and never climb above the root; escapes of unreserved
// characters (A-Z a-z 0-9 - _ ~) are decoded, other valid escapes kept as written, a '%' that
// starts no valid escape kept; characters the path may not hold (controls, space, " # < > `
// { } DEL, non-ASCII as UTF-8) are percent-encoded; invalid UTF-8 fails.
func canonicalizePath(path string) (string, bool) {
	if !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "\\") {
		return path, true // not origin-form (e.g. "*"): Envoy's codec decides, not the canonicalizer
	}
	parts := strings.Split(strings.ReplaceAll(path[1:], "\\", "/"), "/")
	out := make([]string, 0, len(parts))
	for i, seg := range parts {
		last := i == len(parts)-1
		switch dotKind(seg) {
		case 1:
			if last {
				out = append(out, "")
			}
			continue
		case 2:
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
			continue
		}
		canon, ok := canonicalSegment(seg)
		if !ok {
			return "", false
		}
		out = append(out, canon)
	}
	return "/" + strings.Join(out, "/"), true
}

// dotKind is 1 for a "." segment, 2 for "..", each dot written '.' or %2e/%2E.
func dotKind(seg string) int {
	s := strings.ReplaceAll(strings.ReplaceAll(seg, "%2e", "."), "%2E", ".")
	switch s {
	case ".":
		return 1
	case "..":
		return 2
	}
	return 0
}

func canonicalSegment(seg string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == '%':
			if i+2 < len(seg) && unhexEmu(seg[i+1]) >= 0 && unhexEmu(seg[i+2]) >= 0 {
				v := byte(unhexEmu(seg[i+1])<<4 | unhexEmu(seg[i+2]))
				if v >= 'a' && v <= 'z' || v >= 'A' && v <= 'Z' || v >= '0' && v <= '9' || v == '-' || v == '_' || v == '~' {
					b.WriteByte(v)
				} else {
					b.WriteString(seg[i : i+3])
				}
				i += 2
				continue
			}
			b.WriteByte('%')
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(seg[i:])
			if r == utf8.RuneError && n <= 1 {
				return "", false
			}
			for j := 0; j < n; j++ {
				writeEscaped(&b, seg[i+j])
			}
			i += n - 1
		case c < 0x20 || c == 0x7f || strings.IndexByte(" \"#<>`{}", c) >= 0:
			writeEscaped(&b, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

func writeEscaped(b *strings.Builder, c byte) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&15])
}

func unhexEmu(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
