// The tenant's settings: the blocking switch and the opt-out keywords
// (admins change them).

import { api, tenantPath } from './api.js';
import { h, fill, when, details, field, form, checkbox, notify } from './ui.js';

export async function show(main, { me, refresh }) {
  const path = tenantPath(me.tenant, '/settings');
  const s = await api('GET', path);
  const source = (src, by, at) => (src === 'api' ? ['set by ', by, ' · ', when(at)] : 'from the configuration');
  const edit = me.role === 'admin'
    ? form({ id: 'settings', 'aria-labelledby': 'settings-h' }, [
      h('h2', { id: 'settings-h' }, 'Change'),
      checkbox('Blocking enabled: agents may block contacts', 'blocking_enabled', s.blocking_enabled),
      field('Opt-out keywords', h('textarea', { name: 'opt_out_keywords', rows: 4 }, s.opt_out_keywords.join('\n')),
        'One per line. A text message that is one of them (ignoring case and extra spaces) blocks its sender for outbound.'),
      h('button', { type: 'submit' }, 'Save settings'),
    ], async (data) => {
      const keywords = String(data.get('opt_out_keywords')).split('\n').map((k) => k.trim()).filter(Boolean);
      const blocking = data.get('blocking_enabled') === 'on';
      // Only what changed is sent, so that the other keeps its source.
      const change = {};
      if (blocking !== s.blocking_enabled) change.blocking_enabled = blocking;
      if (keywords.join('\n') !== s.opt_out_keywords.join('\n')) change.opt_out_keywords = keywords;
      if (Object.keys(change).length === 0) {
        notify('Nothing changed.');
        return;
      }
      const r = await api('PUT', path, change);
      await refresh();
      notify(`Saved: blocking is ${r.blocking_enabled ? 'enabled' : 'disabled'}; opt-out keywords: ${r.opt_out_keywords.join(', ') || 'none'}.`);
    })
    : h('p', {}, 'Only an admin changes these settings.');
  fill(main,
    h('h1', {}, 'Settings of tenant ' + s.tenant),
    details([
      ['Blocking', [s.blocking_enabled ? 'enabled' : 'disabled', ' (', source(s.source, s.updated_by, s.updated_at), ')']],
      ['Opt-out keywords', [s.opt_out_keywords.length ? s.opt_out_keywords.join(', ') : 'none', ' (',
        source(s.opt_out_source, s.opt_out_updated_by, s.opt_out_updated_at), ')']],
    ]),
    edit);
}
