// The running patrol of the signed-in grid member: the phone's position is watched while it runs
// (a position kept every 30 s or 50 m, whichever comes first), queued in localStorage and sent in
// batches (every minute, or five at a time, and before the end). A batch the server stored already
// is skipped there, so one sent again after a lost answer does not double. The watch stops when
// the patrol ends: no tracking after the end.

import { reactive } from 'vue'
import { api, ApiError } from '../api/client'
import type { LatLon, PatrolView, PositionInput } from '../api/types'

/** A position is kept at most this often… */
const EVERY_MS = 30_000
/** …unless the phone moved this far. */
const MOVED_M = 50
/** Queued positions are sent this often, or as soon as this many wait. */
const SEND_MS = 60_000
const SEND_AT = 5
/** The server takes at most this many at once. */
const BATCH = 500

export const patrol = reactive({
  current: null as PatrolView | null,
  /** The track drawn on the map: the stored one, then what this phone sampled since. */
  track: [] as LatLon[],
  /** Positions sampled but not sent yet. */
  queued: 0,
  sending: false,
  /** Why the last send failed (shown until one succeeds). */
  sendError: '',
  /** The phone gives no position: denied, unavailable, or no geolocation at all. */
  geoError: '' as '' | 'denied' | 'unavailable',
})

let watchId: number | null = null
let timer: ReturnType<typeof setInterval> | null = null
let last: { at: number; lat: number; lon: number } | null = null

const key = (id: number) => `gk-patrol-queue-${id}`

function queue(id: number): PositionInput[] {
  try {
    return JSON.parse(localStorage.getItem(key(id)) ?? '[]') as PositionInput[]
  } catch {
    return []
  }
}

function store(id: number, q: PositionInput[]) {
  if (q.length) localStorage.setItem(key(id), JSON.stringify(q))
  else localStorage.removeItem(key(id))
  patrol.queued = q.length
}

/** Metres between two points (haversine). */
export function metres(a: LatLon, b: LatLon): number {
  const r = 6_371_008.8
  const rad = Math.PI / 180
  const dp = (b.lat - a.lat) * rad
  const dl = (b.lon - a.lon) * rad
  const h = Math.sin(dp / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dl / 2) ** 2
  return 2 * r * Math.asin(Math.sqrt(h))
}

function sampled(pos: GeolocationPosition) {
  const p = patrol.current
  if (!p) return
  patrol.geoError = ''
  const here = { at: pos.timestamp, lat: pos.coords.latitude, lon: pos.coords.longitude }
  if (last && here.at - last.at < EVERY_MS && metres(last, here) < MOVED_M) return
  if (last && here.at <= last.at) return
  last = here
  const q = queue(p.id)
  q.push({
    at: new Date(here.at).toISOString(),
    lat: Number(here.lat.toFixed(7)),
    lon: Number(here.lon.toFixed(7)),
    accuracy: Math.round((pos.coords.accuracy || 0) * 10) / 10,
  })
  store(p.id, q)
  patrol.track.push({ lat: here.lat, lon: here.lon })
  if (q.length >= SEND_AT) void send()
}

function watch() {
  if (watchId !== null) return
  if (!('geolocation' in navigator)) {
    patrol.geoError = 'unavailable'
    return
  }
  watchId = navigator.geolocation.watchPosition(
    sampled,
    (e) => {
      patrol.geoError = e.code === e.PERMISSION_DENIED ? 'denied' : 'unavailable'
    },
    { enableHighAccuracy: true, maximumAge: 10_000, timeout: 60_000 },
  )
  timer = setInterval(() => void send(), SEND_MS)
}

function unwatch() {
  if (watchId !== null) navigator.geolocation.clearWatch(watchId)
  if (timer) clearInterval(timer)
  watchId = null
  timer = null
  last = null
}

/** Sends what is queued; `true` when nothing is left. */
export async function send(): Promise<boolean> {
  const p = patrol.current
  if (!p) return true
  if (patrol.sending) return false
  let q = queue(p.id)
  patrol.sending = true
  try {
    while (q.length) {
      const batch = q.slice(0, BATCH)
      const r = await api.sendPositions(p.id, batch)
      const sent = new Set(batch.map((x) => x.at))
      q = queue(p.id).filter((x) => !sent.has(x.at))
      store(p.id, q)
      patrol.current = r.patrol
    }
    patrol.sendError = ''
    return true
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      // Signed out (or the session expired): stop watching; the queue waits for the next sign-in.
      unwatch()
      patrol.current = null
      return false
    }
    if (e instanceof ApiError && e.status === 409) {
      // Ended elsewhere (by the server, after the longest a patrol runs): stop here too.
      store(p.id, [])
      stop()
      return true
    }
    patrol.sendError = e instanceof Error ? e.message : String(e)
    return false
  } finally {
    patrol.sending = false
  }
}

function stop() {
  unwatch()
  patrol.current = null
  patrol.track = []
  patrol.queued = 0
}

/** Picks up one's running patrol (after a reload) and watches again. */
export async function resume(): Promise<void> {
  if (patrol.current) {
    watch()
    return
  }
  const page = await api.patrols({ running: true, limit: 1 })
  const running = page.items[0]
  if (!running) return
  const d = await api.patrol(running.id)
  patrol.current = d.patrol
  patrol.track = d.track.map((x) => ({ lat: x.lat, lon: x.lon }))
  for (const x of queue(running.id)) patrol.track.push({ lat: x.lat, lon: x.lon })
  patrol.queued = queue(running.id).length
  watch()
}

export async function start(grid: string): Promise<void> {
  patrol.current = await api.startPatrol(grid)
  patrol.track = []
  store(patrol.current.id, [])
  watch()
}

/** Sends what is left, then ends the patrol and stops watching. Refuses while positions cannot be sent. */
export async function end(): Promise<PatrolView | null> {
  const p = patrol.current
  if (!p) return null
  // A send under way finishes first.
  while (patrol.sending) await new Promise((r) => setTimeout(r, 200))
  if (!(await send())) throw new Error(patrol.sendError)
  if (!patrol.current) return null
  const ended = await api.endPatrol(p.id)
  store(p.id, [])
  stop()
  return ended
}
