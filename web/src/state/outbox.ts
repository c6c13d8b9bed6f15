// Inspections waiting for a signal. A grid member inspects where the phone may have no network:
// an inspection that could not be sent is kept on the device with its own key and the time it
// was done, and sent again when the phone is back online (or when the member opens the task
// list). The key makes a resend harmless: the server answers the inspection it already has.
import { reactive } from 'vue'
import { api, ApiError } from '../api/client'
import type { InspectionInput, Recorded } from '../api/types'
import { problemText } from '../util/format'

const KEY = 'gk-inspection-outbox'

export interface Waiting {
  body: InspectionInput
  /** What the member sees in the list. */
  label: string
  /** The last refusal, if the server refused it (kept for the member to see and remove). */
  error?: string
}

function load(): Waiting[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '[]')
    return Array.isArray(v) ? v : []
  } catch {
    return []
  }
}

export const outbox = reactive({ items: load(), sending: false })

function save() {
  localStorage.setItem(KEY, JSON.stringify(outbox.items))
}

/** A fresh key for an inspection about to be sent. */
export function newKey(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now()}-${Math.random().toString(36).slice(2)}`
}

/** Whether the failure means "no network" (keep it) rather than a refusal (show it). */
export function isOffline(e: unknown): boolean {
  return e instanceof ApiError && (e.problem.status === 0 || e.problem.status >= 502)
}

/** Keeps an inspection that could not be sent, with the time it was done. */
export function keep(body: InspectionInput, label: string) {
  outbox.items.push({ body: { ...body, done_at: body.done_at ?? new Date().toISOString() }, label })
  save()
}

export function drop(i: number) {
  outbox.items.splice(i, 1)
  save()
}

/** Sends what waits, oldest first; stops at the first network failure. */
export async function flush(): Promise<Recorded[]> {
  if (outbox.sending || !outbox.items.length) return []
  outbox.sending = true
  const sent: Recorded[] = []
  try {
    for (const w of [...outbox.items]) {
      try {
        sent.push(await api.inspect(w.body))
        outbox.items.splice(outbox.items.indexOf(w), 1)
      } catch (e) {
        if (isOffline(e)) break
        w.error = problemText(e)
      }
      save()
    }
  } finally {
    outbox.sending = false
  }
  return sent
}

if (typeof window !== 'undefined') window.addEventListener('online', () => void flush())
