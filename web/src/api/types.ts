// The types of the JSON API under /api/v1: the ONE file the app imports them from.
//
// Most are the schemas of the server's OpenAPI document (docs/openapi.json), generated into
// ./openapi.d.ts by scripts/api-types.mjs (`npm run api:types`; `npm run lint` fails when it is
// stale), so vue-tsc catches any drift between the app and the server. A few are narrowed here
// where the document is looser than the server (grants, GeoJSON geometry, the measures and the
// assessment, responsibility gaps, assignments, region imports), written to match
// crates/server/src/{responsibility.rs,regions.rs,measures.rs}.

import type { Geometry } from 'geojson'
import type * as S from './openapi'

/** RFC 3339 instant, e.g. `2026-11-22T08:00:00+08:00`. */
export type Instant = string

export type CaseState = S.CaseState
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

export type Urgency = S.Urgency
export const URGENCIES: Urgency[] = ['routine', 'urgent', 'emergency']

export type Source = S.Source
export type Rejection = S.Rejection
export type CategoryKind = S.CategoryKind
export type DepartmentKind = S.DepartmentKind
export type RegionLevel = S.RegionLevel
export type Action = S.Action

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
  | 'police'

export type Scope =
  | { type: 'region'; code: string }
  | { type: 'department'; id: number }
  | { type: 'place'; id: number }

export interface Grant {
  role: Role
  scope: Scope
}

/** A person as shown to themselves (`GET /me`, sign-in) or, masked, to others. */
export type Person = Omit<S.PersonView, 'grants'> & { grants: Grant[] }

/** A person as the administration sees them. */
export type AdminPerson = Person & { disabled: boolean }
export type AdminPersonAnswer = Omit<S.AdminPersonAnswer, 'person'> & { person: AdminPerson }
export type NewPersonBody = S.NewPersonBody
export type GrantBody = S.GrantBody
export type DepartmentBody = S.DepartmentBody
export type CategoryBody = S.CategoryBody

/** `region:CODE`, `department:ID` or `place:ID`: a scope as the administration sends it. */
export function scopeText(s: Scope): string {
  return s.type === 'region' ? `region:${s.code}` : `${s.type}:${s.id}`
}

export type LatLon = S.LatLon
export type ExtensionRequest = S.ExtensionRequest
/** The case as `case_json` renders it for the viewer (masked contact, `overdue`). */
export type Case = S.CaseView
export type CaseEvent = S.TimelineEvent
export type Media = S.MediaView
export type CaseLink = S.CaseLinkView
/** `GET /cases/{key}` */
export type CaseDetail = Omit<S.CaseDetail, 'reporter'> & { reporter?: Person | null }
/** A possible duplicate; staff see the id and description, others only that it exists. */
export type Duplicate = S.PossibleDuplicate
/** A `case` event of the live feed `GET /events`. */
export type LiveNotice = S.LiveNotice

// intelligent triage (crates/server/src/triage.rs)
/** `POST /triage/suggest`: categories for a reporter's words. */
export type SuggestAnswer = S.SuggestAnswer
export type SuggestedCategory = S.CategoryScore
/** `GET /cases/{key}/suggestions`: categories with the department usual for each. */
export type CaseSuggestions = S.CaseSuggestions
export type ModelStatus = S.ModelStatus
export type Accuracy = S.Accuracy
export type ReportGroup = S.ReportGroup
export type FoldBody = S.FoldBody
export type Surges = S.Surges
export type Surge = S.SurgeView

// notifications (crates/server/src/notices.rs)
export type NoticeKind = S.NoticeKind
export type Channel = S.Channel
/** `GET /inbox` */
export type Inbox = S.Inbox
export type InboxNotice = S.InboxNotice
/** `GET /me/notices`: one's choices, the kinds that concern one, whether e-mail can be sent. */
export type MyNoticeSettings = S.MyNoticeSettings
export type NoticeSettings = S.NoticeSettings
export type FollowView = S.FollowView
export type FollowBody = S.FollowBody
export type Templates = S.Templates
export type TemplateView = S.TemplateView
export type Undelivered = S.Undelivered
export type Unsubscribed = S.Unsubscribed

