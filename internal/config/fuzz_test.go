package config

import "testing"

// FuzzParseValidate: any bytes given as a config are refused with an error or parsed and
// validated; never a panic.
func FuzzParseValidate(f *testing.F) {
	for _, seed := range []string{
		"providers: []",
		"keystore: {type: file, file: {path: keys.yaml}}\nproviders:\n  - name: a\n    hosts: [a.local]\n    upstream: {url: 'http://127.0.0.1:1/v1', timeout: 2s}\n    secrets: {k: secret/x#k}\n    signing: [{scheme: static, secret: k, in: header, name: X-Key}]\n",
		"providers:\n  - name: t\n    hosts: [t.local]\n    upstream: {url: 'https://api.example'}\n    token: {type: oauth2_client_credentials, url: 'https://auth.example/t', timeout: 300ms, params: {client_id: c, client_secret: s}}\n    signing: [{scheme: token}]\n",
		"providers:\n  - name: s\n    hosts: [s.local]\n    upstream: {url: 'http://x'}\n    script: {inline: 'function (a) {}', timeout: 50ms}\n",
		"tenants: [{name: t, credentials: [{id: a, hash: 'sha256:00'}]}]\nproviders: [{name: p, tenant: t, hosts: [p], upstream: {url: 'http://x'}}]",
		"limits: {max_body_bytes: -1}\nproviders: [{name: '', hosts: [], upstream: {url: ''}}]",
		"providers: [{name: p, hosts: [p], upstream: {url: 'http://x', timeout: 'forever'}}]",
		"{\"providers\": [{\"name\": 1}]}",
		"providers: &a [*a]",
		"- just\n- a list\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if file != nil {
				t.Fatalf("Parse returned a file with an error")
			}
			return
		}
		_ = file.Validate()
	})
}
