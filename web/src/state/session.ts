// Who is signed in, and what their grants let the UI offer. The server decides every action;
// these helpers only choose which screens and buttons to show.

import { reactive } from 'vue'
import { api, ApiError, setUnauthorizedHandler } from '../api/client'
import type { Person, Role } from '../api/types'

export const session = reactive({
  person: null as Person | null,
  /** The regions whose measures the person may see (from `/me`, as the server's policy decides). */
  measures: [] as string[],
  /** The teams the person is a member of now (from `/me`): they log service hours. */
  teams: [] as number[],
  loaded: false,
})

export async function loadSession(): Promise<Person | null> {
  // A cookie session always comes with the (readable) CSRF cookie: without it, nobody is
  // signed in, and the resident's first page asks the server nothing.
  if (!document.cookie.split(';').some((c) => c.trim().startsWith('gk_csrf='))) {
    session.person = null
    session.loaded = true
    return null
  }
  try {
    const me = await api.me()
    session.person = me.person
    session.measures = me.measures
    session.teams = me.teams
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) console.warn('GET /me failed', e)
    session.person = null
    session.measures = []
    session.teams = []
  }
  session.loaded = true
  return session.person
}

export async function signOut() {
  try {
    await api.signOut()
  } catch {
    // already signed out
  }
  // The server ends the session cookie; the CSRF cookie goes with it.
  document.cookie = 'gk_csrf=; Path=/; Max-Age=0; SameSite=Strict'
  session.person = null
  session.measures = []
  session.teams = []
}

setUnauthorizedHandler(() => {
  session.person = null
  session.measures = []
  session.teams = []
})

export function hasRole(...roles: Role[]): boolean {
  return !!session.person?.grants.some((g) => roles.includes(g.role))
}

/** Region codes where the person holds one of `roles`. */
export function regionsOf(...roles: Role[]): string[] {
  return (session.person?.grants ?? [])
    .filter((g) => roles.includes(g.role) && g.scope.type === 'region')
    .map((g) => (g.scope as { code: string }).code)
}

/** Departments the person works for. */
export function departmentsOf(): number[] {
  return (session.person?.grants ?? [])
    .filter((g) => g.scope.type === 'department')
    .map((g) => (g.scope as { id: number }).id)
}

/** The home screen of a person's main role. */
export function homeOf(p: Person | null): string {
  if (!p) return '/report'
  const roles = new Set(p.grants.map((g) => g.role))
  if (roles.has('dispatcher')) return '/center'
  if (roles.has('admin')) return '/admin'
  if (roles.has('department_staff') || roles.has('department_head')) return '/dept'
  if (roles.has('grid_member') || roles.has('grid_leader')) return '/member'
  if (roles.has('supervisor') || roles.has('analyst') || roles.has('admin') || roles.has('auditor')) return '/leader'
  return '/report'
}

export function isStaff(): boolean {
  return !!session.person?.grants.some((g) => !['resident', 'social_unit', 'police'].includes(g.role))
}
