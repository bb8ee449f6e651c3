/* Web push from the page: subscribe after a user gesture, keep the server's copy current,
 * unsubscribe before sign-out. The service worker side is /push-sw.js.
 *
 * `api` is the object from js/api.js ({get, post, request}): it adds the bearer token, and
 * the server takes the device id from that token's sign-in.
 */

export function pushSupported(registration) {
  return Boolean(registration && registration.pushManager && typeof Notification !== 'undefined');
}

/* What a "Turn on notifications" control should show:
 * 'unsupported' | 'denied' | 'off' (may ask) | 'on' (subscribed in this browser). */
export async function pushState(registration) {
  if (!pushSupported(registration)) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const subscription = await registration.pushManager.getSubscription();
  return subscription && Notification.permission === 'granted' ? 'on' : 'off';
}

function b64urlToBytes(value) {
  const b64 = value.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (value.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function sameKey(buffer, publicKey) {
  if (!buffer) return false;
  const a = new Uint8Array(buffer);
  const b = b64urlToBytes(publicKey);
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/* Ask permission, subscribe with the server's VAPID key, post the subscription.
 * Call it from the click handler itself: browsers only show the permission prompt
 * during a user gesture, so the prompt comes before anything else is awaited.
 * Resolves to {state: 'on', subscription} or {state: 'denied' | 'off' | 'unsupported'};
 * rejects with the browser's error when the push service cannot be reached. */
let subscribing = null;

export function subscribePush(registration, api) {
  // One at a time: the start-up resume and a tap on the button must not subscribe twice.
  if (!subscribing) subscribing = subscribe(registration, api).finally(() => { subscribing = null; });
  return subscribing;
}

async function subscribe(registration, api) {
  if (!pushSupported(registration)) return { state: 'unsupported' };
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return { state: permission === 'denied' ? 'denied' : 'off' };
  const { publicKey } = await api.get('/api/push/vapid-public-key');
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription.options.applicationServerKey, publicKey)) {
    // subscribed for another server key (the key was rotated): that subscription is useless now
    await subscription.unsubscribe();
    subscription = null;
  }
  if (!subscription) {
    subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: b64urlToBytes(publicKey),
    });
  }
  const row = await api.post('/api/push/subscriptions', subscription.toJSON());
  return { state: 'on', subscription: row };
}

/* After sign-in or at start: if this browser already allowed notifications, post the
 * current subscription again (it is now this user's; a token that expired while the
 * service worker handled pushsubscriptionchange is made good here). Never prompts. */
export async function resumePush(registration, api) {
  if (!pushSupported(registration) || Notification.permission !== 'granted') {
    return { state: await pushState(registration) };
  }
  return subscribePush(registration, api);
}

/* Before sign-out (while the token still works): the server forgets this browser, then
 * the browser drops the subscription. Offline, the server learns it from the push
 * service's 410 on the next send and prunes the row then. */
export async function unsubscribePush(registration, api) {
  if (!pushSupported(registration)) return { state: 'unsupported' };
  const subscription = await registration.pushManager.getSubscription();
  if (!subscription) return { state: 'off' };
  try {
    await api.request('/api/push/subscriptions', { method: 'DELETE', body: { endpoint: subscription.endpoint } });
  } catch (err) {
    if (err.status !== 404) console.warn('push: the server keeps the subscription until its next send', err);
  }
  await subscription.unsubscribe();
  return { state: 'off' };
}

/* Calls back when the service worker received a push (sync now) or a notification was
 * tapped ('open'); returns a function that stops listening. */
export function onPush(callback) {
  if (!('serviceWorker' in navigator)) return () => {};
  const listener = (event) => {
    const data = event.data || {};
    if (data.type === 'doorstep:push') callback('push', data.payload || {});
    if (data.type === 'doorstep:push-open') callback('open', data.payload || {});
  };
  navigator.serviceWorker.addEventListener('message', listener);
  return () => navigator.serviceWorker.removeEventListener('message', listener);
}
