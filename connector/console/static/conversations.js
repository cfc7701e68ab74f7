// Conversations: the filtered list, and one conversation with its
// messages, history and actions (change state, block, reply).

import { api, tenantPath, query } from './api.js';
import { h, fill, act, when, whenText, field, checkbox, select, table, details, form, notify, badge, stateOptions, confirmAction } from './ui.js';

// list renders the tenant's conversations with filters and paging.
export async function list(main, { me, params }) {
  const filters = {
    state: params.get('state') || '',
    channel: params.get('channel') || '',
    contact: params.get('contact') || '',
    updated_since: params.get('updated_since') || '',
    after: params.get('after') || '',
  };
  const page = await api('GET', tenantPath(me.tenant, '/conversations') + query({ ...filters, limit: 25 }));

  const since = h('input', { type: 'datetime-local', name: 'updated_since', step: 1 });
  if (filters.updated_since) since.value = toLocalInput(filters.updated_since);
  const filterForm = form({ class: 'filters', 'aria-label': 'Filter conversations' }, [
    field('State', select('state', [['', 'Any state'], ...stateOptions], filters.state)),
    field('Channel', select('channel', [['', 'Any channel'], ...me.channels.map((c) => [c, c])], filters.channel)),
    field('Contact id', h('input', { type: 'number', name: 'contact', min: 1, value: filters.contact })),
    field('Updated since (your time)', since),
    h('button', { type: 'submit' }, 'Apply filters'),
  ], async (data) => {
    const local = data.get('updated_since');
    const next = {
      state: data.get('state'), channel: data.get('channel'), contact: data.get('contact'),
      updated_since: local ? new Date(local).toISOString().replace(/\.\d{3}Z$/, 'Z') : '',
    };
    location.hash = '#/conversations' + query(next);
  });

  const rows = page.conversations.map((c) => ({
    cells: [
      h('a', { href: '#/conversations/' + c.id }, '#' + c.id),
      h('a', { href: '#/contacts/' + c.contact_id }, c.contact),
      c.channel,
      badge(c.state_name),
      when(c.updated_at),
      c.in_salesforce ? 'yes' : 'not yet',
    ],
  }));
  const pager = h('div', { class: 'pager' },
    filters.after ? h('a', { href: '#/conversations' + query({ ...filters, after: '' }) }, 'First page') : null,
    page.next_after ? h('a', { href: '#/conversations' + query({ ...filters, after: page.next_after }), id: 'next-page' }, 'Next page') : null);
  fill(main, 
    h('h1', {}, 'Conversations'),
    filterForm,
    table('Conversations of tenant ' + me.tenant, ['Conversation', 'Contact', 'Channel', 'State', 'Updated', 'In Salesforce'], rows,
      'No conversation matches these filters.'),
    pager);
}

