package deploy

import (
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	networkingistio "istio.io/client-go/pkg/apis/networking/v1alpha3"
	securityistio "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// newObject is the Go type of every kind the chart may render; a kind not listed fails.
var newObject = map[string]func() any{
	"v1/ServiceAccount":                        func() any { return &corev1.ServiceAccount{} },
	"v1/ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1/Service":                               func() any { return &corev1.Service{} },
	"apps/v1/Deployment":                       func() any { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":       func() any { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/ServiceMonitor":  func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule":  func() any { return &monitoringv1.PrometheusRule{} },
	"networking.istio.io/v1alpha3/EnvoyFilter": func() any { return &networkingistio.EnvoyFilter{} },
	"security.istio.io/v1/AuthorizationPolicy": func() any { return &securityistio.AuthorizationPolicy{} },
}

// checkObject decodes d strictly into its type (an unknown field or a wrong type fails), then
// runs the checks of its kind. It returns the kind.
func checkObject(t *testing.T, d doc) string {
	t.Helper()
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(d.yaml, &head); err != nil {
		t.Fatalf("%s: not YAML: %v\n%s", d.source, err, d.yaml)
	}
	mk, ok := newObject[head.APIVersion+"/"+head.Kind]
	if !ok {
		t.Fatalf("%s: %s %s is not a kind this test knows: add its Go type to newObject", d.source, head.APIVersion, head.Kind)
	}
	obj := mk()
	if err := yaml.UnmarshalStrict(d.yaml, obj); err != nil {
		t.Fatalf("%s: %s does not decode strictly: %v", d.source, head.Kind, err)
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		checkDeployment(t, d.source, o)
	case *corev1.ConfigMap:
		checkConfigMap(t, d.source, o)
	case *networkingistio.EnvoyFilter:
		checkEnvoyFilter(t, d.source, o)
	case *corev1.ServiceAccount, *corev1.Service, *policyv1.PodDisruptionBudget, *networkingv1.NetworkPolicy,
		*monitoringv1.ServiceMonitor, *monitoringv1.PrometheusRule, *securityistio.AuthorizationPolicy:
	}
	return head.Kind
}

// checkDeployment: at least two replicas, non-root and a read-only root file system in every
// container, resource requests, and keygate probed on /healthz and /readyz.
func checkDeployment(t *testing.T, src string, d *appsv1.Deployment) {
	t.Helper()
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("%s: replicas %v, want at least 2", src, d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("%s: pod may run as root", src)
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: container %s: root file system writable or privilege escalation allowed", src, c.Name)
		}
		if len(c.Resources.Requests) == 0 {
			t.Errorf("%s: container %s has no resource requests", src, c.Name)
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s: container %s lacks a readiness or liveness probe", src, c.Name)
		}
		if c.Name == "keygate" {
			if p := c.ReadinessProbe.HTTPGet; p == nil || p.Path != "/readyz" {
				t.Errorf("%s: keygate readiness probe is not GET /readyz", src)
			}
			if p := c.LivenessProbe.HTTPGet; p == nil || p.Path != "/healthz" {
				t.Errorf("%s: keygate liveness probe is not GET /healthz", src)
			}
		}
	}
}

func checkConfigMap(t *testing.T, src string, cm *corev1.ConfigMap) {
	t.Helper()
	for key, data := range cm.Data {
		switch {
		case key == "config.yaml":
			checkKeygateConfig(t, src, []byte(data))
		case key == "envoy.yaml":
			checkBootstrap(t, src, []byte(data), cm.Data)
		case strings.HasSuffix(key, ".json"):
			// the dashboard: TestDashboard checks files/keygate-dashboard.json itself
		case key == "envoy-client.yaml" || key == "mesh-ca.yaml":
			// checked through the bootstrap that names them
		default:
			t.Errorf("%s: ConfigMap key %s is not checked by this test", src, key)
		}
	}
}
