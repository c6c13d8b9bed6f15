// The phone's position once, as a promise: `null` when the phone cannot or will not tell (the
// inspection is recorded without it, never refused for it).
export interface Fix {
  lat: number
  lon: number
  accuracy: number
}

export function currentFix(timeout = 10000): Promise<Fix | null> {
  return new Promise((resolve) => {
    if (typeof navigator === 'undefined' || !('geolocation' in navigator)) return resolve(null)
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout, maximumAge: 60000 },
    )
  })
}
