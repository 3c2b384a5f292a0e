// Building DOM nodes without HTML strings: text is always a text node, never parsed, so a
// provider name, audit message or diff line cannot become markup (and the CSP's Trusted Types
// would refuse an HTML string assigned to an element anyway).

// h makes an element. attrs: properties and attributes; "on" is {event: handler}; "class" is the
// class list. Children: nodes, strings (text), arrays, or null/false (skipped).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'style' || (k.startsWith('on') && k !== 'on')) {
      throw new Error('dom: no inline ' + k + ' (CSP): use a class or the "on" map');
    } else if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'text') {
      el.textContent = v;
    } else if (k in el && typeof v !== 'string') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// table makes a table from column titles and rows of cells.
export function table(cols, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))));
}

// replace empties el and fills it with children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}
