// Small DOM helpers: elements are built with h(), never from HTML text,
// so that nothing a contact wrote can become markup.

// h builds an element: attrs are attributes, except "on<event>" (a
// listener) and "text" (the text content); children are nodes or
// strings, and null, undefined or false are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  return append(el, children);
}

// append adds children to el as h() does: nested arrays are flattened,
// null, undefined and false skipped, strings added as text.
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// fill replaces el's children with children, as h() takes them.
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const dateFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
});

// when shows a time of the API in the viewer's time zone.
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return h('time', { datetime: iso }, dateFormat.format(d));
}

// whenText is when's text, for a time inside a sentence.
export function whenText(iso) {
  const d = new Date(iso);
  return iso && !isNaN(d) ? dateFormat.format(d) : '—';
}

let ids = 0;

// field is a labelled control: label text, then the control.
export function field(label, control, hint) {
  if (!control.id) control.id = 'f' + ++ids;
  let hintEl = null;
  if (hint) {
    hintEl = h('span', { class: 'hint', id: control.id + '-hint' }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

// checkbox is a labelled checkbox.
export function checkbox(label, name, checked, value) {
  const box = h('input', { type: 'checkbox', name, value, checked: !!checked, id: 'f' + ++ids });
  return h('div', { class: 'check' }, box, h('label', { for: box.id }, label));
}

// select is a drop-down of [value, text] options.
export function select(name, options, value) {
  return h('select', { name }, options.map(([v, t]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, t)));
}

// table is a table with a caption, in a box that scrolls sideways on a
// narrow screen.
export function table(caption, headers, rows, empty) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty || 'Nothing to show.');
  return h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', r.attrs || {}, r.cells.map((c) => h('td', {}, c)))))));
}

// details is a description list of [term, value] pairs.
export function details(pairs) {
  return h('dl', { class: 'details' }, pairs.filter(Boolean).map(([t, v]) => [h('dt', {}, t), h('dd', {}, v ?? '—')]));
}

// describe words an error as the API did.
export function describe(err) {
  if (err && err.code) {
    const id = err.requestId ? ' (request ' + err.requestId + ')' : '';
    return (err.status ? err.status + ' ' : '') + err.code + ': ' + err.message + id;
  }
  return String(err && err.message ? err.message : err);
}

// showError shows an error in the alert region, which stays in view at
// the top of the window; when a dialog is open, in the dialog too, above
// its backdrop.
export function showError(err) {
  const box = document.getElementById('alert');
  box.replaceChildren(h('p', { class: 'error' }, describe(err)));
  const dialog = document.querySelector('dialog[open]');
  if (dialog) {
    let inDialog = dialog.querySelector('.dialog-error');
    if (!inDialog) {
      inDialog = h('div', { class: 'dialog-error', role: 'alert' });
      dialog.prepend(inDialog);
    }
    inDialog.replaceChildren(h('p', { class: 'error' }, describe(err)));
  }
}

// notify says what an action did, in the status region.
export function notify(text) {
  document.getElementById('status').replaceChildren(h('p', { class: 'ok' }, text));
}

export function clearMessages() {
  document.getElementById('alert').replaceChildren();
  document.getElementById('status').replaceChildren();
  for (const box of document.querySelectorAll('dialog .dialog-error')) box.remove();
}

// act runs an action of a button or form: messages are cleared first, an
// error is shown as the API words it, and the control is disabled while
// the action runs.
export async function act(control, fn) {
  clearMessages();
  if (control) control.disabled = true;
  try {
    await fn();
  } catch (err) {
    showError(err);
  } finally {
    if (control && control.isConnected) control.disabled = false;
  }
}

// form builds a form whose submission runs fn(formData) through act.
export function form(attrs, children, fn) {
  const f = h('form', attrs, children);
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const button = f.querySelector('button[type=submit]');
    act(button, () => fn(new FormData(f), f));
  });
  return f;
}

// confirmAction asks for a confirmation in a modal dialog; it resolves
// to true when the user confirms.
export function confirmAction(title, lines, confirmText) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { 'aria-labelledby': 'dialog-title' },
      h('h2', { id: 'dialog-title' }, title),
      lines.map((l) => h('p', {}, l)),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', value: 'cancel', onclick: () => dialog.close('cancel') }, 'Cancel'),
        h('button', { type: 'button', class: 'danger', value: 'confirm', onclick: () => dialog.close('confirm') }, confirmText)));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'confirm');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export const STATES = ['OPEN', 'EXPIRED', 'AUTO_BOT', 'CLOSED', 'BLOCKED'];

// stateOptions are the states as select options (number and name).
export const stateOptions = STATES.map((n, i) => [String(i), i + ' ' + n]);

// badge shows a short status.
export function badge(text, kind) {
  return h('span', { class: 'badge ' + (kind || String(text).toLowerCase().split(':')[0]) }, text);
}