// the hotline entry (crates/server/src/hotline.rs)
/** `GET /hotline/callers`: the person registered with a phone and the earlier cases from it. */
export type CallerLookup = S.CallerLookup
export type CallerCase = S.CallerCase
export type CallerMatch = S.CallerMatch
/** `POST /hotline/calls` */
export type CallBody = S.CallBody
export type CallTaken = S.CallTaken
// "Your grid member" (crates/server/src/contacts.rs)
export type GridCard = S.GridCard
export type CardPerson = S.CardPerson
export type CardView = S.CardView
export type CardBody = S.CardBody
export type MessageRequest = S.MessageRequest
export type MessageList = S.MessageList
export type ContactMessage = S.MessageView
/** `POST /cases/{key}/callers` */
export type CallerBody = S.CallerBody
export type CallerAdded = S.CallerAdded
export type SmsLanguage = S.Language

// participation (crates/server/src/{articles,consultations,proposals}.rs)
export type ArticleKind = S.ArticleKind
export const ARTICLE_KINDS: ArticleKind[] = ['notice', 'policy', 'law_case', 'health', 'model_person', 'event', 'livelihood']
export type ArticleSummary = S.ArticleSummary
export type ArticleView = S.ArticleView
export type ArticlePage = S.ArticlePage
export type ArticleInput = S.ArticleInput
export type GridReadCount = S.GridReadCount
export type ConsultationKind = S.ConsultationKind
export const CONSULTATION_KINDS: ConsultationKind[] = ['rule', 'civil_agreement', 'community_plan', 'other']
export type ConsultationSummary = S.ConsultationSummary
export type ConsultationView = S.ConsultationView
export type ConsultationPage = S.ConsultationPage
export type ConsultationInput = S.ConsultationInput
export type CommentView = S.CommentView
export type CommentPage = S.CommentPage
export type Stance = S.Stance
export type ProposalStatus = S.ProposalStatus
export type ProposalView = S.ProposalView
export type ProposalPage = S.ProposalPage
export type ProposalAnswerInput = S.ProposalAnswerInput
export type NativeView = S.NativeView
export type NativeInput = S.NativeInput
export type NativePage = S.NativePage
export type LeadView = S.LeadView
export type LeadKind = S.LeadKind
export type LeadStatus = S.LeadStatus
export type Consent = S.Consent
export const CONSENT_FIELDS = ['name', 'expertise', 'city', 'organisation', 'phone'] as const
export const LEAD_KINDS: LeadKind[] = ['proposal', 'investment', 'donation']
export const LEAD_STATUSES: LeadStatus[] = ['new', 'following', 'done', 'dropped']
/** `GET /participation/figures` */
export type ParticipationAnswer = S.ParticipationAnswer

export interface Page<T> {
  items: T[]
  next_cursor?: string | null
}

export type ReportBody = S.ReportBody
export type Reported = S.ReportAnswer
export type OnTheSpotBody = S.OnTheSpotBody
/** The body of `POST /cases/{id}/actions/{action}`; each action takes some of these. */
export type ActionBody = S.ActionBody

export type Region = Omit<S.RegionItem, 'geometry'> & { geometry?: Geometry | null }

/** `GET /locate`: the grid and its parents, and who answers for the grid now. */
export type Located = S.LocateAnswer

export type Platform = S.Platform
export type Department = S.Department
export type Category = S.Category

/** `GET /public/cases/{reference}` */
export type PublicCase = S.PublicCase
export type PublicMapItem = S.PublicMapItem
export type PublicPhoto = S.PublicPhoto

/** A point GridMap marks besides cases (the public map's cases). */
export interface MapMarker {
  key: string
  lat: number
  lon: number
  color: string
  /** First line of the tooltip. */
  label: string
  /** Second line. */
  sub?: string
  /** A dashed ring: the point is only approximate. */
  approximate?: boolean
}

/** `GET /track/{code}`: the public view plus the answers addressed to the reporter. */
export type TrackedCase = Omit<S.TrackedCase, 'rejection'> & { rejection?: Rejection | null }

/** `POST /session`, `POST /session/phone` */
export type SignedIn = Omit<S.SessionAnswer, 'person'> & { person: Person }

/** An error answer: `application/problem+json` (RFC 9457). */
export type Problem = S.Problem

