package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/failure"
)

// OIDCLogin is the console's login by redirect: authorization code with PKCE. The browser
// sends the user to the issuer and gets a code back; keygate exchanges the code at the
// issuer's token endpoint (the console's CSP lets it talk to keygate only) and hands back the
// token only if the API's own JWT verifier accepts it. The console holds the token as it
// holds a pasted one. Options.JWT must be set.
type OIDCLogin struct {
	Issuer   string
	ClientID string
	// AuthorizationURL and TokenURL: from the issuer's discovery document when empty.
	AuthorizationURL, TokenURL string
	Scopes                     []string     // default openid
	HTTPClient                 *http.Client // default a client with a 10 s timeout
}

// oidcEndpoints finds the issuer's endpoints once (a failed discovery is retried next time).
// Anyone may ask for the login page's configuration, so a failed discovery is not retried
// for a while: requests to keygate must not turn into a stream of requests to the issuer.
type oidcEndpoints struct {
	cfg        OIDCLogin
	mu         sync.Mutex
	auth, tokn string
	failedAt   time.Time
}

const discoveryRetry = 10 * time.Second

func (e *oidcEndpoints) get(ctx context.Context) (auth, token string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.auth == "" || e.tokn == "" {
		if time.Since(e.failedAt) < discoveryRetry {
			return "", "", failure.New(failure.Unavailable, "login", "the issuer's discovery document could not be read; retrying in a few seconds")
		}
		e.auth, e.tokn = e.cfg.AuthorizationURL, e.cfg.TokenURL
		if e.auth == "" || e.tokn == "" {
			p, err := oidc.NewProvider(oidc.ClientContext(ctx, e.cfg.HTTPClient), e.cfg.Issuer)
			if err != nil {
				e.auth, e.tokn, e.failedAt = "", "", time.Now()
				return "", "", failure.Wrap(failure.Unavailable, "login", failure.WithoutURL(err), "the issuer's discovery document")
			}
			ep := p.Endpoint()
			e.auth, e.tokn = cmpOr(e.auth, ep.AuthURL), cmpOr(e.tokn, ep.TokenURL)
		}
	}
	return e.auth, e.tokn, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// oidcConfig is GET /v1/login/oidc: what the console needs to send the user to the issuer.
// Public, as the issuer's discovery document is.
func (s *server) oidcConfig(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		writeJSON(w, http.StatusOK, map[string]any{"enabled": false})
		return
	}
	auth, _, err := s.oidc.get(r.Context())
	if err != nil {
		writeJSON(w, statusOf(err), failure.BodyOf(err, statusOf(err)))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"enabled": true, "issuer": s.oidc.cfg.Issuer, "authorization_endpoint": auth, "client_id": s.oidc.cfg.ClientID,
		"scopes": s.oidc.cfg.Scopes,
	})
}

// oidcExchange is the body of POST /v1/login/oidc/token.
type oidcExchange struct {
	Code         string `json:"code"`
	CodeVerifier string `json:"code_verifier"`
	RedirectURI  string `json:"redirect_uri"`
	Nonce        string `json:"nonce"`
}

// oidcToken is POST /v1/login/oidc/token: the code exchanged for a token the API accepts.
// It is a login: rate-limited with failed logins, audited, and it answers 401 without saying
// more than the issuer's error code.
func (s *server) oidcToken(w http.ResponseWriter, r *http.Request) {
	ev := audit.Admin{Time: s.opts.Now().UTC(), Action: "login.oidc", Target: "issuer " + s.oidc.cfg.Issuer}
	tok, p, err := s.exchange(w, r)
	status := http.StatusOK
	if err != nil {
		status = statusOf(err)
		ev.Outcome, ev.Error = audit.OutcomeDenied, err.Error()
		if status >= 500 {
			ev.Outcome = audit.OutcomeError
		}
		if status == http.StatusUnauthorized {
			s.guard.failed(r)
		}
		writeJSON(w, status, failure.BodyOf(err, status))
	} else {
		ev.Actor, ev.Role, ev.Tenant, ev.Outcome = p.Name, string(p.Role), p.Tenant, audit.OutcomeOK
		writeJSON(w, status, map[string]any{"token": tok, "principal": p})
	}
	ev.Status = status
	if err != nil {
		// A failed exchange is an unauthenticated request: recorded at the same bounded rate.
		record, skipped := s.guard.recordAnonymous()
		if !record {
			return
		}
		if skipped > 0 {
			ev.Error = fmt.Sprintf("%s (%d more unauthenticated requests were not recorded)", ev.Error, skipped)
		}
	}
	if aerr := s.opts.Audit.Write(r.Context(), ev); aerr != nil {
		s.opts.Logger.Error("audit write failed", "action", ev.Action, "err", aerr)
	}
}

