package envoyconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestShippedBootstraps validates every Envoy bootstrap shipped in envoy/.
func TestShippedBootstraps(t *testing.T) {
	files, err := filepath.Glob("../*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bootstraps found in envoy/: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := ValidateBootstrapYAML(data); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		})
	}
}

// A valid bootstrap: a static listener with an HCM routing to one cluster, ext_proc on an
// HTTP/2 cluster. The cases below each break one thing.
const validBootstrap = `
static_resources:
  listeners:
    - name: egress
      address: {socket_address: {address: 0.0.0.0, port_value: 10000}}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: egress
                HCM_EXTRA
                route_config:
                  virtual_hosts:
                    - name: demo
                      domains: ["*"]
                      routes:
                        - match: {prefix: /}
                          route: {cluster: ROUTE_CLUSTER}
                http_filters:
                  - name: envoy.filters.http.ext_proc
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
                      grpc_service: {envoy_grpc: {cluster_name: GRPC_CLUSTER}}
                      processing_mode: {request_body_mode: BODY_MODE}
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": ROUTER_TYPE
  clusters:
    - name: provider
      type: LOGICAL_DNS
      connect_timeout: 1s
      CLUSTER_EXTRA
      load_assignment:
        cluster_name: provider
        endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: example.com, port_value: 443}}}}]}]
    - name: ext_proc
      type: STATIC
      connect_timeout: 1s
      load_assignment:
        cluster_name: ext_proc
        endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 18080}}}}]}]
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: {http2_protocol_options: {}}
`

func bootstrap(replace ...string) []byte {
	r := strings.NewReplacer(append(replace,
		"HCM_EXTRA", "", "CLUSTER_EXTRA", "", "ROUTE_CLUSTER", "provider", "GRPC_CLUSTER", "ext_proc",
		"BODY_MODE", "BUFFERED",
		"ROUTER_TYPE", "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router")...)
	return []byte(r.Replace(validBootstrap))
}

func TestValidateBootstrapYAML(t *testing.T) {
	tests := []struct {
		name    string
		yaml    []byte
		wantIs  error  // errors.Is target, if any
		wantSub string // substring of the error, "" for success
	}{
		{name: "valid", yaml: bootstrap()},
		{name: "not yaml", yaml: []byte("a: [b"), wantSub: "not valid YAML"},
		{name: "unknown field", yaml: bootstrap("CLUSTER_EXTRA", "colour: blue"), wantSub: `unknown field "colour"`},
		{name: "invalid enum", yaml: bootstrap("BODY_MODE", "SOMETIMES"), wantSub: "SOMETIMES"},
		{name: "unknown @type", yaml: bootstrap("ROUTER_TYPE", "type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope"), wantSub: "nope"},
		{name: "unknown field inside an Any", yaml: bootstrap("HCM_EXTRA", "stat_prefx: x"), wantSub: `unknown field "stat_prefx"`},
		{name: "invalid value inside an Any", yaml: bootstrap("GRPC_CLUSTER", `""`), wantSub: "ClusterName"},
		{name: "deprecated field", yaml: bootstrap("CLUSTER_EXTRA", "http2_protocol_options: {}"), wantIs: ErrDeprecated, wantSub: "clusters[0].http2_protocol_options"},
		{name: "deprecated field inside an Any", yaml: bootstrap("HCM_EXTRA", "access_log_flush_interval: 1s"), wantIs: ErrDeprecated, wantSub: "<HttpConnectionManager>.access_log_flush_interval"},
		{name: "route to a missing cluster", yaml: bootstrap("ROUTE_CLUSTER", "nowhere"), wantIs: ErrMissingCluster, wantSub: `"nowhere"`},
		{name: "gRPC on an HTTP/1 cluster", yaml: bootstrap("GRPC_CLUSTER", "provider"), wantIs: ErrNotHTTP2, wantSub: `"provider"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateBootstrapYAML(tt.yaml)
			if tt.wantSub == "" && tt.wantIs == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error containing %q, got none", tt.wantSub)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("error %q does not contain %q", err, tt.wantSub)
			}
		})
	}
}

func TestValidateResource(t *testing.T) {
	badAny, err := anypb.New(&corev3.Http2ProtocolOptions{MaxConcurrentStreams: wrapperspb.UInt32(0)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cluster *clusterv3.Cluster
		wantSub string
	}{
		{name: "valid", cluster: &clusterv3.Cluster{Name: "c", ConnectTimeout: durationpb.New(1e9)}},
		{name: "ValidateAll rule", cluster: &clusterv3.Cluster{Name: "", ConnectTimeout: durationpb.New(1e9)}, wantSub: "Name"},
		{name: "rule inside an Any", cluster: &clusterv3.Cluster{Name: "c",
			TypedExtensionProtocolOptions: map[string]*anypb.Any{"x": badAny}}, wantSub: "MaxConcurrentStreams"},
		{name: "unknown Any", cluster: &clusterv3.Cluster{Name: "c",
			TypedExtensionProtocolOptions: map[string]*anypb.Any{"x": {TypeUrl: "type.googleapis.com/nope.Nope"}}}, wantSub: "unknown @type"},
		//lint:ignore SA1019 the deprecated field is the point of this case
		{name: "deprecated", cluster: &clusterv3.Cluster{Name: "c", Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}}, wantSub: "deprecated field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateResource(tt.cluster)
			switch {
			case tt.wantSub == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tt.wantSub != "" && (err == nil || !strings.Contains(err.Error(), tt.wantSub)):
				t.Fatalf("want an error containing %q, got %v", tt.wantSub, err)
			}
		})
	}
}
