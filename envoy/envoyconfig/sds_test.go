package envoyconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"
)

// TestShippedSDSFiles: every path-based SDS file a shipped bootstrap names is in envoy/sds/,
// decodes strictly as Envoy reads it (a DiscoveryResponse of Secrets), passes the same checks
// as a resource, and holds the secret name the bootstrap asks for.
func TestShippedSDSFiles(t *testing.T) {
	boots, _ := filepath.Glob("../*.yaml")
	refs := 0
	for _, b := range boots {
		data, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		bs, err := ParseBootstrapYAML(data)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		for _, c := range bs.GetStaticResources().GetClusters() {
			ts := c.GetTransportSocket().GetTypedConfig()
			if ts == nil {
				continue
			}
			utc := &tlsv3.UpstreamTlsContext{}
			if err := ts.UnmarshalTo(utc); err != nil {
				t.Fatal(err)
			}
			ctx := utc.GetCommonTlsContext()
			sds := append([]*tlsv3.SdsSecretConfig{ctx.GetCombinedValidationContext().GetValidationContextSdsSecretConfig()}, ctx.GetTlsCertificateSdsSecretConfigs()...)
			for _, s := range sds {
				path := s.GetSdsConfig().GetPathConfigSource().GetPath()
				if path == "" {
					continue
				}
				refs++
				local := filepath.Join("..", "sds", filepath.Base(path))
				if !strings.HasPrefix(path, "/etc/envoy/sds/") {
					t.Errorf("%s: SDS path %s is not under /etc/envoy/sds/ (envoy/sds/ is what ships)", b, path)
				}
				checkSDSFile(t, local, s.GetName())
			}
		}
	}
	if refs == 0 {
		t.Fatal("no shipped bootstrap names a path-based SDS file: the check proves nothing")
	}
}

func checkSDSFile(t *testing.T, file, name string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("SDS file for secret %q: %v", name, err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	resp := &discoveryv3.DiscoveryResponse{}
	if err := protojson.Unmarshal(js, resp); err != nil {
		t.Fatalf("%s does not decode as a DiscoveryResponse: %v", file, err)
	}
	found := false
	for _, a := range resp.GetResources() {
		sec := &tlsv3.Secret{}
		if err := a.UnmarshalTo(sec); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := ValidateResource(sec); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		found = found || sec.GetName() == name
	}
	if !found {
		t.Errorf("%s has no secret named %q", file, name)
	}
}
