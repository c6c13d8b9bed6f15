// The types of the JSON API under /api/v1, written by hand to match the server
// (crates/server/src/{routes.rs,accounts.rs}, crates/domain/src/{case.rs,org.rs,people.rs}).
//
// This is the ONE file of API types: when the server publishes its OpenAPI document (utoipa),
// replace it with types generated from that document and keep the exported names.

import type { Geometry } from 'geojson'

/** RFC 3339 instant, e.g. `2026-11-22T08:00:00+08:00`. */
export type Instant = string

export type CaseState =
  | 'reported'
  | 'accepted'
  | 'dispatched'
  | 'in_progress'
  | 'resolved'
  | 'verified'
  | 'closed'
  | 'rated'
  | 'rejected'

export const CASE_STATES: CaseState[] = [
  'reported',
  'accepted',
  'dispatched',
  'in_progress',
  'resolved',
  'verified',
  'closed',
  'rated',
  'rejected',
]

export const OPEN_STATES: CaseState[] = ['reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'verified']

export type Urgency = 'routine' | 'urgent' | 'emergency'
export const URGENCIES: Urgency[] = ['routine', 'urgent', 'emergency']

export type Source = 'resident' | 'grid_member' | 'social_unit' | 'hotline' | 'exchange'
export type Rejection = 'invalid' | 'outside_area' | 'duplicate'
export type CategoryKind = 'component' | 'event'
export type DepartmentKind = 'government' | 'community_team' | 'outside_party'
export type RegionLevel = 'district' | 'street' | 'community' | 'grid'

export type Action =
  | 'report'
  | 'on_the_spot'
  | 'accept'
  | 'reject'
  | 'dispatch'
  | 'sign'
  | 'return'
  | 'request_extension'
  | 'approve_extension'
  | 'deny_extension'
  | 'report_part'
  | 'submit_result'
  | 'verify'
  | 'close'
  | 'rate'
  | 'reopen'
  | 'supervise'
  | 'note'
  | 'anonymise'

export type Role =
  | 'resident'
  | 'social_unit'
  | 'grid_member'
  | 'grid_leader'
  | 'dispatcher'
  | 'department_staff'
  | 'department_head'
  | 'supervisor'
  | 'analyst'
  | 'admin'
  | 'auditor'

export type Scope =
  | { type: 'region'; code: string }
  | { type: 'department'; id: number }
  | { type: 'place'; id: number }

export interface Grant {
  role: Role
  scope: Scope
}

/** A person as shown to themselves (`GET /me`, sign-in) or, masked, to others. */
export interface Person {
  id: number
  login: string
  name: string
  phone: string | null
  grants: Grant[]
  totp_enabled: boolean
}

export interface LatLon {
  lat: number
  lon: number
}

export interface ExtensionRequest {
  until: Instant
  reason: string
  requested_by: number | null
  requested_at: Instant
}

/** The case projection as `case_json` renders it for the viewer. */
export interface Case {
  id: number
  reference: string
  version: number
  state: CaseState
  district: string
  grid: string | null
  location: LatLon | null
  address: string | null
  description: string
  source: Source
  /** Null for viewers who may not see the reporter. */
  reporter: number | null
  anonymous: boolean
  /** Masked contact left with the report, for those who may see it. */
  contact?: { name: string | null; phone: string | null }
  suggested_category: number | null
  category: number | null
  category_kind: CategoryKind | null
  public: boolean
  urgency: Urgency
  lead_department: number | null
  co_departments: number[]
  reported_at: Instant
  accepted_at: Instant | null
  dispatched_at: Instant | null
  signed_at: Instant | null
  resolved_at: Instant | null
  verified_at: Instant | null
  closed_at: Instant | null
  /** Handling time granted by category and urgency, in milliseconds. */
  handle_within: number | null
  handle_by: Instant | null
  due_at: Instant | null
  extension_request: ExtensionRequest | null
  returns: number
  reworks: number
  extensions: number
  reopens: number
  supervisions: number
  rating: number | null
  rating_comment: string | null
  on_the_spot: boolean
  rejection: Rejection | null
  duplicate_of: number | null
  updated_at: Instant
  overdue: boolean
  outside_jurisdiction: boolean
}

export interface CaseEvent {
  seq: number
  action: Action
  at: Instant
  actor: number | null
  from: CaseState | null
  to: CaseState
  /** The action's data: note, reason, deadline, departments, evidence (media ids), score... */
  data: Record<string, unknown>
}

export interface Media {
  id: string
  content_type: string
  width: number
  height: number
  bytes: number
  url: string
  thumbnail_url: string
  suggested_location: LatLon | null
}

export interface CaseLink {
  id: number
  reference: string
  state: CaseState
}

/** `GET /cases/{key}` */
export interface CaseDetail {
  case: Case
  reporter: Person | null
  timeline: CaseEvent[]
  media: Media[]
  duplicates: CaseLink[]
  duplicate_of: CaseLink | null
}

/** A possible duplicate; staff see the id and description, others only that it exists. */
export interface Duplicate {
  id?: number
  reference: string
  state: CaseState
  description?: string
  reported_at: Instant
  distance_m: number
}

export interface Page<T> {
  items: T[]
  next_cursor?: string | null
}

/** `POST /cases` */
export interface ReportBody {
  description: string
  lat?: number
  lon?: number
  address?: string
  urgency?: Urgency
  category?: number
  photos?: string[]
  anonymous?: boolean
  contact_name?: string
  contact_phone?: string
}

export interface Reported {
  case: Case
  tracking_code: string
  outside_jurisdiction: boolean
  possible_duplicates: Duplicate[]
}

/** `POST /cases/on-the-spot` */
export interface OnTheSpotBody {
  lat: number
  lon: number
  address?: string
  description: string
  category: number
  photos: string[]
  evidence: string[]
  note: string
}

/** The body of `POST /cases/{id}/actions/{action}`; each action takes some of these. */
export interface ActionBody {
  version?: number
  category?: number
  urgency?: Urgency
  reason?: string
  duplicate_of?: string | number
  lead_department?: number
  co_departments?: number[]
  deadline?: Instant
  until?: Instant
  note?: string
  text?: string
  evidence?: string[]
  passed?: boolean
  score?: number
  comment?: string
}

export interface Region {
  code: string
  name: string
  name_en: string | null
  level: RegionLevel
  parent: string | null
  /** GeoJSON geometry, with `?geometry=true`. */
  geometry?: Geometry | null
}

export interface RegionRef {
  code: string
  name: string
  name_en: string | null
  level: RegionLevel
}

/** `GET /locate` */
export interface Located {
  grid: RegionRef | null
  community?: RegionRef | null
  street?: RegionRef | null
  district?: RegionRef | null
  outside_jurisdiction: boolean
}

export interface Platform {
  id: number
  code: string
  name: string
  name_en: string
}

export interface Department {
  id: number
  code: string
  name: string
  name_en: string
  platform_id: number
  kind: DepartmentKind
  region: string | null
}

export interface Category {
  id: number
  code: string
  name: string
  name_en: string
  kind: CategoryKind
  parent_id: number | null
  default_department: number | null
  public: boolean
  deadlines: { routine_hours: number; urgent_hours: number; emergency_hours: number }
  duplicate_radius_m: number
  duplicate_window_hours: number
}

/** `GET /public/cases/{reference}` and, with the reporter's answers, `GET /track/{code}`. */
export interface PublicCase {
  reference: string
  state: CaseState
  description: string
  category: { id: number; name: string; name_en: string } | null
  grid: string | null
  location: LatLon | null
  reported_at: Instant
  closed_at: Instant | null
  rating: number | null
  timeline: { action: Action; at: Instant; state: CaseState }[]
}

export interface TrackedCase extends PublicCase {
  answers: { action: Action; at: Instant; note: string | null }[]
  rejection: Rejection | null
  duplicate_of: string | null
}

/** `POST /session`, `POST /session/phone` */
export interface SignedIn {
  token: string
  person: Person
}

/** An error answer: `application/problem+json` (RFC 9457). */
export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  field?: string
  reason?: string
  /** For a conflict: the case as it is now. */
  current?: Case
}

