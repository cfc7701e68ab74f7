// The console's shell: sign-in, the navigation the token's role allows,
// and the hash router that renders one screen at a time.

import { api, session, ApiError } from './api.js';
import { h, act, clearMessages, field, showError } from './ui.js';
import * as conversations from './conversations.js';
import * as contacts from './contacts.js';
import * as settings from './settings.js';
import * as operator from './operator.js';

// Screens by path; roles are who sees them in the navigation. A screen
// opened by another role still asks the API, which refuses it.
const screens = [
  { path: /^\/conversations$/, render: conversations.list, nav: 'Conversations', roles: ['agent', 'admin'] },
  { path: /^\/conversations\/(\d+)$/, render: conversations.one },
  { path: /^\/contacts$/, render: contacts.list, nav: 'Contacts', roles: ['agent', 'admin'] },
  { path: /^\/contacts\/blocked$/, render: contacts.blocked, nav: 'Blocked', roles: ['agent', 'admin'] },
  { path: /^\/contacts\/(\d+)$/, render: contacts.one },
  { path: /^\/settings$/, render: settings.show, nav: 'Settings', roles: ['agent', 'admin'] },
  { path: /^\/overview$/, render: operator.overview, nav: 'Overview', roles: ['operator'] },
  { path: /^\/exclusions$/, render: operator.exclusions, nav: 'Excluded states', roles: ['operator'] },
  { path: /^\/dead-letters$/, render: operator.deadLetters, nav: 'Dead letters', roles: ['admin', 'operator'] },
];

const main = document.getElementById('main');
let me = null;
let cleanup = null;

function home() {
  return me.role === 'operator' ? '#/overview' : '#/conversations';
}

// route parses the hash: "#/contacts/5?x=1" is the path /contacts/5 and
// the parameters x=1.
function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, q] = hash.split('?');
  return { path, params: new URLSearchParams(q || '') };
}

// render shows the screen of the current address; with keep (a refresh
// after an action) the page keeps its scroll position, and the screen
// shown until the new one is ready.
async function render(opts) {
  const keep = opts && opts.keep === true;
  const y = window.scrollY;
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  if (!me) return;
  const { path, params } = route();
  const screen = screens.find((s) => s.path.test(path));
  if (!screen) {
    location.replace(home());
    return;
  }
  renderNav(path);
  clearMessages();
  // aria-busy tells assistive technology (and the tests) that the screen
  // is loading.
  main.setAttribute('aria-busy', 'true');
  if (!keep) main.replaceChildren(h('p', {}, 'Loading…'));
  const match = path.match(screen.path);
  try {
    cleanup = (await screen.render(main, { me, params, arg: match[1], refresh: () => render({ keep: true }) })) || null;
  } catch (err) {
    main.replaceChildren();
    if (err instanceof ApiError && err.status === 401) {
      main.removeAttribute('aria-busy');
      signOut(err);
      return;
    }
    showError(err);
  }
  if (keep) {
    main.focus({ preventScroll: true });
    window.scrollTo(0, y);
  } else {
    main.focus();
  }
  main.removeAttribute('aria-busy');
}

function renderNav(path) {
  const items = screens.filter((s) => s.nav && s.roles.includes(me.role)).map((s) => {
    const href = '#' + s.path.source.replace(/^\^|\$$/g, '').replace(/\\\//g, '/');
    // A conversation or a contact belongs to its list's screen.
    const current = s.path.test(path) || (/\/\d+$/.test(path) && path.startsWith(href.slice(1) + '/'));
    return h('li', {}, h('a', { href, 'aria-current': current ? 'page' : false }, s.nav));
  });
  document.getElementById('nav').replaceChildren(h('ul', {}, items));
  const tenant = me.tenant ? ' · tenant ' + me.tenant : '';
  document.getElementById('who').replaceChildren(
    h('span', { id: 'whoami' }, me.name + ' (' + me.role + ')' + tenant),
    h('button', { type: 'button', id: 'sign-out', onclick: () => signOut() }, 'Sign out'));
}

function signOut(err) {
  session.clear();
  me = null;
  // The next one to sign in starts from their own home screen.
  history.replaceState(null, '', location.pathname + location.search);
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  signIn();
  if (err) showError(err);
}

// signIn shows the sign-in form; the token is checked with GET /api/v1/me.
function signIn() {
  document.getElementById('nav').replaceChildren();
  document.getElementById('who').replaceChildren();
  clearMessages();
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false' });
  const f = h('form', { id: 'sign-in', class: 'card' },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Sign in with your API token (agent, admin or operator). It is kept in this browser tab only, until you sign out or close the tab.'),
    field('API token', input, 'Created with the command connector token create; it starts with sfc_.'),
    h('button', { type: 'submit' }, 'Sign in'));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(f.querySelector('button'), async () => {
      session.set(input.value.trim());
      try {
        await start();
      } catch (err) {
        session.clear();
        throw err;
      }
    });
  });
  main.replaceChildren(f);
  input.focus();
}

async function start() {
  me = await api('GET', '/api/v1/me');
  await render();
}

document.getElementById('skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', render);

if (session.token()) {
  start().catch((err) => {
    if (err instanceof ApiError && err.status === 401) signOut(err);
    else showError(err);
  });
} else {
  signIn();
}
