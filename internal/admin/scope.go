package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/versions"
	"github.com/keygate/keygate/keystore"
)

// parseConfig parses and validates a config as the API received or stored it.
func parseConfig(data []byte) (*config.File, error) {
	f, err := config.Parse(data)
	if err == nil {
		err = f.Validate()
	}
	if err != nil {
		return nil, failure.Wrap(failure.BadRequest, "config", err, "")
	}
	return f, nil
}

// renderConfig writes f as YAML, for changes the API makes on the caller's behalf (issue a
// credential, replace a tenant's providers). Comments of the written file are not kept.
func renderConfig(f *config.File) ([]byte, error) {
	js, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(js)
}

// tenantView is what a tenant role sees of a config: its tenant (credential IDs, not hashes),
// its providers (secrets as references, as always), the limits. Listen addresses and the
// keystore setup are gateway-level.
func tenantView(f *config.File, tenant string) *config.File {
	out := &config.File{Limits: f.Limits, Providers: []config.Provider{}}
	for _, t := range f.Tenants {
		if t.Name != tenant {
			continue
		}
		t.Credentials = append([]config.TenantCredential(nil), t.Credentials...)
		for i := range t.Credentials {
			t.Credentials[i].Hash = ""
		}
		out.Tenants = append(out.Tenants, t)
	}
	for _, p := range f.Providers {
		if p.Tenant == tenant {
			out.Providers = append(out.Providers, p)
		}
	}
	return out
}

// tenantRefs are the secret references (text form, unversioned) tenant's providers use.
func tenantRefs(f *config.File, tenant string) map[string]bool {
	out := map[string]bool{}
	for _, p := range f.Providers {
		if p.Tenant != tenant {
			continue
		}
		for _, s := range p.Secrets {
			if ref, err := keystore.ParseRef(s); err == nil {
				out[ref.Unversioned().String()] = true
			}
		}
	}
	return out
}

// tenantPins keeps the pins of refs in refs.
func tenantPins(pins map[string]int, refs map[string]bool) map[string]int {
	out := map[string]int{}
	for k, v := range pins {
		if refs[k] {
			out[k] = v
		}
	}
	return out
}

// othersPins are the pins a tenant-scoped change keeps: all current pins except those of refs
// only tenant's providers use, which are pinned afresh.
func othersPins(cur *config.File, pins map[string]int, tenant string) map[string]int {
	own := tenantRefs(cur, tenant)
	shared := map[string]bool{}
	for _, p := range cur.Providers {
		if p.Tenant != tenant {
			for k := range tenantRefs(cur, p.Tenant) {
				shared[k] = true
			}
		}
	}
	out := map[string]int{}
	for k, v := range pins {
		if !own[k] || shared[k] {
			out[k] = v
		}
	}
	return out
}

