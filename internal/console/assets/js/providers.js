// Tenants and providers: hosts, upstream, schemes, secret references and their pinned
// versions. The admin API never sends a secret value, so there is none to show.
import { h, replace, table } from './dom.js';
import { get } from './api.js';

// pinOf is the KV version the running config pins ref to: an explicit @N, or the version's pin.
export function pinOf(ref, pins) {
  const m = ref.match(/^(.*)@(\d+)$/);
  if (m) return { ref: m[1], version: Number(m[2]), explicit: true };
  return { ref, version: pins && pins[ref] };
}

export function schemesOf(p) {
  const out = (p.signing || []).map((s) => s.scheme);
  if (p.script) out.push(p.script.inline ? 'script (inline)' : 'script (file ' + p.script.file + ')');
  if (p.token) out.unshift('token: ' + p.token.type);
  return out;
}

function secretsCell(p, pins) {
  const names = Object.keys(p.secrets || {}).sort();
  if (!names.length) return h('span', { class: 'muted' }, 'none');
  return h('ul', { class: 'secrets' }, names.map((n) => {
    const pin = pinOf(p.secrets[n], pins);
    return h('li', { class: 'secret' }, h('b', {}, n), ' → ', h('span', { class: 'ref' }, pin.ref),
      h('span', { class: 'pin' }, pin.version ? (pin.explicit ? '@' + pin.version + ' (fixed)' : 'pinned v' + pin.version) : 'no pinned version (Transit, or a keystore without versions)'));
  }));
}

export async function render(main, ctx) {
  const { data } = await get('/v1/config');
  const cfg = data.config || {};
  const pins = data.secret_versions || {};
  const parts = [h('h1', {}, 'Tenants and providers'),
    h('p', { class: 'muted' }, 'Running config version ', h('b', { id: 'running-version' }, String(data.number)),
      '. Secrets appear as references and pinned KV versions only: no value ever leaves the gateway.')];
  const pending = data.restart_required || []; // gateway admins only; [] when nothing waits
  if (pending.length) {
    parts.push(h('p', { class: 'notice', id: 'restart-required' },
      'This version changes settings keygate reads only at start; they take effect when it restarts (from its config file): ',
      pending.map((f) => f.path + ' (' + f.reason + ')').join(', '), '.'));
  }
  if (ctx.principal.role === 'gateway_admin') {
    const { data: td } = await get('/v1/tenants');
    parts.push(h('h2', {}, 'Tenants'));
    parts.push(td.tenants.length
      ? table(['tenant', 'credentials (IDs)', 'SPIFFE IDs', 'providers'], td.tenants.map((t) =>
        [t.name, t.credentials.join(', ') || '—', (t.spiffe_ids || []).join(', ') || '—', t.providers.join(', ') || '—']), { id: 'tenants' })
      : h('p', { class: 'muted' }, 'This config defines no tenants (single-tenant).'));
  } else {
    parts.push(h('h2', {}, 'Tenant'));
    parts.push(table(['tenant', 'credentials (IDs)', 'SPIFFE IDs'], (cfg.tenants || []).map((t) =>
      [t.name, (t.credentials || []).map((c) => c.id).join(', ') || '—', (t.spiffe_ids || []).join(', ') || '—']), { id: 'tenants' }));
  }
  parts.push(h('h2', {}, 'Providers'));
  const providers = cfg.providers || [];
  parts.push(providers.length ? table(['provider', 'tenant', 'hosts', 'upstream', 'schemes', 'secrets (reference → pinned version)'],
    providers.map((p) => [h('b', { class: 'provider-name' }, p.name), p.tenant || '—', (p.hosts || []).join(', '),
      h('span', { class: 'ref' }, (p.upstream && p.upstream.url) || ''), schemesOf(p).join(' → '), secretsCell(p, pins)]),
    { id: 'providers' }) : h('p', { class: 'muted' }, 'No providers.'));
  replace(main, ...parts);
}
