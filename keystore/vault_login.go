package keystore

import (
	"context"
	"errors"
	"net"
	"time"

	vault "github.com/hashicorp/vault/api"
)

const maxLoginRetry = 30 * time.Second

// login tries one login on a token-less clone of the client (an expired token must not ride
// along on a login request) and installs the new token. It returns nil on failure, recording
// the error for Ready. The token itself is never logged.
func (v *Vault) login(ctx context.Context) *vault.Secret {
	ctx, cancel := context.WithTimeout(ctx, v.opts.Timeout)
	defer cancel()
	c, err := v.client.Clone()
	if err == nil {
		c.ClearToken()
		c.ClearNamespace() // Clone builds a new client, which reads VAULT_NAMESPACE again
		if v.opts.Namespace != "" {
			c.SetNamespace(v.opts.Namespace)
		}
		var s *vault.Secret
		s, err = v.opts.Auth.Login(ctx, c)
		if err == nil && (s == nil || s.Auth == nil || s.Auth.ClientToken == "") {
			err = errors.New("login answered without a token")
		}
		if err == nil {
			v.client.SetToken(s.Auth.ClientToken)
			v.setAuthErr(nil)
			v.log.Info("vault login ok", "address", v.opts.Address,
				"ttl", time.Duration(s.Auth.LeaseDuration)*time.Second, "renewable", s.Auth.Renewable)
			return s
		}
	}
	detail := loginDetail(err)
	v.setAuthErr(errors.New(detail))
	v.log.Warn("vault login failed; keygate is not ready and retries", "address", v.opts.Address, "error", detail)
	return nil
}

// loginDetail describes a login failure: Vault's answer or the transport problem, or a local
// problem (missing file, empty env var) as is; none of these carry the credential.
func loginDetail(err error) string {
	var re *vault.ResponseError
	var ne net.Error
	if errors.As(err, &re) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		d, _ := classify(err)
		return d
	}
	return err.Error()
}

// keepLoggedIn renews the token with vault/api's LifetimeWatcher and logs in again when it can
// no longer be renewed (max TTL reached, revoked, Vault down past the lease). It retries failed
// logins with doubling pauses. It ends when Close is called.
func (v *Vault) keepLoggedIn(s *vault.Secret) {
	defer close(v.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-v.stop; cancel() }()
	pause := v.opts.LoginRetry
	for {
		if s == nil {
			select {
			case <-v.stop:
				return
			case <-time.After(pause):
			}
			pause = min(pause*2, maxLoginRetry)
			s = v.login(ctx)
			continue
		}
		pause = v.opts.LoginRetry
		if !v.watch(s) {
			return
		}
		s = v.login(ctx)
	}
}

// watch keeps s's token alive until it cannot be renewed (true: log in again) or Close (false).
func (v *Vault) watch(s *vault.Secret) bool {
	if s.Auth.LeaseDuration == 0 && !s.Auth.Renewable { // e.g. a root token: never expires
		<-v.stop
		return false
	}
	w, err := v.client.NewLifetimeWatcher(&vault.LifetimeWatcherInput{Secret: s})
	if err != nil {
		v.log.Warn("vault token watcher", "error", err)
		return true
	}
	go w.Start()
	defer w.Stop()
	for {
		select {
		case <-v.stop:
			return false
		case err := <-w.DoneCh():
			if err != nil {
				detail, _ := classify(err)
				v.log.Info("vault token can no longer be renewed; logging in again", "reason", detail)
			} else {
				v.log.Info("vault token reached its max TTL; logging in again")
			}
			return true
		case r := <-w.RenewCh():
			if r != nil && r.Secret != nil && r.Secret.Auth != nil {
				v.log.Debug("vault token renewed", "ttl", time.Duration(r.Secret.Auth.LeaseDuration)*time.Second)
			}
		}
	}
}
