// Credentials and secrets of a tenant, for admins. A new credential's AppKey is in the API's
// reply to the issue call only: the page shows it once with a copy button, keeps it in no
// storage, and drops it when the page is left or another credential is issued. Secrets are
// write-only: the value field is a password field, sent once and cleared, and nothing reads a
// value back (the API has no such call); the page shows the new KV version and the config
// version that pins it.
import { h, replace, table } from './dom.js';
import { call, get } from './api.js';

const tenantPath = (t) => '/v1/tenants/' + encodeURIComponent(t);

export async function render(main, ctx) {
  const { data } = await get('/v1/config');
  const tenants = ((data.config && data.config.tenants) || []).filter((t) => ctx.principal.role === 'gateway_admin' || t.name === ctx.principal.tenant);
  const parts = [h('h1', {}, 'Credentials and secrets')];
  if (!ctx.isAdmin()) {
    replace(main, ...parts, h('p', { id: 'cred-none', class: 'muted' }, 'Issuing and revoking credentials and writing secrets are for tenant admins; ' +
      'the API refuses them to a developer.'));
    return;
  }
  if (!tenants.length) {
    replace(main, ...parts, h('p', { id: 'cred-none', class: 'muted' }, 'This config defines no tenants: credentials belong to tenants.'));
    return;
  }
  const select = h('select', { id: 'cred-tenant' }, tenants.map((t) => h('option', { value: t.name }, t.name)));
  const list = h('div', { id: 'cred-list' });
  const issued = h('div', { id: 'cred-issued' });
  const newID = h('input', { id: 'cred-id', placeholder: 'ID (optional: key-N)', autocomplete: 'off', spellcheck: 'false' });
  const secName = h('input', { id: 'sec-name', placeholder: 'secret name, e.g. demo', autocomplete: 'off', spellcheck: 'false' });
  const secField = h('input', { id: 'sec-field', placeholder: 'field (default value)', autocomplete: 'off', spellcheck: 'false' });
  // type=password: the value is not shown, not kept by the browser's form history, never read back.
  const secValue = h('input', { id: 'sec-value', type: 'password', autocomplete: 'new-password', spellcheck: 'false', placeholder: 'new value' });
  const secCAS = h('input', { id: 'sec-cas', type: 'number', min: '0', placeholder: 'current version (check-and-set)' });
  const secResult = h('p', { id: 'sec-result' });

  const tenant = () => select.value;
  const credentialsOf = (cfg, t) => ((((cfg.config && cfg.config.tenants) || []).find((x) => x.name === t) || {}).credentials || []).map((c) => c.id);

  const drawList = async () => {
    const { data: cfg } = await get('/v1/config');
    const ids = credentialsOf(cfg, tenant());
    replace(list, ids.length ? table(['credential ID', ''], ids.map((id) => [h('code', {}, id),
      h('button', { type: 'button', class: 'secondary revoke', 'data-id': id, on: { click: () => revoke(id).catch(ctx.showError) } }, 'Revoke')]), { id: 'cred-table' })
      : h('p', { class: 'muted' }, 'No credentials.'));
  };
  const issue = async () => {
    replace(issued);
    const body = newID.value.trim() ? { id: newID.value.trim() } : undefined;
    const { data: r } = await call('POST', tenantPath(tenant()) + '/credentials', body);
    newID.value = '';
    const key = r.app_key; // held by this closure only: gone when the page is left
    const copied = h('span', { id: 'cred-copied', class: 'muted' });
    const copy = h('button', { id: 'cred-copy', type: 'button', on: { click: async () => {
      try {
        await navigator.clipboard.writeText(key);
        copied.textContent = 'Copied.';
      } catch (e) {
        copied.textContent = 'Copying failed (' + e.name + '): select the key and copy it.';
      }
    } } }, 'Copy');
    replace(issued, h('div', { class: 'notice' },
      h('p', {}, 'Credential ', h('b', {}, r.id), ' of tenant ', r.tenant, ' (config version v' + r.version + '). Services send it in the ',
        h('code', {}, r.header), ' header. This is the only time it is shown: keygate stores its hash only.'),
      h('div', { class: 'row' }, h('code', { id: 'cred-key', class: 'secret-once' }, key), copy, copied)));
    await drawList();
  };
  const revoke = async (id) => {
    const { data: v } = await call('DELETE', tenantPath(tenant()) + '/credentials/' + encodeURIComponent(id));
    // The list first, then the notice: the notice says the page is up to date.
    await drawList();
    replace(issued, h('p', { id: 'cred-revoked', class: 'notice' }, 'Revoked ' + id + ': config version v' + v.number + '.'));
  };
  const writeSecret = async () => {
    replace(secResult);
    const name = secName.value.trim();
    const value = secValue.value;
    secValue.value = ''; // sent once; the page keeps no copy
    if (!name || !value) throw new Error('name and value are required');
    const body = secField.value.trim() ? { fields: { [secField.value.trim()]: value } } : { value };
    if (secCAS.value !== '') body.cas = Number(secCAS.value);
    const { data: r } = await call('PUT', tenantPath(tenant()) + '/secrets/' + encodeURIComponent(name), body);
    secResult.className = 'notice';
    secResult.textContent = r.secret + ' is now version ' + r.version +
      (r.config_version ? '; the running config pins it in config version v' + r.config_version + '.' : '; the running config does not use it.');
    secCAS.value = String(r.version);
  };

  select.addEventListener('change', () => { replace(issued); replace(secResult); drawList().catch(ctx.showError); });
  replace(main, ...parts,
    h('div', { class: 'row' }, h('label', {}, 'tenant ', select)),
    h('h2', {}, 'Credentials (the AppKeys services present)'), list,
    h('div', { class: 'row' }, newID, h('button', { id: 'cred-issue', type: 'button', on: { click: () => issue().catch(ctx.showError) } }, 'Issue a credential')),
    issued,
    h('h2', {}, 'Rotate a secret (write-only)'),
    h('p', { class: 'muted' }, 'Writes a new version of the tenant\'s secret in the keystore and re-pins the running config to it ' +
      '(a rollback restores the old version). The value is never shown or read back.'),
    h('div', { class: 'row' }, secName, secField, secValue, secCAS,
      h('button', { id: 'sec-write', type: 'button', on: { click: () => writeSecret().catch(ctx.showError) } }, 'Write new version')),
    secResult);
  await drawList();
}
