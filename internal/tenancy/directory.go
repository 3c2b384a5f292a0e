// Package tenancy decides which tenant a request comes from and whether that tenant may use a
// provider. A tenant proves itself with an AppKey keygate issued (stored only as a SHA-256 hash,
// compared in constant time) or with its mTLS identity (a SPIFFE ID from Envoy's attributes).
package tenancy

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sort"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

// Stage is the failure stage of tenant authentication and authorization.
const Stage = "tenant"

// Directory is the compiled, immutable tenant table of one config version. It is safe for
// concurrent use.
type Directory struct {
	creds  []storedCredential
	spiffe map[string]string // SPIFFE ID -> tenant
	names  map[string]bool
}

type storedCredential struct {
	tenant string
	hash   [sha256.Size]byte
}

// Compile builds the directory. Errors name the config field; an AppKey hash or a SPIFFE ID
// used by two tenants is an error, because it would make the tenant ambiguous.
func Compile(tenants []config.Tenant) (*Directory, error) {
	d := &Directory{spiffe: map[string]string{}, names: map[string]bool{}}
	seen := map[[sha256.Size]byte]string{}
	for i, t := range tenants {
		d.names[t.Name] = true
		for j, c := range t.Credentials {
			h, err := config.ParseHash(c.Hash)
			if err != nil {
				return nil, config.Errorf(fmt.Sprintf("tenants[%d].credentials[%d].hash", i, j), "%v", err)
			}
			if other, dup := seen[h]; dup {
				return nil, config.Errorf(fmt.Sprintf("tenants[%d].credentials[%d].hash", i, j), "already used by tenant %q", other)
			}
			seen[h] = t.Name
			d.creds = append(d.creds, storedCredential{tenant: t.Name, hash: h})
		}
		for j, id := range t.SPIFFEIDs {
			path := fmt.Sprintf("tenants[%d].spiffe_ids[%d]", i, j)
			if len(id) < len("spiffe://x") || id[:len("spiffe://")] != "spiffe://" {
				return nil, config.Errorf(path, "%q is not a spiffe:// URI", id)
			}
			if other, dup := d.spiffe[id]; dup {
				return nil, config.Errorf(path, "%q is already used by tenant %q", id, other)
			}
			d.spiffe[id] = t.Name
		}
	}
	return d, nil
}

// Enabled reports whether any tenant is defined. With no tenants, providers have no owner and
// the gateway does not ask for a tenant credential.
func (d *Directory) Enabled() bool { return len(d.names) > 0 }

// Tenants lists the tenant names, sorted.
func (d *Directory) Tenants() []string {
	out := make([]string, 0, len(d.names))
	for n := range d.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Authenticate returns the tenant that credential (the value of TenantKeyHeader, "" when
// absent) or spiffeID (the SPIFFEAttribute value, "" when absent) identifies. When both are
// given they must name the same tenant. Every stored hash is compared, in constant time, so the
// time taken does not depend on which (if any) matched. Errors are failure.Unauthenticated and
// never contain the credential.
func (d *Directory) Authenticate(credential, spiffeID string) (string, error) {
	if credential == "" && spiffeID == "" {
		return "", failure.New(failure.Unauthenticated, Stage, "no tenant credential: send %s or use mTLS", TenantKeyHeader)
	}
	byKey := ""
	if credential != "" {
		sum := sha256.Sum256([]byte(credential))
		match := -1
		for i := range d.creds {
			eq := subtle.ConstantTimeCompare(sum[:], d.creds[i].hash[:])
			match = subtle.ConstantTimeSelect(eq, i, match)
		}
		if match < 0 {
			return "", failure.New(failure.Unauthenticated, Stage, "tenant credential in %s is not valid", TenantKeyHeader)
		}
		byKey = d.creds[match].tenant
	}
	bySPIFFE := ""
	if spiffeID != "" {
		t, ok := d.spiffe[spiffeID]
		if !ok && byKey == "" {
			return "", failure.New(failure.Unauthenticated, Stage, "peer identity %q belongs to no tenant", spiffeID)
		}
		bySPIFFE = t
	}
	switch {
	case byKey == "":
		return bySPIFFE, nil
	case bySPIFFE != "" && bySPIFFE != byKey:
		return "", failure.New(failure.Unauthenticated, Stage, "tenant credential and peer identity %q name different tenants", spiffeID)
	}
	return byKey, nil
}

// Authorize checks that tenant may use a provider owned by providerTenant.
func (d *Directory) Authorize(tenant, providerTenant string) error {
	if subtle.ConstantTimeCompare([]byte(tenant), []byte(providerTenant)) != 1 {
		return failure.New(failure.Forbidden, Stage, "tenant %q may not use this provider", tenant)
	}
	return nil
}