/** The case-list filters of `GET /cases`. */
export interface CaseFilters {
  state?: CaseState[]
  region?: string
  department?: number
  category?: number[]
  urgency?: Urgency
  overdue?: boolean
  from?: Instant
  to?: Instant
  q?: string
  limit?: number
  cursor?: string
}

/** Median and 90th percentile of a stage's duration, in hours (`null` without cases). */
export interface StageTime {
  count: number
  median_hours: number | null
  p90_hours: number | null
}

/** The measures of DESIGN.md for a scope and period (docs/MEASURES.md); a rate is 0..1 or null. */
export interface Measures {
  reports: number
  verifications: number
  acceptance_rate: number | null
  timely_acceptance_rate: number | null
  timely_dispatch_rate: number | null
  on_time_handling_rate: number | null
  closure_rate: number | null
  on_time_closure_rate: number | null
  rework_rate: number | null
  return_rate: number | null
  extension_rate: number | null
  self_resolution_rate: number | null
  satisfaction_rate: number | null
  reports_per_grid_member: number | null
  overdue_now: number
  accept_time: StageTime
  dispatch_time: StageTime
  handle_time: StageTime
  verify_time: StageTime
}

/** `GET /measures` */
export interface MeasuresAnswer {
  region: string | null
  department: number | null
  counts: Record<string, number>
  measures: Measures
}

export type AssessedKind = 'department' | 'grid' | 'grid_member'

export interface AssessedItem {
  /** Department id, grid code or person id, as text. */
  key: string
  name: string
  score: number | null
  rank: number | null
  previous_score: number | null
  previous_rank: number | null
  change: number | null
  components: { name: string; value: number | null; weight: number; points: number }[]
}

/** `GET /assessment` */
export interface Assessment {
  kind: AssessedKind
  region: string
  items: AssessedItem[]
}
