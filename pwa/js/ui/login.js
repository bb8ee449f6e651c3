/* Sign in. The token stays on the device; a session that expired keeps the outbox and
 * only the same user may sign in again while anything is unsent. */
import { ApiError, NetworkError, request } from '../api.js';
import { LOCALES } from '../i18n.js';
import { button, clear, field, h, logo } from './dom.js';

export function mount(container, { t, i18n, store, reauth, previous, onLocale, onSignedIn }) {
  const username = h('input', { name: 'username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true, value: reauth && previous ? previous.user.username : '' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn primary block', text: t('login.submit') });
  const languages = h('div', { class: 'segmented', role: 'group', 'aria-label': t('settings.language') },
    LOCALES.map((code) => button(t(`locale.${code}`), () => onLocale(code), 'seg', { 'aria-pressed': String(i18n.currentLocale() === code) })));

  const form = h('form', { class: 'login card', novalidate: true, onsubmit: onSubmit },
    h('div', { class: 'login-brand' }, logo(64),
      h('h1', { text: 'Doorstep' }), h('p', { class: 'muted', text: t('login.tagline') })),
    reauth ? h('p', { class: 'notice', text: t('login.reauth') }) : null,
    field(t('login.username'), username),
    field(t('login.password'), password),
    error,
    submit,
    languages);
  clear(container, h('main', { id: 'main', class: 'login-page' }, form));
  (username.value ? password : username).focus();

  async function onSubmit(event) {
    event.preventDefault();
    error.textContent = '';
    if (!username.value.trim() || !password.value) {
      error.textContent = t('login.missing');
      return;
    }
    submit.disabled = true;
    submit.textContent = t('login.working');
    try {
      const unsent = await store.outboxCount();
      if (unsent && previous && previous.user && previous.user.username !== username.value.trim()) {
        error.textContent = t('login.other_user_unsent', { n: unsent, user: previous.user.username });
        return;
      }
      const deviceId = await store.deviceId();
      const data = await request('/api/auth/login', {
        method: 'POST', token: null,
        body: { username: username.value.trim(), password: password.value, device_id: deviceId },
      });
      const session = { token: data.token, expires_at: data.expires_at, user: data.user, device_id: deviceId };
      await store.saveSession(session);
      // The language picked on this device wins; otherwise the user's own.
      if (!(await store.kvGet('locale')) && data.user.locale) {
        await store.kvSet('locale', data.user.locale);
        await i18n.setLocale(data.user.locale);
      }
      await onSignedIn(session);
    } catch (err) {
      if (err instanceof NetworkError) error.textContent = t('login.offline');
      else if (err instanceof ApiError && err.status === 401) error.textContent = t('login.wrong');
      else if (err instanceof ApiError && err.status === 429) error.textContent = t('login.locked');
      else error.textContent = (err && err.message) || t('login.failed');
    } finally {
      submit.disabled = false;
      submit.textContent = t('login.submit');
    }
  }
}
