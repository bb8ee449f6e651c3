/* Language, notifications, storage, device and sign-out (refused while work is unsent). */
import { LOCALES } from '../i18n.js';
import { tileUrlOf } from './today.js';
import { button, clear, h } from './dom.js';

export async function mount(container, ctx) {
  const { t, i18n, store, api } = ctx;
  const [packet, persisted, deviceId, session, version] = await Promise.all([
    store.kvGet('packet'), store.kvGet('persisted'), store.deviceId(), store.getSession(), shellVersion(),
  ]);
  const message = h('p', { class: 'notice', role: 'status', hidden: true });
  const pushStatus = h('p', { class: 'muted', role: 'status' });

  async function turnOnNotifications() {
    pushStatus.textContent = t('settings.push_working');
    try {
      const registration = ctx.registration() || await navigator.serviceWorker.ready;
      const m = await import('/js/push.js');
      const result = await m.subscribePush(registration, api);
      pushStatus.textContent = t(`settings.push_state.${(result && result.state) || 'on'}`);
    } catch (err) {
      pushStatus.textContent = t('settings.push_failed', { error: (err && err.message) || String(err) });
    }
  }

  async function signOut() {
    const result = await ctx.onLogout();
    if (result && result.refused) {
      message.hidden = false;
      message.className = 'notice warn';
      message.textContent = [
        result.unsent ? t('settings.logout_refused_unsent', { n: result.unsent }) : '',
        result.open ? t('settings.logout_refused_open', { n: result.open }) : '',
      ].filter(Boolean).join(' ');
    }
  }

  const tileUrl = packet ? tileUrlOf(packet) : '';
  clear(container,
    h('section', { class: 'card' },
      h('h1', { text: t('settings.title') }),
      h('h2', { text: t('settings.language') }),
      h('div', { class: 'segmented', role: 'group', 'aria-label': t('settings.language') },
        LOCALES.map((code) => button(t(`locale.${code}`), async () => {
          await store.kvSet('locale', code);
          await i18n.setLocale(code);
          location.reload();
        }, 'seg', { 'aria-pressed': String(i18n.currentLocale() === code) })))),
    h('section', { class: 'card' },
      h('h2', { text: t('settings.notifications') }),
      h('p', { class: 'muted', text: t('settings.push_help') }),
      button(t('settings.push_button'), turnOnNotifications, 'btn secondary block'),
      pushStatus),
    h('section', { class: 'card' },
      h('h2', { text: t('settings.device') }),
      h('dl', { class: 'facts' },
        fact(t('settings.user'), session ? `${session.user.display_name || session.user.username} (${session.user.username})` : ''),
        fact(t('settings.storage'), persisted ? t('settings.storage_persistent') : t('settings.storage_best_effort')),
        fact(t('settings.map_tiles'), tileUrl || t('settings.map_tiles_none')),
        fact(t('settings.rules_until'), packet && packet.rules && packet.rules.valid_until ? i18n.dateTime(packet.rules.valid_until) : '—'),
        fact(t('settings.device_id'), deviceId),
        fact(t('settings.version'), version || '—'))),
    h('section', { class: 'card' },
      h('h2', { text: t('settings.logout') }),
      h('p', { class: 'muted', text: t('settings.logout_help') }),
      message,
      button(t('settings.logout'), signOut, 'btn danger block')));
}

function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', { text: label }), h('dd', { text: value }));
}

/* The version is the service worker's: its shell cache is named after it. */
async function shellVersion() {
  if (!('caches' in window)) return '';
  const names = await caches.keys();
  const shell = names.find((n) => n.startsWith('doorstep-shell-'));
  return shell ? shell.slice('doorstep-shell-'.length) : '';
}
