package xds

import (
	"os"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/keygate/keygate/envoy/envoyconfig"
	"github.com/keygate/keygate/internal/config"
)

// TestStaticBootstrapMatchesGenerated keeps envoy/envoy-static.yaml what the xDS server would
// push for deploy/keygate-compose.yaml: the same clusters, ext_proc filter and buffer limit.
func TestStaticBootstrapMatchesGenerated(t *testing.T) {
	data, err := os.ReadFile("../envoy/envoy-static.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := envoyconfig.ParseBootstrapYAML(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile("../deploy/keygate-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(f, Options{})
	if err != nil {
		t.Fatal(err)
	}

	static := b.GetStaticResources()
	if len(static.GetClusters()) != len(r.Clusters) {
		t.Fatalf("static clusters %d, generated %d", len(static.GetClusters()), len(r.Clusters))
	}
	for i, want := range r.Clusters {
		if got := static.GetClusters()[i]; !proto.Equal(got, want) {
			t.Errorf("cluster %s differs from the generated one:\n%s", want.GetName(), diff(want, got))
		}
	}
	l := static.GetListeners()[0]
	if got, want := l.GetPerConnectionBufferLimitBytes().GetValue(), r.Listeners[0].GetPerConnectionBufferLimitBytes().GetValue(); got != want {
		t.Errorf("buffer limit %d, generated %d", got, want)
	}
	hcm := &hcmv3.HttpConnectionManager{}
	if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(hcm); err != nil {
		t.Fatal(err)
	}
	got := &extprocv3.ExternalProcessor{}
	if err := hcm.GetHttpFilters()[0].GetTypedConfig().UnmarshalTo(got); err != nil {
		t.Fatal(err)
	}
	if want := extProcFilter(Options{}.withDefaults(f)); !proto.Equal(got, want) {
		t.Errorf("ext_proc filter differs from the generated one:\n%s", diff(want, got))
	}
	if got, want := hcm.GetRouteConfig().GetVirtualHosts(), r.Routes[0].GetVirtualHosts(); len(got) != 1 || !proto.Equal(got[0], want[0]) {
		t.Errorf("virtual hosts differ from the generated ones:\n%s", diff(want[0], got[0]))
	}
}

func diff(want, got proto.Message) string {
	return "want: " + prototext.Format(want) + "\n got: " + prototext.Format(got)
}
