package emu

import (
	"fmt"
	"sort"
	"strings"
)

// routeTable is RouteConfiguration compiled for matching as Envoy's RouteMatcher does: exact
// domains, then the longest wildcard suffix, then the longest wildcard prefix, then "*".
type routeTable struct {
	exact      map[string]*VirtualHost
	suffixes   []wildcard // longest first
	prefixes   []wildcard // longest first
	fallback   *VirtualHost
	ignorePort bool
	vhostOf    map[*Route]string // the virtual host name of each route (xds.virtual_host_name)
}

type wildcard struct {
	part string
	vh   *VirtualHost
}

func compileRoutes(vhosts []VirtualHost, ignorePort bool) (*routeTable, error) {
	t := &routeTable{exact: map[string]*VirtualHost{}, ignorePort: ignorePort, vhostOf: map[*Route]string{}}
	seen := map[string]string{}
	for i := range vhosts {
		vh := &vhosts[i]
		for _, d := range vh.Domains {
			d = strings.ToLower(d)
			if prev, dup := seen[d]; dup {
				return nil, fmt.Errorf("only unique values for domains are permitted: %q in virtual hosts %q and %q", d, prev, vh.Name)
			}
			seen[d] = vh.Name
			switch {
			case d == "*":
				t.fallback = vh
			case strings.HasPrefix(d, "*"):
				t.suffixes = append(t.suffixes, wildcard{d[1:], vh})
			case strings.HasSuffix(d, "*"):
				t.prefixes = append(t.prefixes, wildcard{d[:len(d)-1], vh})
			default:
				t.exact[d] = vh
			}
		}
		for j, r := range vh.Routes {
			t.vhostOf[&vh.Routes[j]] = vh.Name
			if r.Prefix == "" && r.Path == "" {
				return nil, fmt.Errorf("virtual host %q route %q: match needs prefix or path", vh.Name, r.Name)
			}
		}
	}
	longestFirst := func(w []wildcard) {
		sort.SliceStable(w, func(i, j int) bool { return len(w[i].part) > len(w[j].part) })
	}
	longestFirst(t.suffixes)
	longestFirst(t.prefixes)
	return t, nil
}

func (t *routeTable) virtualHost(authority string) *VirtualHost {
	host := strings.ToLower(authority)
	if vh := t.lookup(host); vh != nil {
		return vh
	}
	if t.ignorePort {
		if vh := t.lookup(stripHostPort(host)); vh != nil {
			return vh
		}
	}
	return t.fallback
}

func (t *routeTable) lookup(host string) *VirtualHost {
	if vh, ok := t.exact[host]; ok {
		return vh
	}
	for _, w := range t.suffixes { // a wildcard must match at least one character
		if len(host) > len(w.part) && strings.HasSuffix(host, w.part) {
			return w.vh
		}
	}
	for _, w := range t.prefixes {
		if len(host) > len(w.part) && strings.HasPrefix(host, w.part) {
			return w.vh
		}
	}
	return nil
}

// match returns the route for the request headers, or nil (404).
func (t *routeTable) match(h *headerMap) *Route {
	authority, _ := h.get(":authority")
	vh := t.virtualHost(authority)
	if vh == nil {
		return nil
	}
	path, _ := h.get(":path")
	for i := range vh.Routes {
		r := &vh.Routes[i]
		if r.Prefix != "" && strings.HasPrefix(path, r.Prefix) {
			return r
		}
		if r.Prefix == "" && r.Path != "" {
			p := path
			if q := strings.IndexByte(p, '?'); q >= 0 {
				p = p[:q]
			}
			if p == r.Path {
				return r
			}
		}
	}
	return nil
}
