// The support team's screens: the live overview per org, the excluded
// states per org with their history, and dead letters with replay.

import { api, tenantPath, query } from './api.js';
import { h, fill, act, when, field, checkbox, select, table, details, form, notify, badge, STATES, showError, describe } from './ui.js';

// clearAlert removes an error a failed refresh left, once one succeeds.
function clearAlert() {
  document.getElementById('alert').replaceChildren();
}

const REFRESH_MS = 5000;

// overview renders every org and refreshes itself while it is shown.
export async function overview(main) {
  const body = h('div', { id: 'overview' });
  const stamp = h('p', { class: 'hint', id: 'overview-at' });
  const draw = (o) => {
    const rows = o.orgs.map((org) => ({
      attrs: { 'data-org': org.org_id },
      cells: [
        h('a', { href: '#/exclusions' + query({ org: org.org_id }) }, org.org_id),
        org.tenants.map((t) => h('div', {}, h('a', { href: '#/dead-letters' + query({ tenant: t.tenant }) }, t.tenant),
          ` backlog ${t.backlog}, dead ${t.dead}`)),
        String(org.backlog),
        String(org.dead),
        org.pushed_per_minute.toFixed(1),
        usage(org),
        org.paused ? [badge('paused'), ' until ', when(org.paused_until), h('div', { class: 'why' }, org.pause_reason)]
          : [badge('running'), org.failures ? h('div', { class: 'why' }, org.failures + ' failed call(s) in a row') : null],
      ],
    }));
    body.replaceChildren(table('Orgs', ['Org', 'Tenants', 'Backlog', 'Dead', 'Pushed / min', 'API usage', 'Status'], rows, 'No tenant is configured.'));
    stamp.replaceChildren('Updated ', when(o.at), ` · refreshed every ${REFRESH_MS / 1000} s · pushed per minute as this replica counts them`);
  };
  draw(await api('GET', '/api/v1/overview'));
  fill(main, h('h1', {}, 'Overview'), stamp, body);
  const timer = setInterval(() => {
    api('GET', '/api/v1/overview').then((o) => {
      clearAlert();
      draw(o);
    }, showError);
  }, REFRESH_MS);
  return () => clearInterval(timer);
}

function usage(org) {
  if (!org.api_max) return 'not reported yet';
  const pct = (100 * org.api_used) / org.api_max;
  return [h('meter', { min: 0, max: org.api_max, value: org.api_used, 'aria-label': 'API usage of ' + org.org_id }),
    ` ${org.api_used} / ${org.api_max} (${pct.toFixed(1)}%)`];
}

// exclusions renders an org's excluded states, a form to change them,
// and their history.
export async function exclusions(main, { params, refresh }) {
  const org = params.get('org') || '';
  const known = await api('GET', '/api/v1/overview').then((o) => o.orgs.map((x) => x.org_id), () => []);
  const pick = form({ class: 'filters', 'aria-label': 'Choose an org' }, [
    field('Salesforce org id', h('input', {
      type: 'text', name: 'org', value: org, required: true, list: 'known-orgs', autocomplete: 'off',
      pattern: '00D[0-9A-Za-z]{12}([0-9A-Za-z]{3})?', title: '15 or 18 characters starting with 00D',
    }), '15 or 18 characters; an org no tenant uses yet may be set ahead.'),
    h('datalist', { id: 'known-orgs' }, known.map((o) => h('option', { value: o }))),
    h('button', { type: 'submit' }, 'Show'),
  ], async (data) => {
    location.hash = '#/exclusions' + query({ org: String(data.get('org')).trim() });
  });
  if (!org) {
    fill(main, h('h1', {}, 'Excluded states'), pick);
    return;
  }
  const path = '/api/v1/orgs/' + encodeURIComponent(org) + '/excluded-states';
  const [now, hist] = await Promise.all([api('GET', path), api('GET', path + '/history')]);
  const excluded = new Set(now.excluded_states.map((s) => s.name));
  const edit = form({ id: 'excluded', 'aria-labelledby': 'excluded-h' }, [
    h('h2', { id: 'excluded-h' }, 'Change'),
    h('fieldset', {}, h('legend', {}, 'States whose messages are not pushed'),
      STATES.map((n, i) => checkbox(`${i} ${n}`, 'state', excluded.has(n), i))),
    h('button', { type: 'submit' }, 'Save excluded states'),
  ], async (data, f) => {
    const states = [...f.querySelectorAll('input[name=state]:checked')].map((box) => Number(box.value));
    const r = await api('PUT', path, { excluded_states: states });
    await refresh();
    notify(`Org ${r.org_id} now excludes ${names(r.excluded_states)}. It applies to messages stored from now on.`);
  });
  const rows = hist.history.slice().reverse().map((c) => ({ cells: [when(c.updated_at), c.updated_by, names(c.excluded_states)] }));
  fill(main, 
    h('h1', {}, 'Excluded states of org ' + now.org_id),
    pick,
    details([
      ['In force', names(now.excluded_states)],
      ['Source', now.source === 'api' ? ['set by ', now.updated_by, ' · ', when(now.updated_at)] : now.source === 'config' ? 'the configuration file' : 'the default'],
    ]),
    edit,
    h('h2', {}, 'History'),
    table('History of the excluded states of org ' + now.org_id, ['When', 'By', 'Excluded states'], rows, 'Never set through the API or the command.'));
}

