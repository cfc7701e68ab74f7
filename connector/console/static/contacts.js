// Contacts: the list (search, tag and channel filters), the Blocked tab,
// and one contact with its tags, notes, block, and its blocked
// conversations (unblock all; delete all for admins).

import { api, tenantPath, query } from './api.js';
import { h, fill, act, when, whenText, field, select, table, details, form, notify, badge, confirmAction } from './ui.js';
import { blockForm, blockedText, blockingEnabled, unblockedText } from './conversations.js';

function tabs(current) {
  const tab = (href, text, id) => h('li', {}, h('a', { href, 'aria-current': current === id ? 'page' : false }, text));
  return h('nav', { class: 'tabs', 'aria-label': 'Contact lists' },
    h('ul', {}, tab('#/contacts', 'All contacts', 'all'), tab('#/contacts/blocked', 'Blocked', 'blocked')));
}

function filtersForm(me, base, f) {
  return form({ class: 'filters', 'aria-label': 'Filter contacts' }, [
    field('Search', h('input', { type: 'search', name: 'q', value: f.q }), 'Part of a name or platform id.'),
    field('Tag', h('input', { type: 'text', name: 'tag', value: f.tag })),
    field('Channel', select('channel', [['', 'Any channel'], ...me.channels.map((c) => [c, c])], f.channel)),
    h('button', { type: 'submit' }, 'Apply filters'),
  ], async (data) => {
    location.hash = base + query({ q: data.get('q'), tag: data.get('tag'), channel: data.get('channel') });
  });
}

async function load(me, params, blocked) {
  const f = { q: params.get('q') || '', tag: params.get('tag') || '', channel: params.get('channel') || '', after: params.get('after') || '' };
  const page = await api('GET', tenantPath(me.tenant, '/contacts') +
    query({ blocked: blocked ? 'true' : '', search: f.q, tag: f.tag, channel: f.channel, after: f.after, limit: 50 }));
  const shown = page.contacts;
  const base = blocked ? '#/contacts/blocked' : '#/contacts';
  const pager = h('div', { class: 'pager' },
    f.after ? h('a', { href: base + query({ ...f, after: '' }) }, 'First page') : null,
    page.next_after ? h('a', { href: base + query({ ...f, after: page.next_after }) }, 'Next page') : null);
  return { f, shown, base, pager };
}

function name(c) {
  return h('a', { href: '#/contacts/' + c.id }, c.display_name || c.external_id);
}

// directions says what is blocked: the directions of an agent's block,
// and the contact's own opt-out.
function directions(c) {
  const b = c.blocked;
  const parts = b ? [b.inbound && 'inbound', b.outbound && 'outbound'].filter(Boolean) : [];
  if (c.opt_out) parts.push('opted out (' + c.opt_out.keyword + ')');
  return parts.join(' + ') || '—';
}

// actionButtons are a contact's unblock and lift-opt-out buttons, as
// they apply.
function actionButtons(me, c, refresh) {
  return [c.blocked ? unblockButton(me, c, refresh) : null, c.opt_out ? liftOptOutButton(me, c, refresh) : null];
}

// list renders every contact; each row can be opened, blocked (with
// directions and a note) or unblocked.
export async function list(main, { me, params, refresh }) {
  const [{ f, shown, base, pager }, blocking] = await Promise.all([load(me, params, false), blockingEnabled(me)]);
  const rows = shown.map((c) => ({
    attrs: { 'data-contact': c.external_id },
    cells: [name(c), c.external_id, c.channel, c.tags.join(', ') || '—', directions(c),
      c.blocked || !blocking ? actionButtons(me, c, refresh)
        : [h('button', { type: 'button', 'aria-label': 'Block ' + (c.display_name || c.external_id) + '…', onclick: () => blockDialog(me, c, refresh) }, 'Block…'),
          ' ', actionButtons(me, c, refresh)]],
  }));
  fill(main, h('h1', {}, 'Contacts'), tabs('all'), filtersForm(me, base, f),
    table('Contacts of tenant ' + me.tenant, ['Contact', 'Platform id', 'Channel', 'Tags', 'Blocked', 'Action'], rows, 'No contact matches.'),
    pager);
}

// blocked renders the Blocked tab: note, who, when and native status;
// a contact who opted out, and is not blocked, shows its keyword and when.
export async function blocked(main, { me, params, refresh }) {
  const { f, shown, base, pager } = await load(me, params, true);
  const rows = shown.map((c) => {
    const b = c.blocked || { note: 'opt-out keyword ' + c.opt_out.keyword, by: 'the contact', at: c.opt_out.at };
    return {
      attrs: { 'data-contact': c.external_id },
      cells: [name(c), c.external_id, c.channel, directions(c), b.note || '—', b.by, when(b.at),
        c.native_block.status ? badge(c.native_block.status) : '—', actionButtons(me, c, refresh)],
    };
  });
  fill(main, h('h1', {}, 'Blocked contacts'), tabs('blocked'), filtersForm(me, base, f),
    table('Blocked contacts of tenant ' + me.tenant, ['Contact', 'Platform id', 'Channel', 'Blocked', 'Note', 'By', 'When', 'Native block', 'Action'],
      rows, 'No contact is blocked.'),
    pager);
}

