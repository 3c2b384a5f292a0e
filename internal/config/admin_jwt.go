package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
)

// Defaults of admin.jwt.
const (
	DefaultRoleClaim   = "keygate_role"
	DefaultTenantClaim = "keygate_tenant"
)

// JWTAlgorithms are the signature algorithms admin.jwt.algorithms may name: asymmetric only,
// so that keygate holds no key that could mint an admin token.
var JWTAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// DefaultJWTAlgorithms is what admin.jwt accepts when it names none.
var DefaultJWTAlgorithms = []string{"RS256", "ES256"}

func validateAdminJWT(j *AdminJWT, add func(string, string, ...any)) {
	const p = "admin.jwt"
	if j.Issuer == "" {
		add(p+".issuer", "required: the iss every admin token must carry")
	}
	if j.Audience == "" {
		add(p+".audience", "required: without it a token minted for any other application would do")
	}
	switch {
	case j.JWKSURL == "" && j.JWKSFile == "":
		add(p, "needs jwks_url or jwks_file: the keys admin tokens are signed with")
	case j.JWKSURL != "" && j.JWKSFile != "":
		add(p, "jwks_url and jwks_file are exclusive")
	case j.JWKSURL != "":
		u, err := url.Parse(j.JWKSURL)
		switch {
		case err != nil || u.Host == "":
			add(p+".jwks_url", "not a URL with a host")
		case u.User != nil:
			add(p+".jwks_url", "must not carry credentials: a JWKS is public, and the URL is logged")
		case u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())):
			add(p+".jwks_url", "must be https (http only on loopback): the keys decide who is an admin")
		}
	}
	if c := j.Console; c != nil {
		if c.ClientID == "" {
			add(p+".console.client_id", "required: the console's client at the issuer")
		}
		for name, v := range map[string]string{"authorization_url": c.AuthorizationURL, "token_url": c.TokenURL} {
			if v == "" {
				continue
			}
			u, err := url.Parse(v)
			switch {
			case err != nil || u.Host == "":
				add(p+".console."+name, "not a URL with a host")
			case u.User != nil:
				add(p+".console."+name, "must not carry credentials: the URL is logged")
			case u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())):
				add(p+".console."+name, "must be https (http only on loopback): the login goes through it")
			}
		}
	}
	for i, a := range j.Algorithms {
		if !slices.Contains(JWTAlgorithms, a) {
			add(fmt.Sprintf("%s.algorithms[%d]", p, i), "%q is not one of %v", a, JWTAlgorithms)
		}
	}
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