function names(states) {
  return states.length ? states.map((s) => s.name).join(', ') : 'nothing';
}

// deadLetters renders dead messages with Salesforce's error; an operator
// sees every tenant's, an admin their own. Replayed messages are followed
// until Salesforce has them.
export async function deadLetters(main, { me, params, refresh }) {
  const operator = me.role === 'operator';
  const tenant = operator ? params.get('tenant') || '' : me.tenant;
  const after = params.get('after') || '';
  const list = operator
    ? await api('GET', '/api/v1/dead-letters' + query({ tenant, after, limit: 100 }))
    : await api('GET', tenantPath(tenant, '/dead-letters') + query({ after, limit: 100 }));
  const followed = h('ul', { id: 'replayed' });
  const replay = async (button, t, body, known) => {
    await act(button, async () => {
      const r = await api('POST', tenantPath(t, '/dead-letters/replay'), body);
      const items = (known || list.dead_letters).filter((d) => d.tenant === t && r.replayed.includes(d.id));
      await refresh();
      notify(`Replayed ${r.replayed.length} message(s) of tenant ${t}.`);
      follow(items);
    });
  };
  let filter = null;
  if (operator) {
    const known = await api('GET', '/api/v1/overview').then((o) => o.orgs.flatMap((x) => x.tenants.map((t) => t.tenant)), () => []);
    filter = form({ class: 'filters', 'aria-label': 'Filter dead letters' }, [
      field('Tenant', select('tenant', [['', 'Every tenant'], ...known.map((t) => [t, t])], tenant)),
      h('button', { type: 'submit' }, 'Apply filter'),
    ], async (data) => {
      location.hash = '#/dead-letters' + query({ tenant: data.get('tenant') });
    });
  }
  const rows = list.dead_letters.map((d) => ({
    attrs: { 'data-dead': d.platform_id },
    cells: [String(d.id), d.tenant, d.channel, '#' + d.conversation_id, d.platform_id, d.kind, String(d.attempts),
      h('span', { class: 'why' }, d.error), when(d.received_at),
      h('button', { type: 'button', 'aria-label': 'Replay message ' + d.id, onclick: (ev) => replay(ev.target, d.tenant, { ids: [d.id] }) }, 'Replay')],
  }));
  const tenants = [...new Set(list.dead_letters.map((d) => d.tenant))];
  const replayAll = tenants.map((t) => h('button', {
    type: 'button', onclick: (ev) => replay(ev.target, t, { all: true }),
  }, 'Replay all of tenant ' + t));
  fill(main, 
    h('h1', {}, 'Dead letters'),
    filter,
    h('p', {}, 'Messages Salesforce refused for good or too often, with its error. A replay puts them back in their outbox.'),
    table('Dead letters', ['Id', 'Tenant', 'Channel', 'Conversation', 'Platform id', 'Kind', 'Attempts', "Salesforce's error", 'Received', 'Action'],
      rows, 'No dead letters.'),
    h('div', { class: 'buttons' }, replayAll),
    list.next_after ? h('a', { href: '#/dead-letters' + query({ tenant: operator ? tenant : '', after: list.next_after }) }, 'Next page') : null,
    h('h2', {}, 'Replayed'),
    followed);

  // follow shows each replayed message's push status until it is pushed
  // or dead again.
  function follow(items) {
    const box = document.getElementById('replayed');
    if (!box) return;
    for (const d of items) {
      const line = h('li', { 'data-replayed': d.platform_id }, `#${d.id} ${d.platform_id} (tenant ${d.tenant}): `, badge('pending'));
      box.append(line);
      const check = async () => {
        if (!line.isConnected) return;
        try {
          const s = await api('GET', tenantPath(d.tenant, '/push-status') + query({ conversation: d.conversation_id }));
          const m = s.messages.find((x) => x.id === d.id);
          if (!m) return;
          fill(line, `#${d.id} ${d.platform_id} (tenant ${d.tenant}): `, badge(m.push_status),
            m.pushed_at ? [' ', when(m.pushed_at)] : null, m.last_error ? h('span', { class: 'why' }, ' ' + m.last_error) : null,
            // Dead again: it can be replayed again from here.
            m.push_status === 'dead' ? [' ', h('button', {
              type: 'button', 'aria-label': 'Replay message ' + d.id + ' again', onclick: (ev) => replay(ev.target, d.tenant, { ids: [d.id] }, [d]),
            }, 'Replay again')] : null);
          if (m.push_status === 'pending') setTimeout(check, 1000);
        } catch (err) {
          line.append(h('span', { class: 'error' }, ' ' + describe(err)));
        }
      };
      check();
    }
  }
}
