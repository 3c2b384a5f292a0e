// Package envoyconfig checks Envoy configuration with Envoy's own protos, without an Envoy
// binary: strict protojson decoding (unknown fields fail, as in Envoy), the protoc-gen-validate
// rules (ValidateAll), the same inside every Any, no deprecated field or enum value, and the
// references Envoy checks at load (route -> cluster, gRPC services -> HTTP/2 clusters).
package envoyconfig

import (
	"fmt"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"sigs.k8s.io/yaml"
)

// ParseBootstrapYAML decodes an Envoy bootstrap strictly: YAML -> JSON -> protojson, unknown
// fields and unknown @types are errors. It does not validate; see ValidateBootstrap.
func ParseBootstrapYAML(data []byte) (*bootstrapv3.Bootstrap, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("bootstrap is not valid YAML: %w", err)
	}
	b := &bootstrapv3.Bootstrap{}
	if err := protojson.Unmarshal(js, b); err != nil {
		return nil, fmt.Errorf("bootstrap does not decode as envoy.config.bootstrap.v3.Bootstrap: %w", err)
	}
	return b, nil
}

// ValidateBootstrapYAML is ParseBootstrapYAML then ValidateBootstrap.
func ValidateBootstrapYAML(data []byte) error {
	b, err := ParseBootstrapYAML(data)
	if err != nil {
		return err
	}
	return ValidateBootstrap(b)
}

// ValidateBootstrap validates b as a resource and checks its references: every gRPC service
// (ADS, ext_proc) names a static cluster that speaks HTTP/2, and, when clusters are not
// discovered over xDS, every route names a static cluster.
func ValidateBootstrap(b *bootstrapv3.Bootstrap) error {
	if err := ValidateResource(b); err != nil {
		return err
	}
	dynamicClusters := b.GetDynamicResources().GetCdsConfig() != nil
	return checkRefs(b.GetStaticResources().GetClusters(), dynamicClusters, b)
}

// ValidateResource checks one Envoy message (a Listener, Cluster, RouteConfiguration,
// Bootstrap, ...): ValidateRules, and no deprecated field or enum value anywhere, Anys
// included. Errors name the field path.
func ValidateResource(m proto.Message) error {
	if err := ValidateRules(m); err != nil {
		return err
	}
	return walk(m.ProtoReflect(), &path{}, deprecatedPruner, noDeprecated)
}

// ValidateRules checks the values in m: its protoc-gen-validate rules (ValidateAll) and those
// of every Any inside it, unpacked through the registry. It is the part of ValidateResource
// that depends on a config's values rather than on which fields code sets, and it is cheaper:
// package xds runs it on every snapshot, ValidateResource in its tests.
func ValidateRules(m proto.Message) error {
	if err := validateAll(m); err != nil {
		return fmt.Errorf("%s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return walk(m.ProtoReflect(), &path{}, anyPruner, func(*path, protoreflect.Message) error { return nil })
}