// checkTenantChange enforces what a tenant admin may change from cur to next: only providers of
// its own tenant; no tenants, and nothing else of the config (listen, egress, envoy, keystore,
// limits, state, admin: whoever may change admin mints admin tokens); secret references only
// under its own secret prefix or already used by its providers; no script or CA files (paths
// on the gateway); no new callback provider, nor a callback provider pointed elsewhere.
func (s *server) checkTenantChange(cur, next *config.File, tenant string) error {
	if !reflect.DeepEqual(cur.Tenants, next.Tenants) {
		return forbidden("tenants: only a gateway admin may change tenants")
	}
	// Every section but the providers is the gateway's, compared whole: a section added to
	// config.File later is closed to tenant admins without a line here.
	gw, nextGW := *cur, *next
	gw.Providers, nextGW.Providers = nil, nil
	if !reflect.DeepEqual(gw, nextGW) {
		return forbidden("listen, egress, envoy, keystore, limits, state and admin: only a gateway admin may change them")
	}
	curBy, nextBy := byName(cur.Providers), byName(next.Providers)
	names := map[string]bool{}
	for n := range curBy {
		names[n] = true
	}
	for n := range nextBy {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	ownRefs := tenantRefs(cur, tenant)
	// The tenant's secrets are those under MOUNT/PREFIX/TENANT/, compared segment by segment on
	// the canonical reference (keystore.ParseRef refuses "..", escapes and empty segments), which
	// is byte for byte the path Vault is asked for.
	prefix := s.opts.SecretPrefix + "/" + tenant
	for _, name := range sorted {
		c, inCur := curBy[name]
		n, inNext := nextBy[name]
		if inCur && inNext && providerEqual(c, n) {
			continue
		}
		if inCur && c.Tenant != tenant {
			// Provider names are one namespace, so the refusal says the name is taken; whose it
			// is stays unsaid (a guessed name must not name another tenant).
			return forbidden("provider %q belongs to another tenant", name)
		}
		if inNext && n.Tenant != tenant {
			return forbidden("provider %q: tenant %q may only define its own providers", name, tenant)
		}
		if !inNext {
			continue // removing its own provider
		}
		for key, text := range n.Secrets {
			ref, err := keystore.ParseRef(text)
			if err != nil { // validation refuses it too; refuse here whatever the order
				return errorf(http.StatusBadRequest, "provider %q: secrets.%s: %v", name, key, err)
			}
			u := ref.Unversioned().String()
			if !ownRefs[u] && !ref.Under(s.opts.SecretMount, prefix) {
				return forbidden("provider %q: secrets.%s: %s is outside tenant %q's secrets (%s/%s/...)", name, key, u, tenant, s.opts.SecretMount, prefix)
			}
		}
		for i, h := range n.Hosts {
			if owner := hostOwner(cur, next, h, tenant); owner != "" {
				return forbidden("provider %q: hosts[%d]: %q is served by a provider of another tenant", name, i, h)
			}
		}
		if n.Script != nil && n.Script.File != "" && (!inCur || c.Script == nil || c.Script.File != n.Script.File) {
			return forbidden("provider %q: script.file: a tenant admin may use inline scripts only", name)
		}
		// A callback route is served to the internet (the ingress listener, opened by the first
		// one) and leads to upstream.url: where the internet comes in is the gateway's choice.
		if n.Callback && (!inCur || !c.Callback || c.Upstream.URL != n.Upstream.URL) {
			return forbidden("provider %q: callback: only a gateway admin may add a callback provider (served on the internet-facing ingress listener) or change its upstream.url", name)
		}
		if n.Upstream.CAFile != "" && (!inCur || c.Upstream.CAFile != n.Upstream.CAFile) {
			return forbidden("provider %q: upstream.ca_file: only a gateway admin may set files", name)
		}
		if why := onEgressHost(n.Upstream.URL); why != "" && (!inCur || c.Upstream.URL != n.Upstream.URL) {
			return forbidden("provider %q: upstream.url: %s; only a gateway admin may point a provider there", name, why)
		}
		if n.Token != nil && (!inCur || c.Token == nil || c.Token.URL != n.Token.URL) {
			if why := onEgressHost(n.Token.URL); why != "" {
				return forbidden("provider %q: token.url: %s; only a gateway admin may point a provider there", name, why)
			}
		}
	}
	return nil
}

// hostOwner is the tenant, other than tenant, whose provider claims host in cur or next ("" if
// none). Hosts are exact lower-case names (config validation), so string equality is Envoy's
// match; a tenant admin may not take over, or share, a host another tenant's callers use.
func hostOwner(cur, next *config.File, host, tenant string) string {
	for _, f := range []*config.File{cur, next} {
		for _, p := range f.Providers {
			if p.Tenant == tenant {
				continue
			}
			for _, h := range p.Hosts {
				if strings.EqualFold(h, host) {
					return p.Tenant
				}
			}
		}
	}
	return ""
}

func byName(ps []config.Provider) map[string]config.Provider {
	out := make(map[string]config.Provider, len(ps))
	for _, p := range ps {
		out[p.Name] = p
	}
	return out
}

func providerEqual(a, b config.Provider) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// current returns the running version and its parsed config.
func (s *server) current() (versions.Version, *config.File, error) {
	v, ok := s.opts.Configs.Current()
	if !ok {
		return versions.Version{}, nil, errorf(http.StatusServiceUnavailable, "no config applied yet")
	}
	f, err := parseConfig(v.Config)
	if err != nil {
		return v, nil, fmt.Errorf("running version %d: %w", v.Number, err)
	}
	return v, f, nil
}

// currentTenant is current for an operation on tenant, which must be defined (404 otherwise).
func (s *server) currentTenant(tenant string) (versions.Version, *config.File, error) {
	v, f, err := s.current()
	if err == nil {
		err = tenantExists(f, tenant)
	}
	return v, f, err
}

// tenantExists reports whether tenant is defined in f (404 otherwise).
func tenantExists(f *config.File, tenant string) error {
	for _, t := range f.Tenants {
		if t.Name == tenant {
			return nil
		}
	}
	return errorf(http.StatusNotFound, "no tenant %q", tenant)
}

// onEgressHost says why rawURL's host is on the egress host itself (or "" if not): a loopback,
// link-local or unspecified address, a loopback name, or a number that resolvers read as an
// address (127.1, 2130706433, 0x7f.1; a DNS name never ends in a numeric label). There, a
// tenant's callers would reach what Envoy and keygate keep local: Envoy's admin interface,
// keygate's xDS and ext_proc ports (a loopback peer is trusted), the cloud metadata service.
// A DNS name that resolves to such an address is not caught here (docs/admin.md).
func onEgressHost(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "" // validation refuses it, naming the field
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Sprintf("%q is a loopback name", u.Hostname())
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsUnspecified() {
			return fmt.Sprintf("%s is a loopback, link-local or unspecified address (the egress host itself)", ip)
		}
		return ""
	}
	labels := strings.Split(host, ".")
	if last := labels[len(labels)-1]; last != "" && (strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x")) {
		return fmt.Sprintf("%q is not a DNS name, and resolvers read it as an address", u.Hostname())
	}
	return ""
}
