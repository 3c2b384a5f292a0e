// Config versions: history, a unified diff between any two, and rollback with a message.
import { h, replace, table } from './dom.js';
import { call, get, q } from './api.js';

function diffView(d) {
  const lines = (d.diff || '').split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
  const pre = h('pre', { id: 'diff' }, lines.length && d.diff ? lines.map((l) => h('span', {
    class: l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : '',
  }, l + '\n')) : 'The two versions have the same content.');
  const pins = (d.pins || []).map((p) => [p.ref || p.secret || '', String(p.from ?? '—'), String(p.to ?? '—')]);
  return [pre, pins.length ? [h('h2', {}, 'Pinned secret versions'), table(['reference', 'from', 'to'], pins, { id: 'pin-diff' })] : null];
}

export async function render(main, ctx) {
  const { data } = await get('/v1/config/versions');
  const vs = (data.versions || []).slice().sort((a, b) => b.number - a.number);
  const opts = (sel) => vs.map((v) => h('option', { value: String(v.number), selected: v.number === sel }, 'v' + v.number));
  const newest = vs.length ? vs[0].number : 0;
  const from = h('select', { id: 'diff-from' }, opts(vs.length > 1 ? vs[1].number : newest));
  const to = h('select', { id: 'diff-to' }, opts(newest));
  const out = h('div', { id: 'diff-out' });
  const showDiff = async () => {
    const { data: d } = await get('/v1/config/diff' + q({ from: from.value, to: to.value }));
    replace(out, ...diffView(d));
  };
  const parts = [h('h1', {}, 'Config versions'),
    table(['version', 'time', 'author', 'message', ''], vs.map((v) => [
      h('b', {}, 'v' + v.number), new Date(v.time).toLocaleString(), v.author || '—',
      v.message || '—', v.rollback_of ? 'rollback of v' + v.rollback_of : '']), { id: 'versions' }),
    h('h2', {}, 'Diff'),
    h('div', { class: 'row' }, h('label', {}, 'from ', from), h('label', {}, 'to ', to),
      h('button', { id: 'diff-show', type: 'button', on: { click: () => showDiff().catch(ctx.showError) } }, 'Show diff')),
    out];
  if (ctx.isAdmin()) {
    const target = h('select', { id: 'rollback-version' }, opts(vs.length > 1 ? vs[1].number : newest));
    const msg = h('input', { id: 'rollback-message', type: 'text', size: 40, placeholder: 'why (kept in the version and the audit log)' });
    const result = h('p', { id: 'rollback-result' });
    const rollback = async () => {
      const { data: v } = await call('POST', '/v1/config/rollback', { version: Number(target.value), message: msg.value });
      await render(main, ctx);
      const r = document.getElementById('rollback-result');
      const pending = (v.restart_required || []).map((f) => f.path);
      r.textContent = 'Rolled back to v' + target.value + ': new version v' + v.number + '.' +
        (pending.length ? ' Takes effect only at the next restart: ' + pending.join(', ') + '.' : '');
      r.className = 'notice';
    };
    parts.push(h('h2', {}, 'Roll back'),
      h('p', { class: 'muted' }, ctx.principal.role === 'tenant_admin'
        ? 'Restores your tenant\'s providers and their pinned secret versions as they were; other tenants are untouched.'
        : 'Restores the whole config and its pinned secret versions (credentials stay as they are now); a rollback is a new version.'),
      h('div', { class: 'row' }, h('label', {}, 'to ', target), msg,
        h('button', { id: 'rollback', type: 'button', on: { click: () => rollback().catch(ctx.showError) } }, 'Roll back')),
      result);
  }
  replace(main, ...parts);
  if (vs.length > 1) await showDiff();
}
