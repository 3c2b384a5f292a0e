// Package deploy checks the Kubernetes deploy kit without a cluster: the Helm chart in
// deploy/helm/keygate rendered by Helm itself for every values file under its ci/ folder, each
// object strictly decoded into its Kubernetes (or CRD) Go type, the keygate config and Envoy
// bootstrap inside it validated as keygate and Envoy would, golden renders, and the Grafana
// dashboard and Prometheus alert rules checked against the metrics keygate exports.
//
// It is a module of its own (go.mod here) so that Helm's and Prometheus's dependency trees
// never reach keygate's own go.mod; `make test` runs it.
package deploy
