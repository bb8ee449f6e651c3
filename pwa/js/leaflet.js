/* Leaflet from our own vendor copy (npm → pwa/vendor/leaflet), loaded once on first use by
 * the agent's map and the dispatcher's board. It is part of the precached shell, so the
 * agent's map works offline. */
let loading = null;

export function loadLeaflet() {
  if (window.L) return Promise.resolve(window.L);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      if (!document.querySelector('link[data-leaflet]')) {
        const css = document.createElement('link');
        css.rel = 'stylesheet';
        css.href = '/vendor/leaflet/leaflet.css';
        css.dataset.leaflet = '1';
        document.head.append(css);
      }
      const script = document.createElement('script');
      script.src = '/vendor/leaflet/leaflet.js';
      script.onload = () => resolve(window.L);
      script.onerror = () => { loading = null; reject(new Error('leaflet')); };
      document.head.append(script);
    });
  }
  return loading;
}