function unblockButton(me, c, refresh) {
  return h('button', {
    type: 'button',
    'aria-label': 'Unblock ' + (c.display_name || c.external_id),
    onclick: async (ev) => {
      const ok = await confirmAction('Unblock ' + (c.display_name || c.external_id) + '?',
        ['Both directions are lifted; their BLOCKED conversations return to OPEN (or AUTO_BOT on a bot channel). Messages received during the block are not reprocessed.'],
        'Unblock');
      if (!ok) return;
      await act(ev.target, async () => {
        const r = await api('DELETE', tenantPath(me.tenant, '/contacts/' + c.id + '/block'));
        await refresh();
        notify(unblockedText(c, r));
      });
    },
  }, 'Unblock');
}

// liftOptOutButton lifts the contact's opt-out, once confirmed.
function liftOptOutButton(me, c, refresh) {
  return h('button', {
    type: 'button',
    'aria-label': 'Lift the opt-out of ' + (c.display_name || c.external_id),
    onclick: async (ev) => {
      const ok = await confirmAction('Lift the opt-out of ' + (c.display_name || c.external_id) + '?',
        [`The contact wrote “${c.opt_out.keyword}” on ${whenText(c.opt_out.at)}. Lift it only when the contact asked to hear from you again: replies can then be sent to it.`],
        'Lift opt-out');
      if (!ok) return;
      await act(ev.target, async () => {
        await api('DELETE', tenantPath(me.tenant, '/contacts/' + c.id + '/opt-out'));
        await refresh();
        notify(`The opt-out of contact ${c.external_id} is lifted.`);
      });
    },
  }, 'Lift opt-out');
}

