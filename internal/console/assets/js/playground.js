// The script playground: pick a provider, edit its script (checked by the gateway's own
// compiler as you type, the error's line marked), paste a request and optionally a provider
// answer, and run the admin API's dry run with explain: the request that would leave, the
// string each step signed, the answer as response processing leaves it (decrypted), and the
// time per stage; secret values and tokens [redacted]. An edited script is dry-run unsaved
// (the API compiles it for that run only). The console never asks for reveal or a token fetch,
// so no secret value is ever sent to the browser. Saving the script (admins) replaces the
// tenant's providers through the API: a new config version.
import { h, replace, table } from './dom.js';
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

function providerPath(p) {
  return p.tenant
    ? '/v1/tenants/' + encodeURIComponent(p.tenant) + '/providers/' + encodeURIComponent(p.name)
    : '/v1/providers/' + encodeURIComponent(p.name);
}

const signPath = (p) => providerPath(p) + '/sign' + q({ explain: 'true' });
const checkPath = (p) => providerPath(p) + '/script/check';

// How long typing must pause before the script is checked: one check per pause, not per key.
const CHECK_DELAY_MS = 300;

// timingRows are the reply's stage timings as table rows, and their total.
function timingRows(timings) {
  const rows = timings.map((t) => [t.phase, t.stage, String(t.us)]);
  const total = timings.reduce((n, t) => n + t.us, 0);
  rows.push([h('b', {}, 'total'), '', h('b', {}, String(total))]);
  return rows;
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
  const script = h('textarea', { id: 'pg-script', spellcheck: 'false', rows: 14, wrap: 'off' });
  const gutter = h('div', { id: 'pg-gutter', 'aria-hidden': 'true' });
  const check = h('p', { id: 'pg-check', class: 'muted' });
  const scriptBox = h('div', { id: 'pg-script-box' });
  const request = h('textarea', { id: 'pg-request', spellcheck: 'false', rows: 8 });
  const answer = h('textarea', { id: 'pg-answer', spellcheck: 'false', rows: 6,
    placeholder: 'HTTP/1.1 200 OK\nContent-Type: application/json\n\n{"code":0,"data":"…"}' });
  const output = h('pre', { id: 'pg-output' });
  const response = h('div', { id: 'pg-response' });
  const timings = h('div', { id: 'pg-timings' });
  const explain = h('div', { id: 'pg-explain' });
  const notes = h('div', { id: 'pg-notes' });
  const saved = h('p', { id: 'pg-saved' });
  const current = () => providers[Number(select.value)];
  const editable = (p) => p.script && p.script.inline !== undefined && !p.script.file;
  const edited = () => editable(current()) && script.value !== current().script.inline;

  // The gutter numbers the script's lines and marks the one the compiler points at.
  let badLine = 0;
  const drawGutter = () => {
    const n = script.value.split('\n').length;
    const lines = [];
    for (let i = 1; i <= n; i++) lines.push(h('div', { class: i === badLine ? 'bad-line' : '' }, String(i)));
    replace(gutter, lines);
    gutter.scrollTop = script.scrollTop;
  };
  // checkNow asks the gateway's compiler about the text as it is now; an answer for text
  // that has changed since is dropped (a newer check is on its way).
  let checkTimer = 0;
  let checkSeq = 0;
  const checkNow = async () => {
    const p = current();
    const text = script.value;
    const seq = ++checkSeq;
    const { data: r } = await call('POST', checkPath(p), { script: text });
    if (seq !== checkSeq) return;
    badLine = r.ok ? 0 : r.line;
    check.className = r.ok ? 'ok' : 'error';
    check.textContent = r.ok ? 'Compiles.' : (r.line ? 'line ' + r.line + ', column ' + r.column + ': ' : '') + r.message;
    drawGutter();
  };
  script.addEventListener('input', () => {
    drawGutter();
    check.className = 'muted';
    check.textContent = 'Checking…';
    clearTimeout(checkTimer);
    checkTimer = setTimeout(() => checkNow().catch(ctx.showError), CHECK_DELAY_MS);
  });
  script.addEventListener('scroll', () => { gutter.scrollTop = script.scrollTop; });

  const showProvider = () => {
    const p = current();
    about.textContent = 'hosts ' + (p.hosts || []).join(', ') + ' · upstream ' + ((p.upstream && p.upstream.url) || '') +
      ' · ' + schemesOf(p).join(' → ');
    request.value = sampleRequest(p);
    output.classList.remove('done'); // set again when this provider's dry run has answered
    replace(output); replace(explain); replace(notes); replace(saved); replace(response); replace(timings);
    if (editable(p)) {
      script.value = p.script.inline;
      badLine = 0;
      check.className = 'muted';
      check.textContent = 'Checked by the gateway\'s compiler as you type; a dry run runs the script as it is in the editor, unsaved.';
      drawGutter();
      const canSave = ctx.isAdmin() && p.tenant;
      replace(scriptBox, h('h2', {}, 'Script'), h('div', { class: 'editor' }, gutter, script), check,
        canSave ? h('div', { class: 'row' }, h('button', { id: 'pg-save', type: 'button', class: 'secondary', on: { click: () => save().catch(ctx.showError) } },
          'Save as a new config version')) :
          h('p', { class: 'muted' }, ctx.isAdmin()
            ? 'This provider names no tenant: change it with keygate config apply.'
            : 'Your edits are dry-run unsaved; a tenant admin saves changes.'));
    } else if (p.script) {
      replace(scriptBox, h('p', { class: 'muted' }, 'This provider\'s script is the file ' + p.script.file + ' on the gateway; the dry run runs it as deployed.'));
    } else {
      replace(scriptBox, h('p', { class: 'muted' }, 'Built-in signing steps: ' + schemesOf(p).join(' → ') + '.'));
    }
  };

  const run = async () => {
    const p = current();
    output.classList.remove('done');
    replace(output, 'Running…'); replace(explain); replace(notes); replace(response); replace(timings);
    const body = { request: toHTTP1(request.value) };
    if (answer.value.trim()) body.response = toHTTP1(answer.value);
    if (edited()) body.script = script.value; // this run only: the API stores nothing
    const { data: r } = await call('POST', signPath(p), body);
    output.textContent = r.output;
    replace(response, r.response ? [h('h2', {}, 'Provider answer after response processing'), h('pre', { id: 'pg-response-out' }, r.response)] : null);
    replace(timings, h('h2', {}, 'Stage timings (µs)'), table(['phase', 'stage', 'µs'], timingRows(r.timings), { id: 'pg-timings-table' }));
    replace(explain, r.explain.length ? [h('h2', {}, 'What each step signed')].concat(r.explain.map((e, i) => h('pre', { class: 'step' }, (i + 1) + '. ' + e))) : null);
    replace(notes, r.notes.map((n) => h('p', { class: 'notice' }, n)));
    if (r.unsaved_script) notes.appendChild(h('p', { class: 'notice', id: 'pg-unsaved' }, 'Ran the script in the editor, unsaved.'));
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
    h('h2', {}, 'Provider answer (optional, raw HTTP/1.1: pasted, it is run through the provider\'s response processing)'), answer,
    h('div', { class: 'row' }, h('button', { id: 'pg-run', type: 'button', on: { click: () => run().catch((e) => { replace(output); ctx.showError(e); }) } }, 'Dry run')),
    h('h2', {}, 'Request that would leave'), output, notes, response, explain, timings, saved);
  showProvider();
}
