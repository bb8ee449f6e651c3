/* The QR encoder from our own vendor copy (npm qrcode-generator → pwa/vendor/qrcode-generator),
 * loaded once on first use (the badge link, the payment link). It is part of the precached shell, so the
 * payment link's QR shows offline too. Drawn on a canvas from the module grid: no markup strings. */
let loading = null;

function loadQrcode() {
  if (!loading) {
    loading = import('/vendor/qrcode-generator/qrcode.mjs').then((m) => m.default, (err) => { loading = null; throw err; });
  }
  return loading;
}

/* A canvas with `text` as a QR code (error correction M, a four-module quiet zone). */
export async function qrCanvas(text, { scale = 6, label = '' } = {}) {
  const qrcode = await loadQrcode();
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  const canvas = document.createElement('canvas');
  canvas.className = 'qr';
  canvas.width = canvas.height = (n + 2 * quiet) * scale;
  canvas.setAttribute('role', 'img');
  if (label) canvas.setAttribute('aria-label', label);
  canvas.dataset.modules = String(n);
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = '#000';
  for (let r = 0; r < n; r += 1) {
    for (let c = 0; c < n; c += 1) {
      if (qr.isDark(r, c)) g.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale);
    }
  }
  return canvas;
}
