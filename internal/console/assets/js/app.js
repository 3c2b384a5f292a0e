// The console's shell: login, the page router (location.hash, which never reaches a server),
// and the error line. Each page is a module exporting render(main, ctx).
import { h, replace } from './dom.js';
import { APIError, clearToken, get, setToken, token } from './api.js';
import * as providers from './providers.js';
import * as versions from './versions.js';
import * as audit from './audit.js';
import * as playground from './playground.js';
import * as credentials from './credentials.js';
import * as metrics from './metrics.js';
import * as oidc from './oidc.js';

const pages = { providers, versions, audit, playground, credentials, metrics };
const main = document.getElementById('main');
const errorLine = document.getElementById('error');
const ctx = { principal: null, showError, clearError, isAdmin: () => false };

function showError(err) {
  let msg = String(err && err.message ? err.message : err);
  if (err instanceof APIError) msg = err.status + ' ' + (err.kind || '') + ': ' + err.message;
  errorLine.textContent = msg;
  errorLine.hidden = false;
  if (err instanceof APIError && err.status === 401) logout();
}

function clearError() {
  errorLine.hidden = true;
  errorLine.textContent = '';
}

function loginPage(message) {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'kg_admin_… or an OIDC JWT' });
  const form = h('form', { class: 'login', on: { submit: async (ev) => {
    ev.preventDefault();
    const t = input.value.trim();
    if (!t) return;
    setToken(t);
    input.value = '';
    if (await whoami()) location.hash = '#/providers';
  } } },
  h('h1', {}, 'Log in'),
  h('p', { class: 'muted' }, 'Paste an admin API token (or a JWT from the configured OIDC issuer). ' +
    'It stays in this tab only and is sent to this gateway\'s admin API, which decides what you may see and do.'),
  message ? h('p', { class: 'notice' }, message) : null,
  h('div', { class: 'row' }, input),
  h('div', { class: 'row' }, h('button', { id: 'login', type: 'submit' }, 'Log in')),
  h('div', { id: 'oidc-login' }));
  oidc.config().then((cfg) => {
    if (!cfg) return;
    replace(document.getElementById('oidc-login'), h('p', { class: 'muted' }, 'or'),
      h('button', { id: 'oidc-start', type: 'button', class: 'secondary', on: { click: () => oidc.start(cfg).catch(showError) } },
        'Log in with ' + new URL(cfg.issuer).host));
  });
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  replace(main, form);
  input.focus();
}

async function whoami() {
  try {
    const { data } = await get('/v1/whoami');
    ctx.principal = data;
    ctx.isAdmin = () => data.role === 'gateway_admin' || data.role === 'tenant_admin';
    document.getElementById('who').textContent = data.name + ' · ' + data.role + (data.tenant ? ' · tenant ' + data.tenant : '');
    document.getElementById('nav').hidden = false;
    document.getElementById('logout').hidden = false;
    clearError();
    return true;
  } catch (err) {
    clearToken();
    ctx.principal = null;
    loginPage(err instanceof APIError && err.status === 401 ? 'That token was not accepted.' : String(err.message));
    return false;
  }
}

function logout() {
  clearToken();
  ctx.principal = null;
  location.hash = '#/login';
  loginPage();
}

async function route() {
  clearError();
  try {
    const t = await oidc.finish();
    if (t) setToken(t);
  } catch (err) {
    loginPage(err instanceof APIError ? err.status + ': ' + err.message : String(err.message));
    return;
  }
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || 'providers';
  if (!token()) return loginPage();
  if (!ctx.principal && !(await whoami())) return;
  if (name === 'login') return loginPage();
  const page = pages[name] || providers;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.getAttribute('href') === '#/' + name);
  replace(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await page.render(main, ctx);
  } catch (err) {
    replace(main);
    showError(err);
  }
}

document.getElementById('logout').addEventListener('click', logout);
window.addEventListener('hashchange', route);
route();
