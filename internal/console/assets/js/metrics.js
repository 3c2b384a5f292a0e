// Live request metrics per provider: the admin API sums keygate's Prometheus registry (the
// one /metrics serves) per provider, of the providers this login may see, and the page polls
// it while it is shown.
import { h, replace, table } from './dom.js';
import { get } from './api.js';

const POLL_MS = 3000;

const num = (n) => (Number.isInteger(n) ? String(n) : n.toFixed(3));

export async function render(main, ctx) {
  const body = h('div', { id: 'metrics' });
  const stamp = h('p', { id: 'metrics-time', class: 'muted' });
  replace(main, h('h1', {}, 'Live metrics per provider'),
    h('p', { class: 'muted' }, 'Since keygate started, refreshed every ' + POLL_MS / 1000 + ' s. Latency is keygate\'s own time on a request phase.'),
    body, stamp);
  const draw = async () => {
    const { data } = await get('/v1/metrics/providers');
    if (!data.names) {
      replace(body, h('p', { class: 'muted' }, 'The metrics carry no tenant or provider names (admin.metrics.tenant_labels is off): there is nothing per provider to show.'));
    } else if (!data.providers.length) {
      replace(body, h('p', { class: 'muted' }, 'No requests yet.'));
    } else {
      replace(body, table(['provider', 'tenant', 'requests', 'errors', 'responses', 'response errors', 'mean ms', 'p95 ms'],
        data.providers.map((p) => [h('b', {}, p.provider), p.tenant || '—', num(p.requests), num(p.errors), num(p.responses),
          num(p.response_errors), num(p.mean_ms), num(p.p95_ms)]), { id: 'metrics-table' }));
    }
    stamp.textContent = 'Updated ' + new Date().toLocaleTimeString();
  };
  await draw();
  // Poll while this page is the one shown; leaving it (or logging out) ends the loop.
  const tick = () => {
    if (!body.isConnected) return;
    draw().catch(ctx.showError).finally(() => setTimeout(tick, POLL_MS));
  };
  setTimeout(tick, POLL_MS);
}
