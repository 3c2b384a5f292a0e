package keystore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	vault "github.com/hashicorp/vault/api"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
)

// Get reads one field of a KV v2 secret: the latest version, or the pinned one.
func (v *Vault) Get(ctx context.Context, ref Ref) (Secret, error) {
	if ref.Kind != KV {
		return Secret{}, readFailure(ref, ErrNotFound, "not a KV reference")
	}
	if err := ref.Canonical(); err != nil {
		return Secret{}, readFailure(ref, ErrNotFound, err.Error())
	}
	if err := v.notLoggedIn(ref); err != nil {
		return Secret{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, v.opts.Timeout)
	defer cancel()
	var params map[string][]string
	if ref.Version > 0 {
		params = map[string][]string{"version": {strconv.Itoa(ref.Version)}}
	}
	s, err := v.client.Logical().ReadWithDataWithContext(ctx, ref.Mount+"/data/"+ref.Path, params)
	if err != nil {
		detail, sentinel := classify(err)
		return Secret{}, readFailure(ref, sentinel, detail)
	}
	if s == nil || s.Data == nil {
		return Secret{}, readFailure(ref, ErrNotFound, notFoundDetail(ref, "no such secret"))
	}
	version := kvVersion(s.Data["metadata"])
	data, _ := s.Data["data"].(map[string]any)
	if data == nil { // KV v2 answers a deleted or destroyed version with metadata and no data
		return Secret{}, readFailure(ref, ErrNotFound, notFoundDetail(ref, "the secret version is deleted"))
	}
	raw, ok := data[ref.Field]
	if !ok {
		return Secret{}, readFailure(ref, ErrNotFound, fmt.Sprintf("secret version %d has no field %q", version, ref.Field))
	}
	str, ok := raw.(string)
	if !ok { // never render raw: it is the secret
		return Secret{}, readFailure(ref, ErrNotFound, fmt.Sprintf("field %q is not a string", ref.Field))
	}
	return Secret{Value: secret.FromString(str), Version: version}, nil
}

func notFoundDetail(ref Ref, what string) string {
	if ref.Version > 0 {
		return fmt.Sprintf("%s (version %d)", what, ref.Version)
	}
	return what
}

func kvVersion(meta any) int {
	m, _ := meta.(map[string]any)
	switch n := m["version"].(type) {
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case float64:
		return int(n)
	}
	return 0
}

// Put writes a new version of mount/path with check-and-set (cas -1: no check) and returns it.
func (v *Vault) Put(ctx context.Context, mount, path string, fields map[string]secret.Value, cas int) (int, error) {
	if err := (Ref{Kind: KV, Mount: mount, Path: path, Field: "value"}).Canonical(); err != nil {
		return 0, &failure.Error{Kind: failure.BadRequest, Stage: stage, Msg: mount + "/" + path, Err: err}
	}
	if err := v.loginErr(); err != nil {
		// Without a login Vault would answer 403, read as a policy problem; it is an outage.
		return 0, writeFailure(mount, path, ErrUnavailable, "not logged in to vault: "+err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, v.opts.Timeout)
	defer cancel()
	data := make(map[string]any, len(fields))
	for k, val := range fields {
		data[k] = string(val.Reveal())
	}
	var opts []vault.KVOption
	if cas >= 0 {
		opts = append(opts, vault.WithCheckAndSet(cas))
	}
	s, err := v.client.KVv2(mount).Put(ctx, path, data, opts...)
	if err != nil {
		detail, sentinel := classify(err)
		return 0, writeFailure(mount, path, sentinel, detail)
	}
	if s == nil || s.VersionMetadata == nil {
		return 0, writeFailure(mount, path, ErrUnavailable, "vault answered the write without a version")
	}
	return s.VersionMetadata.Version, nil
}
