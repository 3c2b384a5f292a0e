package deploy

import (
	"path"
	"testing"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	networkingistio "istio.io/client-go/pkg/apis/networking/v1alpha3"
	"sigs.k8s.io/yaml"

	"github.com/keygate/keygate/envoy/envoyconfig"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/xds"
)

// checkKeygateConfig: the rendered config is one keygate serve accepts, and the Envoy resources
// keygate would push for it (the egress listener included) pass Envoy's proto checks.
func checkKeygateConfig(t *testing.T, src string, data []byte) {
	t.Helper()
	f, err := config.Parse(data)
	if err != nil {
		t.Fatalf("%s: keygate config does not parse: %v", src, err)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("%s: keygate config is invalid: %v", src, err)
	}
	if f.Listen.TLS == nil && !f.Listen.InsecurePlaintext {
		t.Fatalf("%s: plaintext beyond loopback without listen.insecure_plaintext: keygate serve would refuse it", src)
	}
	r, err := xds.Build(f, xds.Options{ExtProcAddress: f.Listen.ExtProcAdvertise, ExtProcTLS: f.Listen.TLS})
	if err != nil {
		t.Fatalf("%s: keygate would push no snapshot: %v", src, err)
	}
	for _, l := range r.Listeners {
		if err := envoyconfig.ValidateResource(l); err != nil {
			t.Errorf("%s: listener %s: %v", src, l.GetName(), err)
		}
	}
	for _, c := range r.Clusters {
		if err := envoyconfig.ValidateResource(c); err != nil {
			t.Errorf("%s: cluster %s: %v", src, c.GetName(), err)
		}
	}
	for _, s := range r.Secrets {
		if err := envoyconfig.ValidateResource(s); err != nil {
			t.Errorf("%s: secret %s: %v", src, s.GetName(), err)
		}
	}
}

// checkBootstrap: the same checks as envoy/*.yaml (envoy/envoyconfig), and every path-based SDS
// file the bootstrap names is in the same ConfigMap, holding the secret asked for.
func checkBootstrap(t *testing.T, src string, data []byte, files map[string]string) {
	t.Helper()
	if err := envoyconfig.ValidateBootstrapYAML(data); err != nil {
		t.Fatalf("%s: Envoy bootstrap: %v", src, err)
	}
	b, _ := envoyconfig.ParseBootstrapYAML(data)
	for _, c := range b.GetStaticResources().GetClusters() {
		ts := c.GetTransportSocket().GetTypedConfig()
		if ts == nil {
			continue
		}
		utc := &tlsv3.UpstreamTlsContext{}
		if err := ts.UnmarshalTo(utc); err != nil {
			t.Fatal(err)
		}
		ctx := utc.GetCommonTlsContext()
		sds := append([]*tlsv3.SdsSecretConfig{ctx.GetCombinedValidationContext().GetValidationContextSdsSecretConfig()},
			ctx.GetTlsCertificateSdsSecretConfigs()...)
		for _, s := range sds {
			p := s.GetSdsConfig().GetPathConfigSource().GetPath()
			if p == "" {
				continue
			}
			body, ok := files[path.Base(p)]
			if !ok || path.Dir(p) != "/etc/envoy/sds" {
				t.Errorf("%s: SDS file %s is not in the bootstrap ConfigMap (mounted at /etc/envoy/sds)", src, p)
				continue
			}
			checkSDS(t, src+":"+p, []byte(body), s.GetName())
		}
	}
}

func checkSDS(t *testing.T, src string, data []byte, name string) {
	t.Helper()
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	resp := &discoveryv3.DiscoveryResponse{}
	if err := protojson.Unmarshal(js, resp); err != nil {
		t.Fatalf("%s does not decode as a DiscoveryResponse: %v", src, err)
	}
	found := false
	for _, a := range resp.GetResources() {
		sec := &tlsv3.Secret{}
		if err := a.UnmarshalTo(sec); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if err := envoyconfig.ValidateResource(sec); err != nil {
			t.Errorf("%s: %v", src, err)
		}
		found = found || sec.GetName() == name
	}
	if !found {
		t.Errorf("%s has no secret named %q", src, name)
	}
}

// checkEnvoyFilter decodes each patch value with Envoy's protos at the API version keygate is
// pinned to: an HTTP filter whose typed config passes the same checks as keygate's own.
func checkEnvoyFilter(t *testing.T, src string, ef *networkingistio.EnvoyFilter) {
	t.Helper()
	patches := ef.Spec.GetConfigPatches()
	if len(patches) == 0 {
		t.Fatalf("%s: EnvoyFilter without patches", src)
	}
	for i, p := range patches {
		js, err := protojson.Marshal(p.GetPatch().GetValue())
		if err != nil {
			t.Fatal(err)
		}
		f := &hcmv3.HttpFilter{}
		if err := protojson.Unmarshal(js, f); err != nil {
			t.Fatalf("%s: patch %d does not decode as an HttpFilter: %v", src, i, err)
		}
		if err := envoyconfig.ValidateResource(f); err != nil {
			t.Errorf("%s: patch %d: %v", src, i, err)
		}
	}
}
