package gateway

import (
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/signer"
)

// compileCallback checks that a provider is a callback route (callback: true) exactly when its
// one step is a callback scheme, and gives it the scheme's refusal. A callback scheme on an
// egress route would "verify" requests services send; a signing scheme on the ingress route
// would sign whatever the internet sends with the provider's keys.
func compileCallback(p *Provider, pc *config.Provider, path string) error {
	var cb signer.CallbackStep
	for _, st := range p.Steps {
		if c, ok := st.(signer.CallbackStep); ok {
			cb = c
		}
	}
	switch {
	case pc.Callback && (len(p.Steps) != 1 || cb == nil || pc.Script != nil || pc.Token != nil):
		return config.Errorf(path+".signing", "a callback provider has exactly one step, of a callback scheme (wechatpay_v3_callback, alipay_rsa2_callback), and no script or token")
	case !pc.Callback && cb != nil:
		return config.Errorf(path+".callback", "a callback scheme is used: set callback: true (the route is then served on the ingress listener)")
	case pc.Callback:
		p.Refusal = cb.Refusal
	}
	return nil
}
