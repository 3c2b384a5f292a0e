package config

import (
	"strings"
	"testing"
)

func TestListenTLSErrorsNameTheField(t *testing.T) {
	full := `listen:
  tls:
    cert_file: c
    key_file: k
    client_ca_file: ca
    clients: {ext_proc: ["spiffe://td/envoy"], xds: ["spiffe://td/envoy"], admin: ["dns:ops.example"]}
    envoy: {cert_file: /c, key_file: /k, ca_file: /ca, server_id: "spiffe://td/keygate"}
`
	for _, c := range []struct{ from, to, want string }{
		{"", "", ""},
		{"    cert_file: c\n", "", "listen.tls.cert_file: required"},
		{`xds: ["spiffe://td/envoy"]`, `xds: []`, "listen.tls.clients.xds: at least one client identity"},
		{`xds: ["spiffe://td/envoy"]`, `xds: ["envoy"]`, "listen.tls.clients.xds[0]: \"envoy\": want spiffe://"},
		{`xds: ["spiffe://td/envoy"]`, `xds: ["spiffe://td/a/../envoy"]`, "listen.tls.clients.xds[0]"},
		{`xds: ["spiffe://td/envoy"]`, `xds: ["spiffe://TD/envoy"]`, "listen.tls.clients.xds[0]"},
		{`xds: ["spiffe://td/envoy"]`, `xds: ["spiffe://td/envoy?x=1"]`, "listen.tls.clients.xds[0]"},
		{`admin: ["dns:ops.example"]`, `admin: ["dns:*.example"]`, "listen.tls.clients.admin[0]"},
		{`admin: ["dns:ops.example"]`, `admin: ["dns:Ops.example"]`, "listen.tls.clients.admin[0]"},
		{`server_id: "spiffe://td/keygate"`, `server_id: ""`, "listen.tls.envoy.server_id"},
		{"    envoy: {cert_file: /c, key_file: /k, ca_file: /ca, server_id: \"spiffe://td/keygate\"}\n", "", "listen.tls.envoy: required with listen.tls"},
	} {
		cfg := full
		if c.from != "" {
			cfg = strings.Replace(full, c.from, c.to, 1)
		}
		f, err := Parse([]byte(cfg))
		if err == nil {
			err = f.Validate()
		}
		if c.want == "" {
			if err != nil {
				t.Errorf("the full config: %v", err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q -> %q: %v, want %q", c.from, c.to, err, c.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "127.1.2.3:1": true, "[::1]:1": true, "localhost:1": true,
		"0.0.0.0:1": false, ":1": false, "[::]:1": false, "10.0.0.1:1": false, "keygate:1": false, "nohostport": false} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
