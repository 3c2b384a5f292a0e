package envoyconfig

import (
	"encoding/json"
	"os"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"
)

// TestIstioEnvoyFilter decodes every patch value of examples/istio/envoyfilter.yaml with
// Envoy's protos, strictly, and validates the complete ones.
func TestIstioEnvoyFilter(t *testing.T) {
	data, err := os.ReadFile("../../examples/istio/envoyfilter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ef struct {
		Spec struct {
			ConfigPatches []struct {
				ApplyTo string `json:"applyTo"`
				Patch   struct {
					Value json.RawMessage `json:"value"`
				} `json:"patch"`
			} `json:"configPatches"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &ef); err != nil {
		t.Fatal(err)
	}
	var clusters []*clusterv3.Cluster
	var filters []proto.Message
	for _, p := range ef.Spec.ConfigPatches {
		t.Run(p.ApplyTo, func(t *testing.T) {
			var m proto.Message
			complete := true
			switch p.ApplyTo {
			case "CLUSTER":
				c := &clusterv3.Cluster{}
				clusters, m = append(clusters, c), c
			case "HTTP_FILTER":
				f := &hcmv3.HttpFilter{}
				filters, m = append(filters, f), f
			case "LISTENER":
				m, complete = &listenerv3.Listener{}, false // a MERGE fragment, not a listener
			default:
				t.Fatalf("no Envoy type known for applyTo %s", p.ApplyTo)
			}
			if err := protojson.Unmarshal(p.Patch.Value, m); err != nil {
				t.Fatalf("%s patch does not decode: %v", p.ApplyTo, err)
			}
			if complete {
				if err := ValidateResource(m); err != nil {
					t.Fatalf("%s patch: %v", p.ApplyTo, err)
				}
			}
		})
	}
	if err := CheckReferences(clusters, filters...); err != nil {
		t.Fatal(err)
	}
}
