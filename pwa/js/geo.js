/* Device position and distances (haversine on a sphere: plenty for "are you at the door"). */
export function currentPosition({ timeoutMs = 15000, maximumAge = 0 } = {}) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(Object.assign(new Error('unsupported'), { code: 'unsupported' }));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (pos) => resolve({
        lat: round(pos.coords.latitude, 6),
        lon: round(pos.coords.longitude, 6),
        accuracy_m: Math.round(pos.coords.accuracy ?? 0),
        at: new Date(pos.timestamp || Date.now()).toISOString(),
      }),
      (err) => reject(Object.assign(new Error(err.message), { code: ({ 1: 'denied', 2: 'unavailable', 3: 'timeout' })[err.code] || 'unavailable' })),
      { enableHighAccuracy: true, timeout: timeoutMs, maximumAge },
    );
  });
}

export function distanceM(a, b) {
  if (a == null || b == null || a.lat == null || b.lat == null) return null;
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return Math.round(2 * R * Math.asin(Math.sqrt(s)));
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
