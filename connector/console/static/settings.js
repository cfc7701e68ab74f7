// The tenant's settings: the blocking switch (admins change it) and the
// opt-out keywords of the configuration.

import { api, tenantPath } from './api.js';
import { h, fill, when, details, form, checkbox, notify } from './ui.js';

export async function show(main, { me, refresh }) {
  const path = tenantPath(me.tenant, '/settings');
  const s = await api('GET', path);
  const source = s.source === 'api' ? ['set by ', s.updated_by, ' · ', when(s.updated_at)] : 'from the configuration';
  const edit = me.role === 'admin'
    ? form({ id: 'blocking', 'aria-labelledby': 'blocking-h' }, [
      h('h2', { id: 'blocking-h' }, 'Blocking'),
      checkbox('Blocking enabled: agents may block contacts', 'blocking_enabled', s.blocking_enabled),
      h('button', { type: 'submit' }, 'Save'),
    ], async (data) => {
      const r = await api('PUT', path, { blocking_enabled: data.get('blocking_enabled') === 'on' });
      await refresh();
      notify('Blocking is now ' + (r.blocking_enabled ? 'enabled' : 'disabled') + '.');
    })
    : h('p', {}, 'Only an admin changes these settings.');
  fill(main, 
    h('h1', {}, 'Settings of tenant ' + s.tenant),
    details([
      ['Blocking', [s.blocking_enabled ? 'enabled' : 'disabled', ' (', source, ')']],
      ['Opt-out keywords', s.opt_out_keywords.length ? s.opt_out_keywords.join(', ') : 'none'],
    ]),
    edit,
    h('p', { class: 'hint' }, 'Opt-out keywords are set in the configuration file (opt_out.keywords); a text message that is one of them blocks its sender for outbound.'));
}
