// Which workflow actions to offer a person on a case: a mirror of the state machine's rules
// (crates/domain/src/workflow.rs `decide`) used only to choose buttons. The server decides.

import type { Action, Case, Role } from '../api/types'
import { session } from '../state/session'

function holdsFor(role: Role, region: string): boolean {
  return !!session.person?.grants.some(
    (g) => g.role === role && g.scope.type === 'region' && region.startsWith(g.scope.code),
  )
}

function worksFor(dept: number | null | undefined): boolean {
  return (
    dept != null &&
    !!session.person?.grants.some((g) => g.scope.type === 'department' && g.scope.id === dept)
  )
}

export interface Abilities {
  dispatcher: boolean
  supervisor: boolean
  lead: boolean
  co: number | null
  member: boolean
  leader: boolean
  reporter: boolean
}

export function abilities(c: Case): Abilities {
  const region = c.grid ?? c.district
  return {
    dispatcher: holdsFor('dispatcher', region),
    supervisor: holdsFor('supervisor', region),
    lead: worksFor(c.lead_department),
    co: c.co_departments.find((d) => worksFor(d)) ?? null,
    member: !!c.grid && holdsFor('grid_member', c.grid),
    leader: !!c.grid && holdsFor('grid_leader', c.grid),
    reporter: !!session.person && c.reporter === session.person.id,
  }
}

/** The actions this person may take on the case now, in the order to show them. */
export function actionsFor(c: Case): Action[] {
  const a = abilities(c)
  const s = c.state
  const out: Action[] = []
  const handling = s === 'dispatched' || s === 'in_progress'
  if (a.dispatcher && s === 'reported') out.push('accept', 'reject')
  if (a.dispatcher && s === 'accepted') out.push('dispatch')
  if (a.lead && s === 'dispatched') out.push('sign')
  if (a.lead && s === 'in_progress') out.push('submit_result')
  if (a.co !== null && handling) out.push('report_part')
  if (a.lead && handling && !c.extension_request) out.push('request_extension')
  if (a.lead && handling) out.push('return')
  if (a.dispatcher && handling && c.extension_request) out.push('approve_extension', 'deny_extension')
  const verifier = c.on_the_spot
    ? a.leader && !a.reporter
    : a.member || a.leader || (c.grid === null && a.dispatcher)
  if (verifier && s === 'resolved') out.push('verify')
  if (s === 'verified' && (a.dispatcher || (c.on_the_spot && a.leader))) out.push('close')
  if (a.reporter && s === 'closed') out.push('rate')
  if (a.supervisor && (s === 'closed' || s === 'rated')) out.push('reopen')
  const open = !['closed', 'rated', 'rejected'].includes(s)
  if (a.supervisor && open) out.push('supervise')
  if (a.dispatcher || a.supervisor || a.member || a.leader || a.lead || a.co !== null) out.push('note')
  return out
}
