// Package xds makes keygate the control plane of its own egress: it turns a config.File into
// one consistent go-control-plane snapshot (the egress listener with ext_proc, one virtual host
// and one cluster per provider, the ext_proc cluster) and serves it to Envoy over ADS.
package xds

import (
	"errors"
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/keygate/keygate/envoy/envoyconfig"
	"github.com/keygate/keygate/internal/config"
)

// ErrInvalid marks a config that cannot produce a valid snapshot. The joined errors name the
// provider (providers[i]) and field, or the generated resource, at fault.
var ErrInvalid = errors.New("xds: config cannot produce a valid Envoy snapshot")

// Resources are the generated Envoy resources in a stable order: one listener, one route
// configuration, the ext_proc cluster then one cluster per provider in config order.
// They are built fresh per call; callers own them.
type Resources struct {
	Listeners []*listenerv3.Listener
	Routes    []*routev3.RouteConfiguration
	Clusters  []*clusterv3.Cluster
	Secrets   []*tlsv3.Secret // SDS: file names for Envoy's side of mTLS to ext_proc, never bytes
}

// Build generates and validates the resources for f. Every problem is reported at once; any
// problem rejects the whole config (errors.Is(err, ErrInvalid)).
func Build(f *config.File, opts Options) (*Resources, error) {
	o := opts.withEgress(f.Egress).withDefaults(f)
	var errs []error
	r := &Resources{}

	l, err := egressListener(o)
	if err != nil {
		errs = append(errs, err)
	} else {
		r.Listeners = append(r.Listeners, l)
	}
	ep, err := extProcCluster(o)
	if err != nil {
		errs = append(errs, fmt.Errorf("listen.ext_proc: %w", err))
	} else {
		r.Clusters = append(r.Clusters, ep)
	}
	if t := o.ExtProcTLS; t != nil && t.Envoy != nil {
		r.Secrets = extProcSecrets(t.Envoy)
	}
	if l != nil {
		sec, err := secureEgress(l, f.Egress.TLS)
		if err != nil {
			errs = append(errs, fmt.Errorf("egress.tls: %w", err))
		}
		r.Secrets = append(r.Secrets, sec...)
	}
	routes := newRouteTable(o.RouteConfigName, f.Providers)
	in, err := newIngress(f, o) // callback providers: ingress.go
	if err != nil {
		errs = append(errs, err)
	}
	for i, p := range f.Providers {
		path := fmt.Sprintf("providers[%d]", i)
		up, err := parseUpstream(p.Upstream.URL)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.upstream.url: %w", path, err))
			continue
		}
		// A callback provider is reached through the ingress listener; it is never signed upstream.
		signed := f.SignsUpstream(&f.Providers[i]) && !p.Callback
		table := routes
		if p.Callback && in != nil {
			table = in.routes
		}
		if err := table.add(path, p, up, signed); err != nil {
			errs = append(errs, err)
			continue
		}
		c, err := providerCluster(p, up, signed, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.upstream: %w", path, err))
			continue
		}
		r.Clusters = append(r.Clusters, c)
	}
	r.Routes = append(r.Routes, routes.rc)
	if in != nil {
		if l, err := in.listener(); err != nil {
			errs = append(errs, fmt.Errorf("listen.ingress: %w", err))
		} else {
			r.Listeners = append(r.Listeners, l)
			r.Routes = append(r.Routes, in.routes.rc)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, r.validate(f)...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return r, nil
}

// validate checks every resource's values against Envoy's own protos (ValidateAll; the typed
// configs inside Anys were validated by pack) and the references between them. The
// deprecated-field check is not repeated per snapshot: which fields are set is this package's
// code, checked by its tests (envoyconfig.ValidateResource on every golden input).
func (r *Resources) validate(f *config.File) []error {
	provider := map[string]int{}
	for i, p := range f.Providers {
		provider[providerClusterName(p.Name, f.SignsUpstream(&f.Providers[i]))] = i
	}
	var errs []error
	check := func(kind, name string, m proto.Message) {
		if err := validateAll(m); err != nil {
			if i, ok := provider[name]; ok && kind == "cluster" {
				errs = append(errs, fmt.Errorf("providers[%d] (%q): cluster %s: %w", i, f.Providers[i].Name, name, err))
				return
			}
			errs = append(errs, fmt.Errorf("%s %s: %w", kind, name, err))
		}
	}
	for _, l := range r.Listeners {
		check("listener", l.GetName(), l)
	}
	for _, rc := range r.Routes {
		// Virtual hosts are checked one by one first, so an error names its provider; they
		// are in provider order (Build stops before validation if any provider failed).
		before := len(errs)
		for i, vh := range rc.GetVirtualHosts() {
			if err := validateAll(vh); err != nil && i < len(f.Providers) {
				errs = append(errs, fmt.Errorf("providers[%d] (%q): virtual host: %w", i, f.Providers[i].Name, err))
			}
		}
		if len(errs) == before {
			// The virtual hosts are done; check the rest of the route configuration alone.
			vhs := rc.VirtualHosts
			rc.VirtualHosts = nil
			check("route configuration", rc.GetName(), rc)
			rc.VirtualHosts = vhs
		}
	}
	for _, c := range r.Clusters {
		check("cluster", c.GetName(), c)
	}
	for _, sec := range r.Secrets {
		check("secret", sec.GetName(), sec)
	}
	if len(errs) > 0 {
		return errs
	}
	msgs := make([]proto.Message, 0, len(r.Listeners)+len(r.Routes))
	for _, l := range r.Listeners {
		msgs = append(msgs, l)
	}
	for _, rc := range r.Routes {
		msgs = append(msgs, rc)
	}
	if err := envoyconfig.CheckReferences(r.Clusters, msgs...); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// BuildSnapshot builds the resources for f and wraps them in a snapshot of the given version,
// checked with Consistent (every route configuration a listener names is present).
func BuildSnapshot(version string, f *config.File, opts Options) (*cache.Snapshot, error) {
	r, err := Build(f, opts)
	if err != nil {
		return nil, err
	}
	return r.Snapshot(version)
}

// Snapshot wraps r in a consistent snapshot of the given version.
func (r *Resources) Snapshot(version string) (*cache.Snapshot, error) {
	snap, err := cache.NewSnapshot(version, map[resource.Type][]types.Resource{
		resource.ListenerType: asResources(r.Listeners),
		resource.RouteType:    asResources(r.Routes),
		resource.ClusterType:  asResources(r.Clusters),
		resource.SecretType:   asResources(r.Secrets),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := snap.Consistent(); err != nil {
		return nil, fmt.Errorf("%w: snapshot %s is inconsistent: %w", ErrInvalid, version, err)
	}
	return snap, nil
}

func asResources[T types.Resource](in []T) []types.Resource {
	out := make([]types.Resource, len(in))
	for i, m := range in {
		out[i] = m
	}
	return out
}

// pack validates m with its protoc-gen-validate rules and wraps it in an Any. Validating here,
// where the typed config is built, means the resources never need unpacking to be checked.
func pack(m proto.Message) (*anypb.Any, error) {
	if err := validateAll(m); err != nil {
		return nil, fmt.Errorf("%s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return anypb.New(m)
}

func validateAll(m proto.Message) error {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		return v.ValidateAll()
	}
	return nil
}
