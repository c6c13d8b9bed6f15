import type { CaseEvent, Media } from '../api/types'

/** Ids of photos that some step attached as evidence of handling or verification. */
export function evidenceIds(timeline: CaseEvent[]): Set<string> {
  const ids = new Set<string>()
  for (const e of timeline) for (const id of (e.data.evidence as string[] | undefined) ?? []) ids.add(id)
  return ids
}

/** The reporter's photos and the evidence photos of a case, apart. */
export function splitMedia(media: Media[], timeline: CaseEvent[]): { report: Media[]; evidence: Media[] } {
  const ev = evidenceIds(timeline)
  return { report: media.filter((m) => !ev.has(m.id)), evidence: media.filter((m) => ev.has(m.id)) }
}