// toLocalInput turns an RFC 3339 time into a datetime-local value in the
// viewer's time zone.
function toLocalInput(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// pushCell shows a message's push status with its reason or error.
function pushCell(m) {
  const why = m.push_status === 'excluded' ? m.push_reason : m.last_error;
  return [badge(m.push_status), why ? h('div', { class: 'why' }, why) : null,
    m.attempts ? h('div', { class: 'why' }, m.attempts + ' attempt' + (m.attempts > 1 ? 's' : '')) : null];
}

// textCell shows a message's text and, under it, its media: the item the
// connector downloads (type, name, size, where it stands) or, for a
// message stored before the connector downloaded media (it has no media
// item), the platform's reference.
function textCell(m) {
  const item = m.media;
  if (!item && !m.media_url) return m.body || '—';
  let media;
  if (item) {
    const status = { pending: 'downloading', fetched: 'uploading to Salesforce',
      uploaded: 'in Salesforce as File ' + item.file_id }[item.status] || item.status;
    media = [item.content_type || m.media_type || m.kind, item.file_name, item.size ? size(item.size) : '', status];
  } else {
    media = [m.media_type || m.kind, 'not downloaded: ' + m.media_url];
  }
  return [m.body || null, h('div', { class: 'why media' }, 'Media: ' + media.filter(Boolean).join(' · '))];
}

// size shows a number of bytes.
function size(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}

// one renders a conversation: details, actions, messages and history.
export async function one(main, { me, arg, refresh }) {
  const path = tenantPath(me.tenant, '/conversations/' + arg);
  const [c, blocking] = await Promise.all([api('GET', path), blockingEnabled(me)]);
  const contact = await api('GET', tenantPath(me.tenant, '/contacts/' + c.contact_id));
  const expired = c.state_name === 'EXPIRED';

  const stateForm = expired
    ? h('div', { id: 'change-state' }, h('h3', {}, 'State'),
      h('p', {}, 'EXPIRED is final: the state can not change and no reply can be sent here. The contact\'s next message starts a new conversation.'))
    : form({ id: 'change-state', 'aria-labelledby': 'change-state-h' }, [
    h('h3', { id: 'change-state-h' }, 'Change state'),
    field('New state', select('state', stateOptions, c.state)),
    field('Reason', h('input', { type: 'text', name: 'reason', maxlength: 1024 })),
    h('button', { type: 'submit' }, 'Change state'),
  ], async (data) => {
    const state = Number(data.get('state'));
    if (state === 1 && !(await confirmAction(`Set conversation #${c.id} to EXPIRED?`,
      ['EXPIRED is final: the state can not be changed again and no reply can be sent in this conversation. The contact\'s next message starts a new conversation.'],
      'Set EXPIRED'))) return;
    const r = await api('PUT', path + '/details/', { action: 'change_state', state, reason: data.get('reason') });
    await refresh();
    notify(r.changed ? `Conversation #${r.id} is now ${r.state_name}.` : `Conversation #${r.id} was already ${r.state_name}.`);
  });

  const blockSection = contact.blocked
    ? h('div', { id: 'block-contact' },
      h('h3', {}, 'Contact blocked'),
      h('p', {}, blockedText(contact)),
      h('button', {
        type: 'button', id: 'unblock',
        onclick: (ev) => act(ev.target, async () => {
          const r = await api('DELETE', tenantPath(me.tenant, '/contacts/' + contact.id + '/block'));
          await refresh();
          notify(unblockedText(contact, r));
        }),
      }, 'Unblock contact'))
    : blockForm(me, contact, refresh, blocking);

  const cannotSend = expired ? 'the conversation is EXPIRED' : (me.cannot_send || {})[c.channel];
  const replyForm = cannotSend
    ? h('div', { id: 'reply' }, h('h3', {}, 'Reply'),
      h('p', { class: 'why' }, `No reply can be sent here: ${expired ? cannotSend : 'channel ' + c.channel + ' ' + cannotSend}.`))
    : form({ id: 'reply', 'aria-labelledby': 'reply-h' }, [
    h('h3', { id: 'reply-h' }, 'Reply'),
    contact.opt_out ? h('p', { class: 'why' }, `The contact opted out (“${contact.opt_out.keyword}”): replies are refused until the opt-out is lifted on its contact page.`) : null,
    field('Message', h('textarea', { name: 'text', rows: 3, maxlength: 4096, required: true })),
    h('button', { type: 'submit' }, 'Send reply'),
  ], async (data) => {
    const r = await api('POST', path + '/messages', { text: data.get('text') });
    await refresh();
    notify(`Reply sent (${r.message.platform_id}).`);
  });

  const messages = c.messages.map((m) => ({
    attrs: { 'data-message': m.platform_id },
    cells: [when(m.received_at), textCell(m), m.direction, m.sender || '—', m.kind, pushCell(m),
      m.delivery_status || '—'],
  }));
  const history = c.history.map((e) => ({
    cells: [when(e.at), (e.from_name ? e.from_name + ' → ' : '') + e.to_name, e.event, e.actor, e.reason || '—'],
  }));

  fill(main, 
    h('h1', {}, 'Conversation #' + c.id),
    details([
      ['Contact', h('a', { href: '#/contacts/' + c.contact_id }, (contact.display_name ? contact.display_name + ' · ' : '') + c.contact)],
      ['Channel', c.channel],
      ['State', badge(c.state_name)],
      ['Created', when(c.created_at)],
      ['Last activity', when(c.last_activity_at)],
      ['In Salesforce', c.in_salesforce ? 'yes' : 'not yet'],
    ]),
    h('section', { class: 'actions', 'aria-label': 'Actions' }, stateForm, blockSection, replyForm),
    h('h2', {}, 'Messages'),
    table('Messages of conversation #' + c.id, ['Received', 'Text', 'Direction', 'Sender', 'Kind', 'Push status', 'Delivery'], messages, 'No messages.'),
    h('h2', {}, 'State history'),
    table('State history of conversation #' + c.id, ['When', 'Change', 'Event', 'By', 'Why'], history));
}

// blockedText says how a contact is blocked: directions, note, who, when.
export function blockedText(contact) {
  const b = contact.blocked;
  const dirs = [b.inbound && 'inbound', b.outbound && 'outbound'].filter(Boolean).join(' and ');
  const note = b.note ? ` Note: “${b.note}”.` : '';
  return `Blocked ${dirs} by ${b.by} on ${whenText(b.at)}.${note}` + (contact.native_block.status ? ` Native block: ${contact.native_block.status}.` : '');
}

// unblockedText says what an unblock did: the conversations that left
// BLOCKED (for OPEN, or AUTO_BOT on a bot's channel).
export function unblockedText(contact, r) {
  const convs = r.unblocked_conversations.map((id) => '#' + id).join(', ');
  return `Contact ${contact.external_id} unblocked.` + (convs ? ` No longer BLOCKED: ${convs}.` : '');
}

// blockingEnabled reads whether the tenant lets agents block.
export async function blockingEnabled(me) {
  const s = await api('GET', tenantPath(me.tenant, '/settings'));
  return s.blocking_enabled;
}

// blockForm blocks the contact with the directions and note given; with
// blocking switched off for the tenant it says so instead.
export function blockForm(me, contact, done, enabled) {
  const title = 'Block ' + (contact.display_name || contact.external_id);
  if (enabled === false) {
    return h('div', { class: 'block-form' }, h('h3', {}, title),
      h('p', { class: 'why' }, 'Blocking is switched off for this tenant' + (me.role === 'admin' ? ': switch it on in Settings.' : ': an admin switches it on in Settings.')));
  }
  return form({ class: 'block-form', 'aria-labelledby': 'block-h-' + contact.id }, [
    h('h3', { id: 'block-h-' + contact.id }, title),
    h('fieldset', {}, h('legend', {}, 'Directions'),
      checkbox('Inbound: their messages are recorded but start nothing', 'inbound', true),
      checkbox('Outbound: nothing can be sent to them', 'outbound', true)),
    field('Note', h('input', { type: 'text', name: 'note', maxlength: 1024 }), 'Why; shown in the Blocked tab.'),
    h('button', { type: 'submit', class: 'danger' }, 'Block contact'),
  ], async (data) => {
    const inbound = data.get('inbound') === 'on';
    const outbound = data.get('outbound') === 'on';
    if (!inbound && !outbound) {
      throw new Error('Choose a direction to block: inbound, outbound or both.');
    }
    const r = await api('PUT', tenantPath(me.tenant, '/contacts/' + contact.id + '/block'), {
      inbound, outbound, note: data.get('note'),
    });
    await done();
    const convs = r.blocked_conversations.map((id) => '#' + id).join(', ');
    notify(`Contact ${contact.external_id} blocked.` + (convs ? ` BLOCKED: ${convs}.` : '') +
      (r.native_block.status ? ` Native block: ${r.native_block.status}.` : ''));
  });
}
