{{- define "keygate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}
{{- define "keygate.name" -}}{{ include "keygate.fullname" . }}-keygate{{- end -}}
{{- define "keygate.envoyName" -}}{{ include "keygate.fullname" . }}-envoy{{- end -}}

{{- define "keygate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: keygate
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "keygate.selector" -}}
app.kubernetes.io/name: keygate
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "keygate.envoySelector" -}}
app.kubernetes.io/name: keygate-envoy
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* mTLS on keygate's ports: off under Istio, whose sidecars carry the mesh's mTLS. */}}
{{- define "keygate.mtls" -}}{{ if and .Values.mtls.enabled (not .Values.istio.enabled) }}true{{ end }}{{- end -}}

{{- define "keygate.spiffe" -}}spiffe://{{ .root.Values.mtls.trustDomain }}/ns/{{ .root.Release.Namespace }}/sa/{{ .sa }}{{- end -}}
{{- define "keygate.host" -}}{{ include "keygate.name" . }}.{{ .Release.Namespace }}.svc.cluster.local{{- end -}}

{{/* keygate's config file: the machine part from values, tenants and providers as written. */}}
{{- define "keygate.config" -}}
{{- $mtls := include "keygate.mtls" . -}}
{{- $listen := dict "ext_proc" "0.0.0.0:18080" "admin" "0.0.0.0:18081" "health" "0.0.0.0:18082" "xds" "0.0.0.0:18000" -}}
{{- if .Values.istio.enabled }}
{{- $_ := set $listen "xds" "127.0.0.1:18000" }}
{{- else }}
{{- $_ := set $listen "ext_proc_advertise" (printf "%s:18080" (include "keygate.host" .)) }}
{{- end }}
{{- if $mtls }}
{{- $envoyID := include "keygate.spiffe" (dict "root" . "sa" (include "keygate.envoyName" .)) }}
{{- $_ := set $listen "tls" (dict
  "cert_file" "/etc/keygate/tls/tls.crt" "key_file" "/etc/keygate/tls/tls.key" "client_ca_file" "/etc/keygate/tls/ca.crt"
  "clients" (dict "ext_proc" (list $envoyID) "xds" (list $envoyID) "admin" (default (list $envoyID) .Values.mtls.adminClients))
  "envoy" (dict "cert_file" "/etc/envoy/tls/tls.crt" "key_file" "/etc/envoy/tls/tls.key" "ca_file" "/etc/envoy/tls/ca.crt"
    "server_id" (include "keygate.spiffe" (dict "root" . "sa" (include "keygate.name" .))) "sni" (include "keygate.host" .))) }}
{{- else }}
{{- $_ := set $listen "insecure_plaintext" true }}
{{- end }}
{{- $egress := dict "port" (int .Values.envoy.port) }}
{{- if .Values.envoy.tls.enabled }}
{{- $tls := dict "cert_file" "/etc/envoy/egress/tls.crt" "key_file" "/etc/envoy/egress/tls.key" }}
{{- if .Values.envoy.tls.clientCASecret }}{{ $_ := set $tls "client_ca_file" "/etc/envoy/egress-ca/ca.crt" }}{{ end }}
{{- $_ := set $egress "tls" $tls }}
{{- end }}
{{- $auth := dict "method" .Values.vault.auth }}
{{- if eq .Values.vault.auth "kubernetes" }}
{{- $_ := set $auth "mount" .Values.vault.kubernetes.mount }}
{{- $_ := set $auth "role" (required "vault.kubernetes.role is required" .Values.vault.kubernetes.role) }}
{{- else if eq .Values.vault.auth "approle" }}
{{- $_ := set $auth "mount" .Values.vault.approle.mount }}
{{- $_ := set $auth "role_id" (required "vault.approle.roleID is required" .Values.vault.approle.roleID) }}
{{- $_ := required "vault.approle.secretIDSecret.name is required" .Values.vault.approle.secretIDSecret.name }}
{{- $_ := set $auth "secret_id_file" (printf "/etc/keygate/approle/%s" .Values.vault.approle.secretIDSecret.key) }}
{{- else }}
{{- fail "vault.auth: want kubernetes or approle" }}
{{- end }}
{{- $vault := dict "address" .Values.vault.address "auth" $auth }}
{{- if .Values.vault.caSecret }}{{ $_ := set $vault "tls" (dict "ca_file" "/etc/keygate/vault-ca/ca.crt") }}{{ end }}
{{- $admin := dict "metrics" (dict "require_token" .Values.admin.metrics.requireToken "tenant_labels" .Values.admin.metrics.tenantLabels) }}
{{- with .Values.admin.tokens }}{{ $_ := set $admin "tokens" . }}{{ end }}
{{- with .Values.admin.tokensSecret.name }}{{ $_ := set $admin "tokens_file" (printf "/etc/keygate/admin-tokens/%s" $.Values.admin.tokensSecret.key) }}{{ end }}
{{- with .Values.admin.jwt }}{{ $_ := set $admin "jwt" . }}{{ end }}
{{- $cfg := dict "listen" $listen "egress" $egress "keystore" (dict "type" "vault" "vault" $vault)
  "state" (dict "dir" "/var/lib/keygate" "shared_in_vault" .Values.vault.sharedState "audit_file" "-")
  "admin" $admin "tenants" .Values.keygate.config.tenants "providers" .Values.keygate.config.providers }}
{{- toYaml (mustMergeOverwrite $cfg .Values.keygate.extraConfig) }}
{{- end -}}

{{- define "keygate.podSecurity" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end -}}
