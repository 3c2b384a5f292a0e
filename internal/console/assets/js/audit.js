// The audit log with filters: tenant (gateway admins; tenant roles read their own tenant only,
// which the API enforces), kind and limit on the server; action, outcome and text here.
import { h, replace, table } from './dom.js';
import { get, q } from './api.js';

function row(e) {
  const who = e.type === 'sign' ? 'provider ' + e.provider : (e.actor || '—') + (e.role ? ' (' + e.role + ')' : '');
  const what = e.type === 'sign' ? (e.schemes || []).join(' → ') : [e.action, e.target].filter(Boolean).join(' ');
  return [new Date(e.time).toLocaleString(), e.type, e.tenant || '—', who, what,
    h('span', { class: e.outcome }, e.outcome + (e.status ? ' ' + e.status : '')),
    [e.version ? 'v' + e.version + ' ' : '', e.stage ? '[' + e.stage + '] ' : '', e.error || ''].join('')];
}

export async function render(main, ctx) {
  const gw = ctx.principal.role === 'gateway_admin';
  const tenant = h('input', { id: 'audit-tenant', type: 'text', size: 12, placeholder: gw ? 'any tenant' : ctx.principal.tenant, disabled: !gw });
  const kind = h('select', { id: 'audit-kind' }, h('option', { value: '' }, 'admin and sign'),
    h('option', { value: 'admin' }, 'admin actions'), h('option', { value: 'sign' }, 'signed requests'));
  const limit = h('input', { id: 'audit-limit', type: 'number', min: '1', value: '200', size: 5 });
  const outcome = h('select', { id: 'audit-outcome' }, ['', 'ok', 'denied', 'error'].map((o) => h('option', { value: o }, o || 'any outcome')));
  const text = h('input', { id: 'audit-text', type: 'search', size: 20, placeholder: 'action, actor, target…' });
  const out = h('div', { id: 'audit-out' });
  let events = [];
  const draw = () => {
    const needle = text.value.trim().toLowerCase();
    const shown = events.filter((e) => (!outcome.value || e.outcome === outcome.value) &&
      (!needle || JSON.stringify(e).toLowerCase().includes(needle))).reverse(); // newest first
    replace(out, h('p', { class: 'muted' }, shown.length + ' of ' + events.length + ' events'),
      table(['time', 'type', 'tenant', 'who', 'what', 'outcome', 'detail'], shown.map(row), { id: 'audit' }));
  };
  const load = async () => {
    const { data } = await get('/v1/audit' + q({ tenant: tenant.value.trim(), kind: kind.value, limit: limit.value }));
    events = data.events || [];
    draw();
  };
  const refresh = () => load().catch(ctx.showError);
  kind.addEventListener('change', refresh);
  outcome.addEventListener('change', draw);
  text.addEventListener('input', draw);
  replace(main, h('h1', {}, 'Audit log'),
    h('div', { class: 'row' }, tenant, kind, limit, outcome, text,
      h('button', { id: 'audit-refresh', type: 'button', on: { click: refresh } }, 'Refresh')), out);
  await load();
}
