// Login by redirect to the OIDC issuer: authorization code with PKCE (RFC 7636), a public
// client. The verifier, state and nonce wait in this tab's sessionStorage for the way back;
// the code comes back in the query of /ui/ and is exchanged by keygate (the CSP lets the page
// talk to keygate only), which answers the token only if the admin API accepts it. The code
// is removed from the address bar at once, and the token is then held like a pasted one.
import { call } from './api.js';

const PENDING = 'keygate.console.oidc';

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

const redirectURI = () => location.origin + '/ui/';

// config is the issuer's login, or null when the gateway offers none.
export async function config() {
  try {
    const { data } = await call('GET', '/v1/login/oidc');
    return data && data.enabled ? data : null;
  } catch {
    return null;
  }
}

// start sends the browser to the issuer.
export async function start(cfg) {
  const verifier = random(32);
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const state = random(16);
  const nonce = random(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce }));
  const u = new URL(cfg.authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code', client_id: cfg.client_id, redirect_uri: redirectURI(), scope: (cfg.scopes || ['openid']).join(' '),
    state, nonce, code_challenge: challenge, code_challenge_method: 'S256',
  })) u.searchParams.set(k, v);
  location.assign(u.toString());
}

// finish completes a login whose code is in the address; it returns the token, null when
// there is no login to finish, or throws why it failed.
export async function finish() {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return null;
  history.replaceState(null, '', location.pathname + '#/providers'); // the code leaves the address bar
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  sessionStorage.removeItem(PENDING);
  if (params.has('error')) throw new Error('the issuer refused the login: ' + params.get('error'));
  if (!pending || params.get('state') !== pending.state) throw new Error('this login was not started here (state mismatch): log in again');
  const { data } = await call('POST', '/v1/login/oidc/token', {
    code: params.get('code'), code_verifier: pending.verifier, redirect_uri: redirectURI(), nonce: pending.nonce,
  });
  return data.token;
}
