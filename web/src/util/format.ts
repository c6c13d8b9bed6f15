import { i18n } from '../i18n'
import { ApiError } from '../api/client'

const t = (key: string, values?: Record<string, unknown>) => i18n.global.t(key, values ?? {})

/** A date and time in the current language, in the browser's time zone. */
export function dateTime(at: string | null | undefined): string {
  if (!at) return ''
  const d = new Date(at)
  if (Number.isNaN(d.getTime())) return at
  return new Intl.DateTimeFormat(i18n.global.locale.value, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).format(d)
}

/**
 * The day something is due by, when it is due at the end of a working day (an inspection, a
 * rectification): the end of the day is the next midnight, so the day is that of a minute before.
 */
export function dueDay(at: string | null | undefined): string {
  if (!at) return ''
  const d = new Date(new Date(at).getTime() - 60_000)
  if (Number.isNaN(d.getTime())) return at
  return new Intl.DateTimeFormat(i18n.global.locale.value, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(d)
}

/** A length of time in milliseconds, in words: "3 d 4 h", "25 min". */
export function duration(ms: number): string {
  const m = Math.round(Math.abs(ms) / 60000)
  if (m < 60) return t('time.minutes', { n: m })
  const h = Math.floor(m / 60)
  if (h < 48) return m % 60 && h < 10 ? t('time.hoursMinutes', { h, m: m % 60 }) : t('time.hours', { n: h })
  return t('time.days', { n: Math.floor(h / 24), h: h % 24 })
}

/** "due in 3 h" or "overdue by 2 h" for a deadline. */
export function dueText(at: string | null | undefined, now = Date.now()): string {
  if (!at) return ''
  const left = new Date(at).getTime() - now
  return left >= 0 ? t('time.dueIn', { d: duration(left) }) : t('time.overdueBy', { d: duration(left) })
}

/** The server's reasons for a refused field (English), as keys of the `reason` messages. */
const REASONS: Record<string, string> = {
  'is required': 'reason.required',
  'must lie in the future': 'reason.future',
  'must lie after the current deadline': 'reason.afterDeadline',
  'must lie after `from`': 'reason.afterFrom',
  'choose a subclass, not a class': 'reason.subclass',
  'say why the report is invalid; the reporter will read it': 'reason.invalidNote',
  'say what is still wrong; the department will read it': 'reason.failNote',
  'name the case this one duplicates': 'reason.duplicateOf',
  'the code is wrong or has expired': 'reason.codeWrong',
  'no valid code for this phone; ask for a new one': 'reason.noCode',
  'no image was sent': 'reason.noImage',
}

/** What a 404 says was not found ("tracking code not found"), as keys of the `thing` messages. */
const THINGS: Record<string, string> = {
  case: 'thing.case',
  'tracking code': 'thing.trackingCode',
  photo: 'thing.photo',
  person: 'thing.person',
  category: 'thing.category',
  department: 'thing.department',
  region: 'thing.region',
  assignment: 'thing.assignment',
  webhook: 'thing.webhook',
  file: 'thing.file',
  action: 'thing.action',
}

/** The kind of a problem (`https://gridkeeper.org/problems/sign-in-failed`) as a message key: `signInFailed`. */
export function problemKind(type: string): string {
  return (type.split('/').pop() ?? '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

/**
 * A message for an error, in the current language: by the problem's field and reason for invalid
 * input, else by its kind (`problem.*`; the i18n check makes sure every kind the server answers
 * has one), else by its status.
 */
export function problemText(e: unknown): string {
  if (e instanceof ApiError) {
    const p = e.problem
    if (p.status === 0) return t('errors.network')
    const kind = problemKind(p.type ?? '')
    if (kind === 'notFound') {
      const what = THINGS[(p.detail ?? '').replace(/ not found$/, '')] ?? 'thing.item'
      return t('problem.notFound', { what: t(what) })
    }
    if (!p.field && kind && i18n.global.te(`problem.${kind}`)) {
      const id = /[0-9a-f]{8}-[0-9a-f-]{27}/.exec(p.detail ?? '')?.[0] ?? ''
      return t(`problem.${kind}`, { n: /\d+/.exec(p.detail ?? '')?.[0] ?? '', id })
    }
    if (p.field) {
      const key = `fields.${p.field.replace(/\[\d+\]$/, '')}`
      const field = i18n.global.te(key) ? t(key) : p.field
      const reason = p.reason ?? p.detail
      return t('errors.invalid', { field, reason: REASONS[reason] ? t(REASONS[reason]) : reason })
    }
    const key = `errors.status${p.status}`
    const general = i18n.global.te(key) ? t(key) : t('errors.other', { status: p.status })
    return p.detail ? `${general} (${p.detail})` : general
  }
  return t('errors.unexpected', { detail: String(e) })
}

/** Metres as "35 m" or "1.2 km". */
export function distance(m: number): string {
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`
}

/** A local datetime-input value (YYYY-MM-DDTHH:mm) as RFC 3339 with the browser's offset. */
export function toRfc3339(d: Date): string {
  return d.toISOString()
}

/** Whether a step's new state is worth naming beside it: not when the action's name already says
 * it (a rejection ends in the state of that name). */
export function namesNewState(action: string, state: string): boolean {
  return t(`state.${state}`) !== t(`action.${action}`)
}