// blockDialog asks for the directions and note, then blocks.
function blockDialog(me, c, refresh) {
  const dialog = h('dialog', { 'aria-label': 'Block ' + (c.display_name || c.external_id) });
  const f = blockForm(me, c, async () => {
    dialog.close();
    await refresh();
  });
  dialog.append(f, h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

// one renders a contact: details, tags, notes, block, conversations.
export async function one(main, { me, arg, refresh }) {
  const path = tenantPath(me.tenant, '/contacts/' + arg);
  const [c, blocking] = await Promise.all([api('GET', path), blockingEnabled(me)]);
  const convs = await api('GET', tenantPath(me.tenant, '/conversations') + query({ contact: c.id, limit: 100 }));
  const blockedConvs = convs.conversations.filter((x) => x.state_name === 'BLOCKED');

  const tagsForm = form({ id: 'tags', 'aria-labelledby': 'tags-h' }, [
    h('h3', { id: 'tags-h' }, 'Tags'),
    field('Tags', h('input', { type: 'text', name: 'tags', value: c.tags.join(', ') }), 'Separated by commas.'),
    h('button', { type: 'submit' }, 'Save tags'),
  ], async (data) => {
    const tags = String(data.get('tags')).split(',').map((t) => t.trim()).filter(Boolean);
    const r = await api('PUT', path + '/tags', { tags });
    await refresh();
    notify('Tags saved: ' + (r.tags.join(', ') || 'none') + '.');
  });

  const notes = h('section', { 'aria-labelledby': 'notes-h' },
    h('h3', { id: 'notes-h' }, 'Notes'),
    c.notes.length === 0 ? h('p', { class: 'empty' }, 'No notes.') : h('ul', { class: 'notes' }, c.notes.map((n) => h('li', { 'data-note': n.id },
      h('p', {}, n.text), h('span', { class: 'why' }, n.author, ' · ', when(n.created_at),
        n.edited_by ? [' · edited by ', n.edited_by, ' · ', when(n.edited_at)] : null), ' ',
      h('button', { type: 'button', 'aria-label': 'Edit note ' + n.id, onclick: () => editNoteDialog(path, n, refresh) }, 'Edit'), ' ',
      h('button', {
        type: 'button', 'aria-label': 'Delete note ' + n.id,
        onclick: async (ev) => {
          const ok = await confirmAction('Delete this note?', [`“${n.text}”`, `By ${n.author}. It is removed for good.`], 'Delete note');
          if (!ok) return;
          await act(ev.target, async () => {
            await api('DELETE', path + '/notes/' + n.id);
            await refresh();
            notify('Note deleted.');
          });
        },
      }, 'Delete')))),
    form({ id: 'add-note' }, [
      field('New note', h('textarea', { name: 'text', rows: 2, maxlength: 4096, required: true })),
      h('button', { type: 'submit' }, 'Add note'),
    ], async (data) => {
      await api('POST', path + '/notes', { text: data.get('text') });
      await refresh();
      notify('Note added.');
    }));

  const block = c.blocked
    ? h('div', { id: 'block-contact' }, h('h3', {}, 'Blocked'), h('p', {}, blockedText(c)), unblockButton(me, c, refresh))
    : blockForm(me, c, refresh, blocking);

  const result = h('div', { id: 'blocked-result', role: 'status' });
  const bulk = h('section', { 'aria-labelledby': 'blocked-h' },
    h('h3', { id: 'blocked-h' }, 'Blocked conversations'),
    h('p', {}, blockedConvs.length === 0 ? 'None.' : blockedConvs.map((x) => '#' + x.id).join(', ')),
    h('div', { class: 'buttons' },
      h('button', {
        type: 'button', id: 'unblock-all', disabled: blockedConvs.length === 0,
        onclick: (ev) => act(ev.target, async () => {
          const r = await api('POST', path + '/blocked-conversations/unblock-all');
          await refresh();
          notify(`Unblocked: ${r.unblocked_conversations.map((id) => '#' + id).join(', ') || 'nothing was BLOCKED'}.`);
        }),
      }, 'Unblock all'),
      me.role === 'admin' ? h('button', {
        type: 'button', id: 'delete-all', class: 'danger', disabled: blockedConvs.length === 0,
        onclick: (ev) => deleteAll(ev.target, me, c, blockedConvs, path, refresh),
      }, 'Delete all…') : null),
    result);

  const convRows = convs.conversations.map((x) => ({
    cells: [h('a', { href: '#/conversations/' + x.id }, '#' + x.id), x.channel, badge(x.state_name), when(x.updated_at)],
  }));

  fill(main, 
    h('h1', {}, 'Contact ' + (c.display_name || c.external_id)),
    details([
      ['Platform id', c.external_id],
      ['Channel', c.channel],
      ['Created', when(c.created_at)],
      ['Platform status', c.platform_status ? [c.platform_status, ' · ', when(c.platform_status_at)] : 'nothing reported'],
      ['Reachable', c.reachable ? 'yes' : 'no: the user blocked the business or unfollowed'],
      ['Blocked', c.blocked ? blockedText(c) : 'no'],
      ['Opted out', c.opt_out ? [`yes: wrote “${c.opt_out.keyword}” on `, when(c.opt_out.at), '; nothing is sent to it'] : 'no'],
      ['Native block', c.native_block.status ? [c.native_block.status, c.native_block.next_attempt_at ? [' · next try ', when(c.native_block.next_attempt_at)] : null] : '—'],
    ]),
    h('section', { class: 'actions', 'aria-label': 'Actions' }, tagsForm, block, optOut(me, c, refresh), bulk),
    notes,
    h('h2', {}, 'Conversations'),
    table('Conversations of this contact', ['Conversation', 'Channel', 'State', 'Updated'], convRows, 'No conversations.'));
}

// editNoteDialog edits a note's text in a modal dialog.
function editNoteDialog(path, n, refresh) {
  const dialog = h('dialog', { 'aria-label': 'Edit note ' + n.id });
  const f = form({ id: 'edit-note' }, [
    field('Note', h('textarea', { name: 'text', rows: 3, maxlength: 4096, required: true, text: n.text })),
    h('button', { type: 'submit' }, 'Save note'),
  ], async (data) => {
    await api('PUT', path + '/notes/' + n.id, { text: data.get('text') });
    dialog.close();
    await refresh();
    notify('Note saved.');
  });
  dialog.append(f, h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

// optOut shows the contact's opt-out, with the button that lifts it.
function optOut(me, c, refresh) {
  if (!c.opt_out) return null;
  return h('div', { id: 'opt-out' }, h('h3', {}, 'Opted out'),
    h('p', {}, `The contact wrote “${c.opt_out.keyword}”: nothing is sent to it until the opt-out is lifted. Unblocking does not lift it.`),
    liftOptOutButton(me, c, refresh));
}

// deleteAll confirms with what will be removed, deletes, and shows what
// was removed.
async function deleteAll(button, me, c, blockedConvs, path, refresh) {
  await act(button, async () => {
    const counts = await Promise.all(blockedConvs.map((x) => api('GET', tenantPath(me.tenant, '/conversations/' + x.id))));
    const lines = counts.map((x) => `Conversation #${x.id} (${x.channel}) with ${x.messages.length} message(s).`);
    const ok = await confirmAction(`Delete ${blockedConvs.length} BLOCKED conversation(s) of ${c.display_name || c.external_id}?`,
      [...lines, 'They are removed from the connector with their messages, for good. The contact, its block and its other conversations stay; records already in Salesforce stay there.'],
      'Delete');
    if (!ok) return;
    const r = await api('POST', path + '/blocked-conversations/delete-all');
    await refresh();
    const text = `Deleted conversation(s) ${r.deleted_conversations.map((id) => '#' + id).join(', ') || 'none'} with ${r.deleted_messages} message(s).`;
    notify(text);
    const box = document.getElementById('blocked-result');
    if (box) box.replaceChildren(h('p', { class: 'ok' }, text));
  });
}