func (s *server) exchange(w http.ResponseWriter, r *http.Request) (string, Principal, error) {
	if s.guard.blocked(r) {
		return "", Principal{}, errorf(http.StatusTooManyRequests, "too many failed logins from this address; retry later")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	var req oidcExchange
	if err := decodeJSON(r, &req); err != nil {
		return "", Principal{}, err
	}
	if req.Code == "" || len(req.CodeVerifier) < 43 || len(req.CodeVerifier) > 128 {
		return "", Principal{}, errorf(http.StatusBadRequest, "code and a PKCE code_verifier (43 to 128 characters) are required")
	}
	// The redirect URI is the console on this listener: keygate exchanges codes for its own
	// console only (the issuer checks it against the code as well).
	u, err := url.Parse(req.RedirectURI)
	if err != nil || u.Host != r.Host || u.Path != "/ui/" || u.RawQuery != "" || u.User != nil {
		return "", Principal{}, errorf(http.StatusBadRequest, "redirect_uri must be this console's /ui/")
	}
	_, tokenURL, err := s.oidc.get(r.Context())
	if err != nil {
		return "", Principal{}, err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {req.Code}, "redirect_uri": {req.RedirectURI},
		"client_id": {s.oidc.cfg.ClientID}, "code_verifier": {req.CodeVerifier}}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", Principal{}, err
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("Accept", "application/json")
	resp, err := s.oidc.cfg.HTTPClient.Do(hreq)
	if err != nil {
		return "", Principal{}, failure.Wrap(failure.Unavailable, "login", failure.WithoutURL(err), "the issuer's token endpoint")
	}
	defer func() { _ = resp.Body.Close() }()
	var tr struct {
		IDToken     string `json:"id_token"`
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil || resp.StatusCode != http.StatusOK {
		code := tr.Error
		if code == "" || len(code) > 64 || strings.ContainsFunc(code, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			code = http.StatusText(resp.StatusCode)
		}
		return "", Principal{}, errorf(http.StatusUnauthorized, "the issuer refused the code: %s", code)
	}
	// The ID token first (its aud is the client ID), then the access token when it is a JWT
	// for keygate: the first the API's verifier accepts is the login, as if it were pasted.
	for _, tok := range []string{tr.IDToken, tr.AccessToken} {
		if tok == "" || !looksLikeJWT(tok) {
			continue
		}
		if req.Nonce != "" && tok == tr.IDToken && nonceOf(tok) != req.Nonce {
			return "", Principal{}, errorf(http.StatusUnauthorized, "the ID token's nonce is not this login's")
		}
		hr := r.Clone(r.Context())
		hr.Header.Set("Authorization", "Bearer "+tok)
		if p, ok := s.authenticate(hr); ok {
			return tok, p, nil
		}
	}
	return "", Principal{}, errorf(http.StatusUnauthorized, "no token from the issuer is accepted by admin.jwt (its audience, role and tenant claims)")
}

// nonceOf reads the nonce claim of a JWT without verifying it (authenticate verifies it).
func nonceOf(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Nonce string `json:"nonce"`
	}
	_ = json.Unmarshal(b, &c)
	return c.Nonce
}