/** The case-list filters of `GET /cases`. */
export interface CaseFilters {
  state?: CaseState[]
  region?: string
  department?: number
  category?: number[]
  urgency?: Urgency
  overdue?: boolean
  /** New reports and overdue cases: the dispatcher's queue. */
  attention?: boolean
  from?: Instant
  to?: Instant
  q?: string
  /** Newest first (the default), or soonest deadline first (cases without a clock last). */
  sort?: 'newest' | 'deadline'
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

/** An assignment of a grid member to a grid or a grid leader to a community, for a period. */
export interface Assignment {
  id: number
  person: number
  name: string | null
  region: string
  role: 'grid_member' | 'grid_leader'
  starts_at: Instant
  ends_at: Instant | null
  created_at: Instant
  created_by: number | null
}

export type AssignRequest = Omit<S.AssignRequest, 'role'> & { role: 'grid_member' | 'grid_leader' }

/** `GET /responsibility/gaps` (the document types its items loosely). */
export interface Gaps {
  under: string
  at: Instant
  grids: {
    grid: string
    name: string
    status: 'unassigned' | 'fallback'
    accountable: { id: number; name: string; login?: string | null }[]
  }[]
  communities_without_leader: string[]
}

/** `GET /regions/validate`: the report lists issues, automatic changes and notes. */
export interface Validation {
  under: string
  valid: boolean
  report: { issues: Record<string, unknown>[]; changes: Record<string, unknown>[]; notes: unknown[] }
}

/** `POST /regions/import`: the plan (with its summary and report); `import_id` when stored. */
export interface ImportOutcome {
  accepted?: boolean
  import_id?: number | null
  plan?: { summary?: Record<string, unknown>; report?: Validation['report']; retire?: unknown[] }
  summary?: Record<string, unknown>
  report?: Validation['report']
  detail?: string
}

// points and rewards (积分)
export type MyPoints = S.MyPoints
export type EntryView = S.EntryView
export type EntryKind = S.EntryKind
export type RewardView = S.RewardView
export type RewardData = S.RewardData
export type NewRewardBody = S.NewRewardBody
export type RedemptionView = S.RedemptionView
export type RedemptionState = S.RedemptionState
export type PointRules = S.PointRules
export type PointRule = S.PointRule
export type Leaderboard = S.Leaderboard
export type PointFlows = S.PointFlows
export type CommendationView = S.CommendationView
export type AwardBody = S.AwardBody

// field inspections (crates/server/src/inspections.rs)
export type ChecklistView = S.ChecklistView
export type ChecklistItem = S.ChecklistItem
export type ChecklistDraft = S.ChecklistDraft
export type ChecklistImported = S.ChecklistImported
export type SubjectKind = S.SubjectKind
export type Severity = S.Severity
export type Outcome = S.Outcome
export type ItemResult = S.ItemResult
export type PlanRule = S.PlanRule
export type Plan = S.Plan
export type PlanSaved = S.PlanSaved
export type TaskView = S.TaskView
export type SafetyFile = S.SafetyFile
export type HazardView = S.HazardView
export type InspectionView = S.InspectionView
export type InspectionInput = S.InspectionInput
export type Recorded = S.Recorded
// the five teams (五支队伍) and volunteers' service hours
export type TeamKind = S.TeamKind
export const TEAM_KINDS: TeamKind[] = ['party_workers', 'grid_members', 'auxiliary_police', 'security_guards', 'volunteers']
export type Duty = S.Duty
export const DUTIES: Duty[] = ['patrol', 'inspect', 'report']
export type TeamView = S.TeamView
export type TeamList = S.TeamList
export type MemberView = S.MemberView
export type MemberInput = S.MemberInput
export type ServiceLogView = S.ServiceLogView
export type ServiceState = S.ServiceState
export type MyService = S.MyService
export type LogInput = S.LogInput
export type TeamMeasures = S.TeamMeasures
// Patrols (issue 16).
export type PatrolView = S.PatrolView
export type PatrolDetail = S.PatrolDetail
export type PatrolPage = S.PatrolPage
export type PositionView = S.PositionView
export type BatchResult = S.BatchResult
export type PositionInput = S.PositionInput
export type MyQuota = S.MyQuota
export type QuotaReport = S.QuotaReport
export type QuotaView = S.QuotaView
export type QuotaGroup = S.QuotaGroup
export type Quota = S.Quota
// special rectification campaigns (专项整治, crates/server/src/campaigns.rs)
export type CampaignView = S.CampaignView
export type CampaignPage = S.CampaignPage
export type CampaignInput = S.CampaignInput
export type CampaignStatus = S.CampaignStatus
export type CampaignBoard = S.CampaignBoard
export type BoardRow = S.BoardRow
export type BoardCounts = S.BoardCounts
export type CommunityBoard = S.CommunityBoard
export type RiskLevel = S.RiskLevel
// Measures of field work (issue 16; docs/MEASURES.md).
export type FieldWorkAnswer = S.FieldWorkAnswer
export type FieldWorkRow = S.FieldWorkRow
export type FieldCounts = S.FieldCounts
export type FieldMeasures = S.FieldMeasures
export type FieldWorkBy = 'grid' | 'community' | 'team' | 'person'
