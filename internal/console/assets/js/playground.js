// The script playground: pick a provider, edit its script, paste a request, and run the admin
// API's dry run with explain: the request that would leave and the string each step signed,
// secret values and tokens [redacted]. The console never asks for reveal or a token fetch, so
// no secret value is ever sent to the browser. Saving the script (admins) replaces the
// tenant's providers through the API: a new config version.
import { h, replace } from './dom.js';
import { call, get, q } from './api.js';
import { schemesOf } from './providers.js';

const sampleBody = '{"data":"{\\"amount\\":100}","timestamp":"1700000000"}';

function sampleRequest(p) {
  const host = (p.hosts && p.hosts[0]) || 'provider.egress.local';
  return 'POST /orders HTTP/1.1\nHost: ' + host + '\nContent-Type: application/json\n\n' + sampleBody;
}

// toHTTP1 gives the pasted request CRLF line ends in its head; the body stays as written.
export function toHTTP1(text) {
  const t = text.replace(/\r\n/g, '\n');
  const i = t.indexOf('\n\n');
  const head = i < 0 ? t.replace(/\n+$/, '') : t.slice(0, i);
  const body = i < 0 ? '' : t.slice(i + 2);
  return head.split('\n').join('\r\n') + '\r\n\r\n' + body;
}

function signPath(p) {
  const base = p.tenant
    ? '/v1/tenants/' + encodeURIComponent(p.tenant) + '/providers/' + encodeURIComponent(p.name)
    : '/v1/providers/' + encodeURIComponent(p.name);
  return base + '/sign' + q({ explain: 'true' });
}

export async function render(main, ctx) {
  const { data } = await get('/v1/config');
  const providers = (data.config && data.config.providers) || [];
  if (!providers.length) {
    replace(main, h('h1', {}, 'Script playground'), h('p', { class: 'muted' }, 'No providers to try.'));
    return;
  }
  const select = h('select', { id: 'pg-provider' }, providers.map((p, i) => h('option', { value: String(i) }, p.name + (p.tenant ? ' (' + p.tenant + ')' : ''))));
  const about = h('p', { id: 'pg-about', class: 'muted' });
  const script = h('textarea', { id: 'pg-script', spellcheck: 'false', rows: 14 });
  const scriptBox = h('div', { id: 'pg-script-box' });
  const request = h('textarea', { id: 'pg-request', spellcheck: 'false', rows: 8 });
  const output = h('pre', { id: 'pg-output' });
  const explain = h('div', { id: 'pg-explain' });
  const notes = h('div', { id: 'pg-notes' });
  const saved = h('p', { id: 'pg-saved' });
  const current = () => providers[Number(select.value)];

  const showProvider = () => {
    const p = current();
    about.textContent = 'hosts ' + (p.hosts || []).join(', ') + ' · upstream ' + ((p.upstream && p.upstream.url) || '') +
      ' · ' + schemesOf(p).join(' → ');
    request.value = sampleRequest(p);
    output.classList.remove('done'); // set again when this provider's dry run has answered
    replace(output); replace(explain); replace(notes); replace(saved);
    if (p.script && p.script.inline !== undefined && !p.script.file) {
      script.value = p.script.inline;
      const canSave = ctx.isAdmin() && p.tenant;
      replace(scriptBox, h('h2', {}, 'Script'), script,
        canSave ? h('div', { class: 'row' }, h('button', { id: 'pg-save', type: 'button', class: 'secondary', on: { click: () => save().catch(ctx.showError) } },
          'Save as a new config version')) :
          h('p', { class: 'muted' }, ctx.isAdmin()
            ? 'This provider names no tenant: change it with keygate config apply.'
            : 'Developers try the running script; a tenant admin saves changes.'));
    } else if (p.script) {
      replace(scriptBox, h('p', { class: 'muted' }, 'This provider\'s script is the file ' + p.script.file + ' on the gateway; the dry run runs it as deployed.'));
    } else {
      replace(scriptBox, h('p', { class: 'muted' }, 'Built-in signing steps: ' + schemesOf(p).join(' → ') + '.'));
    }
  };

  const run = async () => {
    const p = current();
    output.classList.remove('done');
    replace(output, 'Running…'); replace(explain); replace(notes);
    const { data: r } = await call('POST', signPath(p), toHTTP1(request.value), 'message/http');
    output.textContent = r.output;
    replace(explain, r.explain.length ? [h('h2', {}, 'What each step signed')].concat(r.explain.map((e, i) => h('pre', { class: 'step' }, (i + 1) + '. ' + e))) : null);
    replace(notes, r.notes.map((n) => h('p', { class: 'notice' }, n)));
    output.classList.add('done');
  };

  // save replaces the tenant's providers with the same list, this provider's script edited.
  const save = async () => {
    const p = current();
    const mine = providers.filter((x) => x.tenant === p.tenant).map((x) => x === p ? { ...x, script: { ...x.script, inline: script.value } } : x);
    const { data: v } = await call('PUT', '/v1/tenants/' + encodeURIComponent(p.tenant) + '/providers' +
      q({ message: 'console: edit script of ' + p.name }), JSON.stringify(mine), 'application/json');
    p.script.inline = script.value;
    saved.textContent = 'Saved: config version v' + v.number + '.';
    saved.className = 'notice';
  };

  select.addEventListener('change', showProvider);
  replace(main, h('h1', {}, 'Script playground'),
    h('p', { class: 'muted' }, 'A dry run signs as the gateway would and sends nothing: no token is fetched and every HTTP call is refused. ' +
      'Secret values and tokens are shown [redacted].'),
    h('div', { class: 'row' }, h('label', {}, 'provider ', select)), about, scriptBox,
    h('h2', {}, 'Request (raw HTTP/1.1, as your service sends it to the egress)'), request,
    h('div', { class: 'row' }, h('button', { id: 'pg-run', type: 'button', on: { click: () => run().catch((e) => { replace(output); ctx.showError(e); }) } }, 'Dry run')),
    h('h2', {}, 'Request that would leave'), output, explain, notes, saved);
  showProvider();
}
