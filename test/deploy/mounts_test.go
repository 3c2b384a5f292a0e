package deploy

import (
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/keygate/keygate/internal/config"
)

// TestKeygateFilesAreMounted: every file the rendered keygate config names (its certificates,
// Vault's CA, the AppRole secret ID, the admin tokens file) is in a volume of keygate's
// container, the secret ones (secret ID, admin tokens, keys) from a Secret, never a ConfigMap;
// and no Secret reaches keygate through its environment (a rotated env var needs a restart
// and shows in `kubectl describe`).
func TestKeygateFilesAreMounted(t *testing.T) {
	for _, vf := range ciValues(t) {
		name := strings.TrimSuffix(filepath.Base(vf), "-values.yaml")
		t.Run(name, func(t *testing.T) {
			var cfg *config.File
			var dep *appsv1.Deployment
			for _, d := range render(t, vf, monitoringCRDs...) {
				var head struct{ Kind string }
				_ = yaml.Unmarshal(d.yaml, &head)
				switch head.Kind {
				case "ConfigMap":
					var cm corev1.ConfigMap
					if err := yaml.Unmarshal(d.yaml, &cm); err != nil {
						t.Fatal(err)
					}
					if data, ok := cm.Data["config.yaml"]; ok {
						f, err := config.Parse([]byte(data))
						if err != nil {
							t.Fatal(err)
						}
						cfg = f
					}
				case "Deployment":
					var dd appsv1.Deployment
					if err := yaml.Unmarshal(d.yaml, &dd); err != nil {
						t.Fatal(err)
					}
					if dd.Spec.Template.Spec.Containers[0].Name == "keygate" {
						dep = &dd
					}
				}
			}
			if cfg == nil || dep == nil {
				t.Fatal("no keygate config or keygate Deployment rendered")
			}
			pod := dep.Spec.Template.Spec
			c := pod.Containers[0]
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					t.Errorf("env %s comes from Secret %s: mount it as a file", e.Name, e.ValueFrom.SecretKeyRef.Name)
				}
			}
			volumes := map[string]corev1.Volume{}
			for _, v := range pod.Volumes {
				volumes[v.Name] = v
			}
			// source finds the volume a path lies in.
			source := func(p string) (corev1.Volume, bool) {
				for _, m := range c.VolumeMounts {
					if strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") {
						v, ok := volumes[m.Name]
						return v, ok
					}
				}
				return corev1.Volume{}, false
			}
			files := map[string]bool{} // path -> must come from a Secret
			if tl := cfg.Listen.TLS; tl != nil {
				files[tl.CertFile], files[tl.KeyFile], files[tl.ClientCAFile] = false, true, false
			}
			files[cfg.Admin.TokensFile] = true
			if v := cfg.Keystore.Vault; v != nil {
				files[v.Auth.SecretIDFile] = true
				files[v.Auth.TokenFile] = true
				if v.TLS != nil {
					files[v.TLS.CAFile] = false
				}
			}
			delete(files, "")
			if cfg.Admin.TokensFile == "" && name == "plaintext-approle" {
				t.Error("the plaintext-approle CI values lost admin.tokensSecret: admin.tokens_file goes unrendered")
			}
			for p, secret := range files {
				v, ok := source(p)
				if !ok {
					t.Errorf("%s: named by the config, in no volume of keygate's container", p)
					continue
				}
				if secret && v.Secret == nil {
					t.Errorf("%s: a secret file from volume %s, which is not a Secret", p, v.Name)
				}
				if v.Secret != nil {
					if it := v.Secret.Items; len(it) > 0 && !containsPath(it, strings.TrimPrefix(p, mountOf(c, v.Name)+"/")) {
						t.Errorf("%s: volume %s projects no such item %v", p, v.Name, it)
					}
				}
			}
		})
	}
}

func mountOf(c corev1.Container, volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return strings.TrimSuffix(m.MountPath, "/")
		}
	}
	return ""
}

func containsPath(items []corev1.KeyToPath, p string) bool {
	for _, it := range items {
		if it.Path == p {
			return true
		}
	}
	return false
}
