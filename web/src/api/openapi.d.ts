// Generated from docs/openapi.json by web/scripts/api-types.mjs (`npm run api:types`); do not edit.
// gridkeeper API 0.1.0: the schemas of /api/v1.

/** How the suggestions made in a period fared once the center decided the cases. */
export type Accuracy = ({
  /** Of those, cases put into a category. */
  decided: number
  department_decided: number
  department_taken: number
  first_taken: number
  /** Cases a suggestion was recorded for. */
  suggested: number
  top3_taken: number
}) & ({
  /** Dispatched to the department suggested, of those decided into the first category and
   * dispatched. */
  department_rate?: number | null
  /** Decided into the first category suggested, of those decided. */
  first_rate?: number | null
  from: string
  region: string
  to: string
  /** Decided into one of the three suggested, of those decided. */
  top3_rate?: number | null
})

/** What kind of thing happened to a case. One per transition of the state machine. */
export type Action = "report" | "on_the_spot" | "accept" | "reject" | "dispatch" | "sign" | "return" | "request_extension" | "approve_extension" | "deny_extension" | "report_part" | "submit_result" | "verify" | "close" | "rate" | "reopen" | "supervise" | "note" | "anonymise" | "respond" | "warn" | "mark_overdue" | "escalate" | "add_caller" | "find_hazard" | "reinspect"

export type ActionBody = {
  category?: number | null
  co_departments?: Array<number>
  comment?: string | null
  deadline?: string | null
  /** The original case: its id or reference. */
  duplicate_of?: string | null
  evidence?: Array<string>
  lead_department?: number | null
  note?: string | null
  passed?: boolean | null
  reason?: string | null
  score?: number | null
  text?: string | null
  until?: string | null
  urgency?: null | Urgency
  version?: number | null
}

export type AdminPeople = {
  items: Array<AdminPerson>
  /** Pass as `after` for the next page; none on the last. */
  next_after: string | null
}

/** A person as the administration sees them. */
export type AdminPerson = (PersonView) & ({
  disabled: boolean
})

export type AdminPersonAnswer = {
  /** Whether anything changed (false when the role was already held, or not held). */
  changed?: boolean | null
  /** A generated password, shown once (creation without a password). */
  password?: string | null
  person: AdminPerson
}

/** An answer addressed to the reporter: a rejection, a result, a verification, the closing. */
export type Answer = {
  action: Action
  at: string
  note: string | null
}

export type AnswerInput = {
  /** The official answer: what was decided and why. */
  answer: string
  /** What residents said, in short. */
  summary: string
}

/** An article as staff write it. */
export type ArticleInput = {
  /** HTML; reduced to an allow-list of tags and attributes (no script, handler or
   * `javascript:` URL survives). Must hold some text or an image. */
  body: string
  /** An image uploaded through `POST /media` for this article. */
  cover?: string | null
  /** When it leaves the feed (after `publish_at`); never by default. */
  expires_at?: string | null
  kind: ArticleKind
  /** Kept at the top of the feed. */
  pinned?: boolean
  /** When it appears (default now). */
  publish_at?: string | null
  /** Published to this region and everything under it. */
  region: string
  /** Shown in the feed (by default the beginning of the text). */
  summary?: string | null
  title: string
  /** Shown as urgent. */
  urgent?: boolean
}

/** What an article is: the information service and civic education of the seeds. */
export type ArticleKind = "notice" | "policy" | "law_case" | "health" | "model_person" | "event" | "livelihood"

export type ArticlePage = {
  /** In a feed, pinned first, then newest first; in a region's list, newest first. */
  items: Array<ArticleSummary>
  /** There are more after these. */
  more: boolean
}

/** Where an article stands now. */
export type ArticleState = "scheduled" | "live" | "expired" | "withdrawn"

/** An article in a list (without its body). */
export type ArticleSummary = {
  /** The cover image (`/api/v1/media/{id}`), public while the article is. */
  cover_url?: string | null
  expires_at?: string | null
  id: number
  kind: ArticleKind
  pinned: boolean
  publish_at: string
  /** Readers in all (a person signed in counts once). */
  reads: number
  /** The region it was published to (and everything under it). */
  region: string
  region_name: string
  state: ArticleState
  /** The summary given, or the beginning of the text. */
  summary: string
  title: string
  urgent: boolean
}

/** An article with its body. */
export type ArticleView = {
  article: ArticleSummary
  /** Sanitised HTML. */
  body: string
  /** The cover's upload id (for editing). */
  cover?: string | null
  /** The person asking may edit and withdraw it. */
  may_manage: boolean
}

/** `GET /assessment`: weighted scores, ranked. */
export type AssessmentAnswer = {
  /** By rank, then key. */
  items: Array<AssessmentItem>
  /** department, grid or grid_member */
  kind: string
  region: string
  /** The weight of each component. */
  weights: Record<string, unknown>
}

export type AssessmentItem = {
  /** `score - previous_score`. */
  change: number | null
  /** The score's components: each measure with its value, weight and points. */
  components: Array<Record<string, unknown>>
  /** Department id, grid code or person id. */
  key: string
  name: string
  previous_rank: number | null
  previous_score: number | null
  rank: number | null
  /** Null when there is nothing to score. */
  score: number | null
}

/** `POST /assignments`: a grid member to a grid, or a grid leader to a community. */
export type AssignRequest = {
  ends_at?: string | null
  person: number
  /** A grid (grid member) or a community (grid leader). */
  region: string
  /** grid_member or grid_leader */
  role: string
  /** RFC 3339; default now. */
  starts_at?: string | null
}

/** A person assigned to a region: the name masked for those who are not staff. */
export type AssignedPerson = {
  /** The assignment's id. */
  assignment: number
  name: string | null
  person: number
  /** grid_member or grid_leader */
  role: string
  since: string
  until: string | null
}

export type AssignmentAnswer = {
  assignment: AssignmentView
}

export type AssignmentList = {
  items: Array<AssignmentView>
}

/** An assignment: a grid member to a grid, or a grid leader to a community, for a period. */
export type AssignmentView = {
  created_at: string
  created_by: number | null
  ends_at: string | null
  id: number
  name: string | null
  person: number
  region: string
  /** grid_member or grid_leader */
  role: string
  starts_at: string
}

/** The Open311 attributes (questions) of a subclass. */
export type AttributeList = {
  items: Array<ServiceAttribute>
}

export type AttributesBody = {
  attributes: Array<ServiceAttribute>
}

export type AuditList = {
  /** Audit entries, newest first: `id`, `at`, `actor`, `action`, `object`, `detail`, `prev_hash`, `hash`. */
  items: Array<Record<string, unknown>>
}

/** What staff record for a person besides reports, checked. */
export type Award = {
  hours: number
  kind: "volunteer_hours"
  note?: string | null
} | {
  kind: "consultation"
  note?: string | null
} | {
  kind: "adjustment"
  note: string
  points: number
}

/** Volunteer hours, a consultation or a correction for a person. */
export type AwardBody = {
  award: Award
  /** The grid (or region) where it was earned: one of one's own. */
  region: string
}

export type BatchInput = {
  /** 1 to 500 positions, in any order; one already stored (the same `at`) is skipped. */
  positions: Array<PositionInput>
}

/** What a batch did. */
export type BatchResult = {
  /** Positions stored now. */
  added: number
  /** Positions stored before (a batch sent again). */
  duplicates: number
  /** Of this batch, positions flagged far outside the grid. */
  far: number
  /** Of this batch, positions flagged implausible. */
  implausible: number
  patrol: PatrolView
}

/** The counts of a campaign board for a grid, a community or the whole campaign
 * (docs/MEASURES.md, "Campaign board"). */
export type BoardCounts = {
  /** Inspected subjects whose campaign inspection failed at least one item. */
  failed: number
  /** Hazards the campaign inspections opened. */
  hazards: number
  /** Hazards still open past their rectification deadline. */
  hazards_overdue: number
  /** Tasks whose subject was inspected while the campaign ran. */
  inspected: number
  /** Tasks not inspected by their due day: still not inspected after it, or inspected late. */
  overdue: number
  /** Of those, hazards put right (their case closed). */
  rectified: number
  /** Places and houses selected (one task each). */
  subjects: number
}

/** A row of the board: a grid, a community, or the whole campaign. */
export type BoardRow = {
  counts: BoardCounts
  /** inspected ÷ subjects, in percent. */
  inspected_pct: number
  name: string
  /** rectified ÷ hazards, in percent (100 when no hazard was found). */
  rectified_pct: number
  region: string
}

/** A jurisdiction's working calendar: the clock that deadlines run on. */
export type Calendar = {
  /** Days off that would otherwise be working days. */
  holidays: Array<string>
  /** Days that are working days although their weekday is not (调休 make-up days); never a
   * holiday too. */
  makeup_days: Array<string>
  /** Working periods of a working day, in order, not overlapping. */
  periods: Array<Period>
  /** Local time's offset from UTC in minutes (China: 480). */
  utc_offset_minutes: number
  /** Working weekdays, 1 = Monday … 7 = Sunday. */
  weekdays: Array<number>
}

export type CalendarAnswer = {
  /** Working days and hours, holidays and make-up days. */
  calendar: Calendar
  /** Whether the district has its own calendar (else the default one is shown). */
  configured: boolean
  /** The district's code (6 digits). */
  district: string
}

export type CallBody = ({
  /** The address the caller gave (with or without a point). */
  address?: string | null
  /** The caller asked not to be named to departments. */
  anonymous?: boolean
  /** A subclass, if the call-taker chose one. */
  category?: number | null
  /** The coordinate system of `lat`/`lon`: `wgs84` (the default), `gcj02` or `bd09`. */
  crs?: "wgs84" | "gcj02" | "bd09" | null
  /** The problem, as the caller told it. */
  description: string
  language?: null | Language
  lat?: number | null
  lon?: number | null
  /** The name the caller gave. */
  name?: string | null
  /** The caller's phone: the case's contact, and where the tracking code is sent. */
  phone: string
  urgency?: null | Urgency
}) & ({
  lat: number
  lon: number
} | {
  address: string
})

/** The case reported for a caller. */
export type CallTaken = {
  case: CaseView
  outside_jurisdiction: boolean
  possible_duplicates: Array<PossibleDuplicate>
  /** The SMS with the tracking code was handed to the gateway. */
  sms_sent: boolean
  /** The caller follows the case with it (`GET /track/{code}`); sent to them by SMS, shown once. */
  tracking_code: string
}

export type CallerAdded = {
  caller: CallerView
  case: CaseView
  /** The SMS with the tracking code was handed to the gateway. */
  sms_sent: boolean
  /** The caller's own tracking code for the case, sent to them by SMS; shown once. */
  tracking_code: string
}

/** Another caller about an existing case. */
export type CallerBody = {
  language?: null | Language
  name?: string | null
  /** What the caller added, for the case's timeline (staff only). */
  note?: string | null
  /** The caller's phone: kept sealed with the case, and where the tracking code is sent. */
  phone: string
  /** The case's version as read; a stale one is answered 409 with the case as it is. */
  version?: number | null
}

/** An earlier case reported from the phone. */
export type CallerCase = {
  /** The case as the call-taker may see it; its `contact` in clear when `revealed`. */
  case: CaseView
  /** How the phone is tied to it. */
  matched: Array<CallerMatch>
  /** The call may be attached to this case now: `POST /cases/{key}/callers`. */
  may_add_caller: boolean
  /** The contact is shown in clear (audited as a reveal of the case). */
  revealed: boolean
}

/** What the platform knows of a phone. */
export type CallerLookup = {
  /** Earlier cases reported from the phone that one sees, newest first. */
  cases: Array<CallerCase>
  /** More cases than `limit` were found. */
  more: boolean
  person?: null | CallerPerson
  /** The phone as the platform keeps it (digits only). */
  phone: string
}

/** How the phone is tied to an earlier case. */
export type CallerMatch = "contact" | "reporter" | "caller"

/** The person registered with the phone. */
export type CallerPerson = {
  id: number
  /** Masked (`李*`) unless revealed. */
  name: string
  /** The name is in clear: revealed through a case they reported that one may reveal. */
  revealed: boolean
}

/** A caller attached to a case, as the call-taker sees them. */
export type CallerView = {
  at: string
  /** Masked. */
  name?: string | null
  /** Masked (`139****5678`). */
  phone: string
  /** The seq of the case's `add_caller` event. */
  seq: number
}

/** A campaign's progress (docs/MEASURES.md, "Campaign board"). */
export type CampaignBoard = {
  /** When the counts were taken (a closed campaign's stay as they were when it closed). */
  at: string
  /** The campaign, with its figures as a whole. */
  campaign: CampaignView
  /** By community code, each with its grids. */
  communities: Array<CommunityBoard>
  /** The regions the board is limited to, for one who sees only a part of the campaign (a grid
   * leader their community); empty when it shows all of it. */
  parts: Array<string>
  /** The totals of what the board shows (of `parts` when there are any). */
  totals: BoardRow
}

export type CampaignChecklist = {
  checklist: number
  kind: string
  subject: SubjectKind
}

/** A campaign as the linkage center or an admin starts it. */
export type CampaignInput = {
  /** The day the tasks fall due, within the period (default: the last day). */
  due_at?: string | null
  /** Its last day: on or after the first, at most 366 days later, not past. */
  ends_at: string
  /** Select the rental houses of the region too (a check list for `rental` houses in force). */
  houses?: boolean
  /** Kinds of place to select (keys of the registry's place kinds), each with a check list in
   * force; may be empty when `houses` is true. */
  kinds?: Array<string>
  /** 专项整治的名称 (at most 100 characters). */
  name: string
  /** A district, street or community one keeps. */
  region: string
  /** Risk levels of the places to select (default: every level). */
  risks?: Array<RiskLevel>
  /** Its first day (YYYY-MM-DD, UTC+8). */
  starts_at: string
}

export type CampaignPage = {
  /** Those running or upcoming first, then the newest first. */
  items: Array<CampaignView>
  more: boolean
}

/** Where a campaign stands. */
export type CampaignStatus = "upcoming" | "running" | "ended" | "closed"

/** A campaign as it is listed and shown. */
export type CampaignView = {
  /** The check list in force for each kind selected when it started. */
  checklists: Array<CampaignChecklist>
  close_reason?: string | null
  closed_at?: string | null
  created_at: string
  /** The day its tasks fall due. */
  due_at: string
  /** Its last day. */
  ends_at: string
  /** Whether rental houses are selected. */
  houses: boolean
  id: number
  /** Of those, inspected while it ran. */
  inspected: number
  /** Kinds of place selected. */
  kinds: Array<string>
  /** Whether the person asking may close it (while upcoming or running). */
  may_close: boolean
  name: string
  region: string
  region_name: string
  /** Risk levels of the places selected (empty: every level). */
  risks: Array<RiskLevel>
  /** Its first day (YYYY-MM-DD, UTC+8). */
  starts_at: string
  status: CampaignStatus
  /** Places and houses selected, one task each. */
  subjects: number
}

/** `PUT /me/card`, `PUT /admin/people/{id}/card`: the whole card. */
export type CardBody = {
  /** Free text, at most 200 characters; null: none. */
  office_hours?: string | null
  /** Show the work phone on the card (default no). */
  phone_public?: boolean
  /** The media id of an image uploaded with `POST /media` (by the person, or the admin); null: none. */
  photo?: string | null
}

/** A grid member or leader as the public card shows them. */
export type CardPerson = {
  /** A message through the platform reaches them (always; the only way when `phone` is null). */
  message: boolean
  name: string
  office_hours?: string | null
  /** Whom to send a message to (`POST /grid-card/messages`). */
  person: number
  /** Their work phone: only when they consented to show it. */
  phone?: string | null
  /** The photo's thumbnail, if they gave one. */
  photo_url?: string | null
  /** grid_member or grid_leader */
  role: string
}

/** One's own card, as the public sees it and as one edits it. */
export type CardView = {
  office_hours?: string | null
  person: number
  /** The work phone on the account (shown on the card only with `phone_public`). */
  phone?: string | null
  /** Whether the work phone is shown on the card. */
  phone_public: boolean
  /** The media id of the photo (upload it with `POST /media`). */
  photo?: string | null
  photo_url?: string | null
}

/** The current state of a case: a projection of its events, kept in the same transaction. */
export type Case = {
  accepted_at: string | null
  address: string | null
  /** The reporter asked not to be named to departments. */
  anonymous: boolean
  category: number | null
  category_kind: null | CategoryKind
  closed_at: string | null
  co_departments: Array<number>
  description: string
  dispatched_at: string | null
  /** The district the case belongs to (6 digits): the jurisdiction that received it. */
  district: string
  /** The clock of the current stage: accept-by, dispatch-by, handle-by, verify-by or close-by. */
  due_at: string | null
  duplicate_of: number | null
  extension_request: null | ExtensionRequest
  extensions: number
  grid: null | RegionCode
  /** The handling deadline (handle-by), set at dispatch, moved by approved extensions. */
  handle_by: string | null
  /** Handling time granted by the category and urgency, copied at acceptance. */
  handle_within: number | null
  /** Assigned by the store; 0 before the case is stored. */
  id: number
  lead_department: number | null
  location: null | LatLon
  /** Handled on the spot by the grid member who reported it. */
  on_the_spot: boolean
  overdue_due: string | null
  /** Whether the public may see this case (from its category; false until accepted). */
  public: boolean
  rating: number | null
  rating_comment: string | null
  /** Assigned by the store with the id (unique per district and year); empty before. */
  reference: string
  rejection: null | Rejection
  reopens: number
  reported_at: string
  reporter: number | null
  resolved_at: string | null
  returns: number
  reworks: number
  signed_at: string | null
  source: Source
  state: CaseState
  suggested_category: number | null
  supervision: null | SupervisionOrder
  supervisions: number
  updated_at: string
  urgency: Urgency
  verified_at: string | null
  /** Bumped by every event; the store refuses a write whose version is stale. */
  version: number
  /** The clock (`due_at`) whose handler was warned that it runs out, and the one marked overdue:
   * each happens once per clock. */
  warned_due: string | null
}

export type CaseAnswer = {
  case: CaseView
}

export type CaseCategoryScore = (CategoryScore) & ({
  department?: null | DepartmentGuess
})

/** A case with its timeline, photos and duplicate links. The `ETag` header is the version. */
export type CaseDetail = {
  case: CaseView
  duplicate_of: null | CaseLinkView
  /** Cases rejected as duplicates of this one. */
  duplicates: Array<CaseLinkView>
  /** Whether the viewer may see the reporter's name and phone in clear, audited:
   * `POST /cases/{key}/reveal`. */
  may_reveal: boolean
  media: Array<MediaView>
  near: null | NearPlace
  reporter: null | PersonView
  timeline: Array<TimelineEvent>
}

export type CaseLinkView = {
  id: number
  reference: string
  state: CaseState
}

export type CaseList = {
  items: Array<CaseView>
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null
}

/** The states of the case workflow (DESIGN.md, "The case workflow"). */
export type CaseState = "reported" | "accepted" | "dispatched" | "in_progress" | "resolved" | "verified" | "closed" | "rated" | "rejected"

/** What the center is offered for a case. */
export type CaseSuggestions = {
  categories: Array<CaseCategoryScore>
  confident: boolean
  evidence: Array<string>
  /** Why there are no suggestions (untrained). */
  reason?: string | null
  state: string
}

/** A case as the viewer may see it: the reporter and contact masked, or absent for those who may
 * not see them. */
export type CaseView = (Case) & ({
  /** The workflow actions the viewer may take on the case now, as the state machine decides
   * them, in the order a case page offers them: `POST /cases/{key}/actions/{action}`. Each may
   * still be refused for its data, or because the case changed meanwhile. */
  allowed_actions: Array<Action>
  contact?: null | ContactView
  /** The location lies outside every grid. */
  outside_jurisdiction: boolean
  overdue: boolean
})

/** A problem category: two levels (class → subclass). Cases are accepted into a subclass. */
export type Category = {
  /** e.g. `C01` for a class, `C0101` for a subclass. */
  code: string
  deadlines: Deadlines
  default_department: number | null
  /** Reports of the same category within this radius and time window are possible duplicates. */
  duplicate_radius_m: number
  duplicate_window_hours: number
  id: number
  kind: CategoryKind
  name: string
  name_en: string
  /** The class this subclass belongs to; `None` for a class. */
  parent_id: number | null
  /** Whether cases of this category may be shown to the public. */
  public: boolean
}

export type CategoryAnswer = {
  category: Category
}

export type CategoryBody = {
  code: string
  /** Hours to handle a case, per urgency (emergency ≤ urgent ≤ routine). */
  deadlines: Deadlines
  default_department?: number | null
  /** Reports of the subclass within this many metres (at most 5,000) are possible duplicates (default 100). */
  duplicate_radius_m?: number | null
  /** ...and within this many hours (at most 8,760; default 72). */
  duplicate_window_hours?: number | null
  kind: CategoryKind
  name: string
  name_en: string
  /** The class of a subclass; none for a class. */
  parent_id?: number | null
  /** Whether the public may see its cases (the public view, the public map, Open311). */
  public: boolean
}

/** Component (部件: a public facility) or event (事件: something that happens). */
export type CategoryKind = "component" | "event" | "hazard"

export type CategoryList = {
  items: Array<Category>
}

export type CategoryName = {
  id: number
  name: string
  name_en: string
}

/** A category suggested, with its probability. */
export type CategoryScore = {
  /** A subclass id. */
  category: number
  code: string
  name: string
  name_en: string
  /** Calibrated: of many suggestions with probability 0.8, about 8 in 10 are right. */
  probability: number
}

/** How a notice reaches someone. */
export type Channel = "inbox" | "sms" | "email" | "wechat"

/** A check list as written: what it applies to and its items. */
export type ChecklistDraft = {
  /** 1 to 200 items, codes unique. */
  items: Array<ChecklistItem>
  /** The kind of place (its key in the registry's place kinds) or the use of house (`rental`)
   * it applies to. One current check list per kind. */
  kind: string
  /** At most 100 characters. */
  name: string
  name_en?: string
  subject: SubjectKind
}

/** What an import of a check list wrote (or, on a dry run, would write). */
export type ChecklistImported = {
  checklist?: null | ChecklistView
  /** The check list as read from the sheet (checked). */
  draft: ChecklistDraft
}

/** One item of a check list. */
export type ChecklistItem = {
  /** The code of the hazard category (a subclass of kind `hazard`) a failure is filed under:
   * it decides the department that answers for it. */
  category: string
  /** Unique within the check list, kept across its versions (`F01`): how a re-inspection finds
   * the item a hazard came from. Letters, digits, `-` and `_`, at most 16. */
  code: string
  /** Whether a failure must come with a photo. */
  photo_on_fail?: boolean
  /** Working days the place has to put a failure right (1 to 365). */
  rectify_days: number
  severity: Severity
  /** What to check, as the inspector reads it (at most 200 characters). */
  text: string
  /** The same in English (at most 300 characters; may be empty). */
  text_en?: string
}

/** A check list at one of its versions. */
export type ChecklistView = {
  /** The newest version (the one in force unless retired). */
  current: number
  id: number
  items: Array<ChecklistItem>
  kind: string
  name: string
  name_en: string
  retired: boolean
  subject: SubjectKind
  updated_at: string
  /** The version these items are. */
  version: number
}

/** One choice of a list attribute. */
export type Choice = {
  key: string
  name: string
}

export type CloseInput = {
  /** Why it closes early (at most 500 characters). */
  reason?: string | null
}

export type CodeLogin = {
  code: string
  name?: string | null
  phone: string
}

export type CodeRequest = {
  phone: string
}

export type CodeSent = {
  sent: boolean
  valid_minutes: number
}

/** A commendation. */
export type CommendBody = {
  /** The region of the work commended: one of one's own. */
  region: string
  /** 1 to 500 characters. */
  text: string
}

/** A commendation shown on a person's profile. */
export type CommendationView = {
  /** RFC 3339 */
  at: string
  /** Who commended. */
  by_name: string
  id: number
  person: number
  region: string
  text: string
}

export type CommentInput = {
  body: string
  /** The commenter's grid (in the region consulted). */
  grid: string
}

export type CommentPage = {
  /** Oldest first. */
  items: Array<CommentView>
  more: boolean
}

/** A comment on a consultation. */
export type CommentView = {
  /** `null` when hidden (but for staff who run it). */
  body?: string | null
  created_at: string
  grid_name: string
  hidden: boolean
  /** Why staff hid it. */
  hidden_reason?: string | null
  id: number
  mine: boolean
  /** The commenter, masked (`张*`) unless it is oneself. */
  name: string
}

/** A community's row with its grids. */
export type CommunityBoard = (BoardRow) & ({
  grids: Array<BoardRow>
})

/** A community's proposals in the period. */
export type CommunityFigures = {
  answered: number
  answered_on_time: number
  /** answered on time ÷ reached the agenda (`null` when none did). */
  answered_on_time_rate?: number | null
  community: string
  made: number
  name: string
  /** On the agenda and past their deadline now. */
  overdue_now: number
  reached_agenda: number
}

/** Who may see one field of a notable native's entry. */
export type Consent = "public" | "staff" | "private"

/** Who may see each field of an entry (`null` or left out: private). */
export type ConsentInput = {
  city?: null | Consent
  expertise?: null | Consent
  name?: null | Consent
  organisation?: null | Consent
  phone?: null | Consent
}

/** Turnout of a consultation open during the period. */
export type ConsultationFigures = {
  closes_at: string
  commenters: number
  id: number
  /** Distinct people who voted or commented. */
  participants: number
  region_name: string
  title: string
  voters: number
}

export type ConsultationInput = {
  /** The draft: HTML, reduced to an allow-list. */
  body: string
  /** When it closes: after it opens, at most 180 days later. */
  closes_at: string
  kind: ConsultationKind
  /** When it opens for votes and comments (default now). */
  opens_at?: string | null
  /** Asked of this region and everything under it. */
  region: string
  title: string
}

/** What a consultation asks residents about. */
export type ConsultationKind = "rule" | "civil_agreement" | "community_plan" | "other"

export type ConsultationPage = {
  /** Newest first (by when they open). */
  items: Array<ConsultationSummary>
  more: boolean
}

/** Where a consultation stands at a moment. */
export type ConsultationPhase = "upcoming" | "open" | "closed" | "answered"

/** A consultation in a list. */
export type ConsultationSummary = {
  closes_at: string
  /** Comments shown (not hidden). */
  comments: number
  id: number
  kind: ConsultationKind
  opens_at: string
  oppose: number
  phase: ConsultationPhase
  /** Asked of this region and everything under it. */
  region: string
  region_name: string
  support: number
  title: string
}

/** A consultation with its draft, tally and answer. */
export type ConsultationView = {
  /** The official answer, once answered. */
  answer?: string | null
  answered_at?: string | null
  /** The draft (sanitised HTML). */
  body: string
  /** The votes per grid (once it closed, or for staff who run it). */
  by_grid?: Array<GridTally> | null
  consultation: ConsultationSummary
  /** The person asking runs it (moderates, answers). */
  may_manage: boolean
  /** The person asking may vote and comment now. */
  may_take_part: boolean
  my_vote?: null | Stance
  /** The official summary of what residents said, once answered. */
  summary?: string | null
}

/** A reporter's contact details: masked in a case (`138****1234`), in clear when revealed. */
export type ContactView = {
  name: string | null
  phone: string | null
}

/** The input type of an Open311 service attribute. */
export type Datatype = "string" | "number" | "datetime" | "text" | "singlevaluelist" | "multivaluelist"

/** Handling deadlines of a category, in hours, per urgency. */
export type Deadlines = {
  emergency_hours: number
  routine_hours: number
  urgent_hours: number
}

/** Staff's decision. */
export type Decision = "accept" | "decline"

/** Deliveries: `id`, `webhook_id`, `event_id`, `status`, `attempts`, `last_error`, ... */
export type DeliveryList = {
  items: Array<Record<string, unknown>>
}

export type Department = {
  code: string
  id: number
  kind: DepartmentKind
  name: string
  name_en: string
  platform_id: number
  region: null | RegionCode
}

export type DepartmentAnswer = {
  department: Department
}

export type DepartmentBody = {
  code: string
  kind: DepartmentKind
  name: string
  name_en: string
  platform_id: number
  /** The region it serves (a community team's community); none: the whole jurisdiction. */
  region?: string | null
}

/** The department a category's cases in this grid were most often dispatched to. */
export type DepartmentGuess = {
  count: number
  department: number
  name: string
  name_en: string
  out_of: number
  /** `grid`: counted in this grid; `category`: the grid had none, counted everywhere. */
  scope: string
  /** Of the cases of the category counted, the share dispatched to it. */
  share: number
}

export type DepartmentKind = "government" | "community_team" | "outside_party"

export type DepartmentList = {
  items: Array<Department>
}

/** A department's names, as the reporter reads them. */
export type DepartmentName = {
  name: string
  name_en: string
}

/** What a member may do for the team in its region. */
export type Duty = "patrol" | "inspect" | "report"

/** `POST /assignments/{id}/end`. */
export type EndRequest = {
  /** RFC 3339; default now. */
  at?: string | null
}

/** Who ended a patrol. */
export type EndedByView = "member" | "server"

/** What an entry of the ledger records. */
export type EntryKind = "report_verified" | "reversal" | "volunteer_hours" | "consultation" | "redemption" | "refund" | "adjustment"

/** An entry of one's ledger. */
export type EntryView = {
  /** RFC 3339 */
  at: string
  /** The reference of the case that earned (or lost) them. */
  case_reference?: string | null
  id: number
  kind: EntryKind
  note?: string | null
  /** Positive earned, negative spent or taken back. */
  points: i64
  redemption?: number | null
  /** Where they were earned (the case's grid) or spent (where the reward is handed over). */
  region?: string | null
}

/** A department's request for more time. */
export type ExtensionRequest = {
  reason: string
  requested_at: string
  requested_by: number | null
  until: string
}

/** What a scope's field work adds up to in a period. */
export type FieldCounts = {
  /** Due dates of the plan falling in the period (and passed, or already met). */
  due: number
  /** Of those, met by an inspection of the subject on or before the due date. */
  due_met: number
  /** Hazards whose rectification deadline fell in the period (and passed, or already closed). */
  hazards_due: number
  /** Hazards found in the period. */
  hazards_found: number
  /** Of those, closed no later than their deadline. */
  hazards_on_time: number
  /** Grid members' months of the period (a member counts once a month). */
  patrol_months: number
  /** Of those, months in which the member met both the hours and the visits of their quota. */
  patrol_months_met: number
  /** Re-inspections in the period: answers judging an open hazard. */
  reinspections: number
  /** Of those, passed (the hazard put right). */
  reinspections_passed: number
  /** Social units' self-inspection due dates in the period. */
  self_due: number
  /** Of those, met by a self-inspection on or before the due date. */
  self_due_met: number
  /** Spot checks in the period. */
  spot_checks: number
  /** Of those, failing an item the unit's latest self-inspection before it passed. */
  spot_checks_contradicting: number
}

/** The rates, each from 0 to 1, `None` when its denominator is zero. */
export type FieldMeasures = {
  /** `spot_checks_contradicting ÷ spot_checks`. */
  contradiction_rate?: number | null
  /** Inspection coverage on time: `due_met ÷ due`. */
  coverage_on_time?: number | null
  /** `hazards_on_time ÷ hazards_due`. */
  hazards_rectified_on_time?: number | null
  /** `patrol_months_met ÷ patrol_months`. */
  patrol_quota_met?: number | null
  /** `reinspections_passed ÷ reinspections`. */
  reinspection_pass_rate?: number | null
  /** `self_due_met ÷ self_due`. */
  self_inspection_compliance?: number | null
}

export type FieldReason = {
  field: string
  reason: string
}

export type FieldWorkAnswer = {
  /** grid, community, team or person */
  by: string
  /** Rows with anything to count, by key (grids and communities by code, teams by id, people by name). */
  items: Array<FieldWorkRow>
  name: string
  region: string
  /** The whole region. */
  total: FieldWorkRow
}

/** One grid, community, team or person, or the whole region. */
export type FieldWorkRow = {
  counts: FieldCounts
  /** Grid or community code, team id or person id; the region's code for the whole. */
  key: string
  measures: FieldMeasures
  name: string
}

/** A note with a hand-over or cancellation. */
export type FinishBody = {
  /** Up to 500 characters. */
  note?: string | null
}

export type FoldAnswer = {
  /** The case accepted. */
  case: CaseView
  /** The reports linked to it as duplicates. */
  duplicates: Array<CaseView>
}

export type FoldBody = {
  /** The category it is accepted into (a subclass). */
  category: number
  /** The other reports of the problem: rejected as duplicates of this case, their reporters
   * following it. At most 200, no case twice. */
  duplicates: Array<FoldDuplicate>
  note?: string | null
  urgency: Urgency
  /** The version of the case accepted, as seen. */
  version: number
}

export type FoldDuplicate = {
  /** Case id or reference. */
  case: string
  /** Its version as seen (stale: nothing is written). */
  version: number
}

/** What to follow: exactly one of a case, a region, or a point (`lat` and `lon`) with `radius_m`. */
export type FollowBody = {
  /** A case id or reference (one must be able to see it). */
  case?: string | null
  lat?: number | null
  lon?: number | null
  /** Metres around the point (1–5000), with `lat` and `lon`. */
  radius_m?: number | null
  /** A region code (a grid, a community, a street). */
  region?: string | null
}

export type FollowUpInput = {
  /** What was done, who answered. */
  note: string
  status: LeadStatus
}

/** A case or an area one follows. */
export type FollowView = {
  /** The case followed. */
  case_id?: number | null
  created_at: string
  id: number
  point?: null | LatLon
  radius_m?: number | null
  /** The region followed (a grid, a community…). */
  region?: string | null
  region_name?: string | null
}

export type GapsAnswer = {
  at: string
  communities_without_leader: Array<string>
  /** Grids with their status and who answers for them. */
  grids: Array<GridGap>
  under: string
}

export type GrantBody = {
  /** resident, social_unit, grid_member, grid_leader, dispatcher, department_staff,
   * department_head, supervisor, analyst, admin, auditor or police. */
  role: string
  /** `region:CODE`, `department:ID` or `place:ID`. */
  scope: string
}

/** `GET /grid-card`: the grid of a point and who answers for it. */
export type GridCard = {
  community?: null | RegionName
  /** The community's grid leaders. */
  community_leaders: Array<CardPerson>
  /** The grid has no grid member: its community's leaders answer for it. */
  fallback: boolean
  grid: RegionName
  /** The grid's members. */
  grid_members: Array<CardPerson>
  /** The point converted to WGS-84. */
  wgs84: LatLon
}

/** A grid's participation in the period. */
export type GridFigures = {
  /** Articles published to the grid or a region above it. */
  articles: number
  comments: number
  grid: string
  /** Houses registered as homes (own home or rental). */
  households: number
  name: string
  /** Reads counted in the grid of the articles published in the period. */
  reads: number
  /** Reach: reads ÷ households × 100 (`null` without households). */
  reads_per_100_households?: number | null
  votes: number
}

/** A grid without a grid member. */
export type GridGap = {
  accountable: Array<AssignedPerson>
  grid: string
  name: string
  /** `fallback` (the community's grid leaders answer for it) or `unassigned` (nobody does). */
  status: string
}

/** Reads of an article in one grid. */
export type GridReadCount = {
  /** `null`: readers who named no grid. */
  grid?: string | null
  grid_name?: string | null
  reads: number
}

/** The votes of one grid. */
export type GridTally = {
  grid: string
  grid_name: string
  oppose: number
  support: number
}

/** A hazard an inspection opened or judged. */
export type HazardCase = {
  case_id: number
  item: string
  reference: string
  state: CaseState
}

/** A hazard found at a place, with its case as it is now. */
export type HazardView = {
  case_id: number
  checklist: number
  closed_at?: string | null
  found_at: string
  found_by: number
  /** The rectification deadline. */
  handle_by?: string | null
  item: string
  open: boolean
  overdue: boolean
  reference: string
  severity: Severity
  state: CaseState
}

export type HideInput = {
  /** Why it is hidden (shown in its place, and kept in the audit log). */
  reason: string
}

/** A region with what an import said of it: its key in the file, whether its geometry is derived
 * from its children's, when it was retired or last changed. */
export type HistoryRegion = {
  code: string
  derived: boolean
  /** GeoJSON geometry. */
  geometry: Record<string, unknown> | null
  key: string | null
  level: RegionLevel
  name: string
  retired_at: string | null
  updated_at: string | null
}

export type ImportList = {
  items: Array<ImportView>
}

/** A past import with its options, summary and validation report. */
export type ImportView = {
  at: string
  by: number | null
  id: number
  options: Record<string, unknown>
  report: Record<string, unknown>
  /** The file's name, or `api`. */
  source: string
  summary: Record<string, unknown>
}

export type Inbox = {
  /** Newest first. */
  items: Array<InboxNotice>
  /** The `before` of the next page, when there may be one. */
  next_before?: number | null
  /** Notices not read yet, in all. */
  unread: number
}

/** A notice in the inbox. */
export type InboxNotice = {
  /** The urgent article it pushes. */
  article_id?: number | null
  body: string
  /** The case it tells of (none for an urgent notice or an overdue inspection). */
  case_id?: number | null
  created_at: string
  id: number
  kind: NoticeKind
  /** Where the notice leads: the case, the reporter's list, the article, or the safety file of
   * an overdue inspection. */
  link: string
  read: boolean
  subject: string
}

/** An inspection as the phone sends it. */
export type InspectionInput = {
  /** The fix's accuracy in metres. */
  accuracy_m?: number | null
  /** The check list and the version the inspector answered. */
  checklist: number
  /** When it was done, if sent later from a phone that was offline (RFC 3339; not in the
   * future, at most `[server.inspections] late_days` ago). Default: now. */
  done_at?: string | null
  /** The phone's own key for this inspection (1–64 characters): sent again after a lost
   * answer, the inspection is found, not recorded twice. */
  key?: string | null
  /** Where the inspector stood (WGS-84), compared with the place's point. */
  lat?: number | null
  lon?: number | null
  note?: string | null
  /** One answer per item of that version. */
  results: Array<ItemResult>
  subject: SubjectKind
  subject_id: number
  version: number
}

/** Why an inspection was made. */
export type InspectionKind = "routine" | "self" | "spot_check"

export type InspectionView = {
  accuracy_m?: number | null
  at: string
  /** The campaign it counted for, if any. */
  campaign?: number | null
  /** That campaign's name. */
  campaign_name?: string | null
  checklist: number
  /** Metres from the place's point. */
  distance_m?: number | null
  failed: number
  /** Farther from the place than `[server.inspections] far_m`. */
  far: boolean
  grid: string
  id: number
  inspector: number
  kind: InspectionKind
  lat?: number | null
  lon?: number | null
  not_applicable: number
  note?: string | null
  passed: number
  /** Empty in lists. */
  results: Array<ResultView>
  subject: SubjectKind
  subject_id: number
  version: number
}

/** What a native is invited to: a consultation or a proposal (one of them), by id. */
export type InvitationInput = {
  consultation?: number | null
  proposal?: number | null
}

export type InvitationView = {
  at: string
  /** An SMS with the link went to the native's phone. */
  sent: boolean
  target: string
}

/** The answer to one item, as the inspector gives it. */
export type ItemResult = {
  /** The item's code. */
  item: string
  /** What was seen (at most 500 characters); required for a failure. */
  note?: string | null
  outcome: Outcome
  /** Photos uploaded before (`POST /media`): of a failure, or of a hazard's rectification. */
  photos?: Array<String>
}

/** One kind of notice as the settings page lists it. */
export type KindChoice = {
  /** The channels chosen (or the default, when nothing was chosen), besides the inbox. */
  channels: Array<Channel>
  default: Array<Channel>
  kind: NoticeKind
}

/** The language of the SMS sent to a caller. */
export type Language = "zh" | "en"

/** A WGS-84 point (what GPS reports; stored form of every location). */
export type LatLon = {
  lat: number
  lon: number
}

export type LeadInput = {
  body: string
  kind: LeadKind
  title: string
}

/** What a notable native brings. */
export type LeadKind = "proposal" | "investment" | "donation"

export type LeadNoteView = {
  at: string
  by: string
  note: string
  status: LeadStatus
}

/** Where the follow-up of a lead stands. */
export type LeadStatus = "new" | "following" | "done" | "dropped"

/** A lead and its follow-up. */
export type LeadView = {
  body: string
  created_at: string
  id: number
  kind: LeadKind
  native_id: number
  /** Each step: who answered, what happened. */
  notes: Array<LeadNoteView>
  status: LeadStatus
  title: string
  updated_at: string
}

/** A row of a leaderboard. */
export type LeaderView = {
  /** This row is one's own. */
  me: boolean
  /** In clear for those who chose to show it; masked (张*) for the others. */
  name: string
  points: i64
  rank: number
}

/** The people who earned most in a region this year. */
export type Leaderboard = {
  /** RFC 3339: the start of the local year counted. */
  from: string
  region: string
  rows: Array<LeaderView>
}

/** Whether one's name shows on the leaderboards. */
export type LeaderboardChoice = {
  on_leaderboard: boolean
}

/** Where the area of a retired region went: `from` the retired region `to` a successor. */
export type LineageView = {
  area_m2: number
  at: string
  from: string
  import: number
  to: string
}

/** A `case` event of `GET /events`: one change of a case in the listener's scope. */
export type LiveNotice = {
  /** What happened. */
  action: Action
  at: string
  /** The case's id. */
  id: number
  reference: string
  /** The grid, or the district when the case lies outside every grid. */
  region: string
  /** The state after the change. */
  state: CaseState
  /** The case's version after the change. */
  version: number
}

/** `GET /locate`: where a point lies and who answers for it; all null outside every grid. */
export type LocateAnswer = {
  community: null | RegionName
  district: null | RegionName
  grid: null | RegionName
  /** The point as given. */
  input: LocateInput
  outside_jurisdiction: boolean
  responsible: null | Responsible
  street: null | RegionName
  /** The point converted to WGS-84. */
  wgs84: LatLon
}

export type LocateInput = {
  /** wgs84, gcj02 or bd09 */
  crs: string
  lat: number
  lon: number
}

export type LogInput = {
  /** YYYY-MM-DD: the day of the service (today or up to 90 days back). */
  date: string
  /** Whole hours, 1 to 24; all logs of one day together at most 24. */
  hours: number
  /** A registered place where it was done. */
  place?: number | null
  /** Where: a grid or community within the team's region (default: the team's region). */
  region?: string | null
  /** The team one served for (one of one's own). */
  team: number
  /** What one did (巡逻, 清理河道, 文明劝导…). */
  what: string
}

export type LoginBody = {
  login: string
  password: string
  totp?: string | null
}

/** The signed-in person as the store holds them: name, phone and ID number in clear (it is
 * oneself), roles, whether the account is disabled and has a second factor. */
export type Me = {
  disabled: boolean
  grants: Array<Record<string, unknown>>
  id: number
  id_number: string | null
  login: string
  name: string
  phone: string | null
  totp_enabled: boolean
}

export type MeAnswer = {
  /** The regions whose measures (and dashboard) the person may see, as the policy decides:
   * the widest of each of their scopes, widest first. Empty for those who may see none. */
  measures: Array<string>
  person: Me
  /** The teams (五支队伍) the person is a member of now: they log service hours (我的服务). */
  teams: Array<number>
}

/** `GET /measures`: the measures of docs/MEASURES.md and the counts they are made of. */
export type MeasuresAnswer = {
  /** The counts the measures are computed from. */
  counts: Record<string, unknown>
  department: number | null
  /** Each measure of docs/MEASURES.md by name. */
  measures: Record<string, unknown>
  /** The region measured (none for a department head's own department). */
  region: string | null
}

/** More than one photo uploaded at once. */
export type MediaList = {
  items: Array<MediaView>
}

/** `POST /media` as multipart/form-data. */
export type MediaUpload = {
  /** A JPEG, PNG or WebP image; or a voice recording (M4A, WebM, MP3, Ogg, WAV; at most
   * `max_audio_mb`) or a short video (MP4, QuickTime, WebM; at most `max_video_mb`). */
  file: string
}

/** A stored photo. */
export type MediaView = {
  bytes: number
  content_type: string
  height: number
  id: string
  suggested_location: null | LatLon
  thumbnail_url: string
  url: string
  width: number
}

export type MemberChange = {
  /** patrol, inspect, report (any of them, or none). */
  duties: Array<Duty>
  leader?: boolean
}

/** Who to add: an account by its phone or login. A phone with no account makes one (a resident's
 * account, which signs in with a code sent to the phone) when `name` is given. */
export type MemberInput = {
  /** patrol, inspect, report (any of them, or none). */
  duties: Array<Duty>
  /** YYYY-MM-DD; default today. */
  joined?: string | null
  /** The member leads the team (taking over from the current leader). */
  leader?: boolean
  /** A login (one of `phone` and `login`). */
  login?: string | null
  /** The name for a new account, when no account has this phone. */
  name?: string | null
  /** A mobile number (one of `phone` and `login`). */
  phone?: string | null
}

/** A member of a team. Names in clear for those who keep or lead the team, masked for others;
 * phones always masked. */
export type MemberView = {
  duties: Array<Duty>
  /** YYYY-MM-DD */
  joined: string
  leader: boolean
  name: string
  person_id: number
  /** 138****1234 */
  phone?: string | null
}

export type MessageList = {
  items: Array<MessageView>
  next_before?: number | null
  unread: number
}

export type MessageRead = {
  /** Messages still unread. */
  unread: number
}

/** `POST /grid-card/messages`. */
export type MessageRequest = {
  /** The grid the card was shown for. */
  grid: string
  /** Their name, if they wish. */
  name?: string | null
  /** How the grid member may call them back: required when not signed in (a signed-in
   * person's own phone is used when this is left out). */
  phone?: string | null
  /** The message: 1 to 500 characters. */
  text: string
  /** The person of the card (`person` of a `CardPerson`). */
  to: number
}

export type MessageSent = {
  id: number
}

/** A message to one, with who sent it and how to reach them (the phone masked until revealed). */
export type MessageView = {
  created_at: string
  grid: string
  id: number
  read_at?: string | null
  /** The sender's account, if they were signed in. */
  sender?: number | null
  sender_name?: string | null
  /** Masked (138****5678); `POST /me/messages/{id}/reveal` shows it (audited). */
  sender_phone?: string | null
  text: string
}

/** Whether suggestions are made, and by which model. */
export type ModelStatus = {
  /** Categories it knows. */
  categories?: number | null
  /** Decided cases it learned from. */
  examples?: number | null
  /** The model's format version. */
  format: number
  /** Why there are no suggestions yet (untrained). */
  reason?: string | null
  /** `trained` or `untrained`. */
  state: string
  trained_at?: string | null
  /** A training is running now. */
  training: boolean
}

/** The figures of a team or a person in one month. */
export type MonthFigures = {
  /** Cases reported in the month by people while they were members. */
  cases_reported: number
  /** Hours confirmed among them. */
  hours_confirmed: number
  /** Hours logged for days of the month, refused logs left out. */
  hours_logged: number
  /** Members whose membership overlaps the month (for a person: 1 when they were a member). */
  members_active: number
  /** `YYYY-MM`. */
  month: string
}

export type MyNoticeSettings = {
  /** The e-mail address notices go to, if given. */
  email?: string | null
  /** Whether the platform can send e-mail (a mail server is configured). */
  email_available: boolean
  /** The kinds that concern this person (residents: their reports; staff: their work too). */
  kinds: Array<KindChoice>
  /** Whether the person has a phone number for SMS (masked). */
  phone?: string | null
  settings: NoticeSettings
  /** Where to send the person to bind their WeChat (opened inside WeChat; it comes back to
   * `/wechat/bind` with a code for `POST /me/wechat`). */
  wechat_authorize_url?: string | null
  /** Whether the platform sends WeChat template messages. */
  wechat_available: boolean
  /** Whether the person bound their WeChat. */
  wechat_bound: boolean
}

/** One's points: balance, the day's cap, and a page of the history. */
export type MyPoints = {
  balance: i64
  daily_cap: i64
  /** Points earned today that count towards the daily cap. */
  earned_today: i64
  /** Newest first. */
  entries: Array<EntryView>
  /** Pass as `before` for the next page; none: this was the last. */
  next_before?: number | null
  /** One's name shows on the leaderboard (otherwise masked, 张*). */
  on_leaderboard: boolean
}

export type MyQuota = {
  month: string
  quota: QuotaView
}

/** One's service: teams, recent logs, hours by month, points. */
export type MyService = {
  /** One's balance of points. */
  balance: number
  /** Confirmed hours in the last twelve months. */
  hours_confirmed: number
  /** The newest 100, newest day first. */
  logs: Array<ServiceLogView>
  /** The last twelve months (`members_active`: 1 in a month one was a member). */
  months: Array<MonthFigures>
  /** Points earned by confirmed hours in the last twelve months. */
  points_from_service: number
  teams: Array<MyTeam>
}

/** One of one's seats in a team. */
export type MyTeam = {
  duties: Array<Duty>
  id: number
  kind: TeamKind
  leader: boolean
  name: string
  region: string
  region_name: string
}

export type NativeInput = {
  /** The city they live in now. */
  city?: string | null
  /** Who may see each field; a field left out is private. */
  consent?: ConsentInput
  /** Field of expertise (教育, 医疗, 企业经营…). */
  expertise?: string | null
  /** The home village or community (a region code). */
  home_region: string
  name: string
  organisation?: string | null
  phone?: string | null
}

export type NativePage = {
  /** By home region, then in the order they were entered. */
  items: Array<NativeView>
  more: boolean
}

/** A notable native as the person asking may see them: each field by the native's consent. */
export type NativeView = {
  city?: string | null
  /** The consent per field (for those who keep the directory; empty otherwise). */
  consent: Record<string, Consent>
  expertise?: string | null
  home_name: string
  home_region: string
  id: number
  /** Leads recorded (for those who keep the directory). */
  leads?: number | null
  may_manage: boolean
  /** `null` when not shown to the person asking. */
  name?: string | null
  organisation?: string | null
  phone?: string | null
}

/** A known address near a point. */
export type NearPlace = {
  address: string
  /** Metres from the case's point, rounded. */
  distance_m: number
}

export type NewPersonBody = {
  grants: Array<GrantBody>
  login: string
  name: string
  /** At least 8 characters; when absent one is generated and answered once. */
  password?: string | null
  phone?: string | null
}

/** A new reward. */
export type NewRewardBody = {
  /** Offered now (default true). */
  active?: boolean | null
  /** 1 to 100,000 points. */
  cost: number
  description?: string | null
  /** 1 to 100 characters. */
  name: string
  name_en?: string | null
  /** Where it is handed over: a region one is an admin of. */
  region: string
  /** 0 to 100,000. */
  stock: number
}

/** What a notice is about. Each has a default text per locale ([`default_template`]). */
export type NoticeKind = "accepted" | "rejected" | "dispatched" | "solved" | "closed" | "reopened" | "new_dispatch" | "rework" | "extension_decided" | "returned" | "deadline_warning" | "overdue" | "supervision" | "verification_needed" | "new_in_area" | "urgent_notice" | "inspection_overdue"

/** A person's choices: channels per kind of notice, quiet hours, a daily cap, their language. */
export type NoticeSettings = {
  /** Channels chosen per kind (besides the inbox, which always keeps every notice), each
   * channel once. A kind not listed gets the default ([`default_channels`]). */
  channels: Record<string, Array<Channel>>
  /** Most SMS and e-mails a day (1–200); further ones stay in the inbox, and the last one says so. */
  daily_cap: number
  /** `zh` or `en`. */
  locale: string
  /** Local time (HH:MM) from which no SMS or e-mail is sent, except for emergencies; `None`: no
   * quiet hours. Given with `quiet_to`, or neither. */
  quiet_from?: string | null
  /** Local time (HH:MM) at which the quiet hours end. */
  quiet_to?: string | null
}

export type NoticeSettingsBody = {
  /** An e-mail address for notices (needed when e-mail is chosen); empty or absent: none. */
  email?: string | null
  settings: NoticeSettings
}

export type OnTheSpotBody = {
  address?: string | null
  category: number
  description: string
  evidence: Array<string>
  lat: number
  lon: number
  note: string
  photos?: Array<string>
}

/** The answer to one item. */
export type Outcome = "pass" | "fail" | "not_applicable"

/** The figures of residents' participation (docs/MEASURES.md, "Participation"). */
export type ParticipationAnswer = {
  /** Communities with proposals, by code. */
  communities: Array<CommunityFigures>
  /** Newest closing first. */
  consultations: Array<ConsultationFigures>
  from: string
  /** Every grid under the region, by code. */
  grids: Array<GridFigures>
  region: string
  to: string
}

export type PatrolCaseLink = {
  at: string
  id: number
  reference: string
  state: string
}

/** A patrol with its track and what its patroller did meanwhile. */
export type PatrolDetail = {
  /** Cases the patroller reported during the patrol (hazards their inspections found among them). */
  cases: Array<PatrolCaseLink>
  /** The grid's outline (GeoJSON), to draw the track on. */
  grid_geometry?: Record<string, unknown> | null
  /** Inspections the patroller made during the patrol. */
  inspections: Array<PatrolInspectionLink>
  patrol: PatrolView
  /** In time order (empty once deleted after their retention). */
  track: Array<PositionView>
  /** Places the patroller visited during the patrol. */
  visits: Array<PatrolVisitLink>
}

/** An inspection made during a patrol. */
export type PatrolInspectionLink = {
  at: string
  failed: number
  id: number
  /** What was inspected. */
  name: string
  subject: SubjectKind
  subject_id: number
}

export type PatrolPage = {
  /** Newest first. */
  items: Array<PatrolView>
  more: boolean
}

/** A patrol's summary. */
export type PatrolView = {
  /** Metres walked (implausible and inaccurate positions left out). */
  distance_m: number
  /** Seconds on patrol (to now while it runs). */
  duration_s: number
  /** `null` while it runs. */
  ended_at?: string | null
  ended_by?: null | EndedByView
  /** When the server ends it if it is still running then. */
  ends_by?: string | null
  /** Positions farther outside the grid than allowed (kept, flagged). */
  far: number
  grid: string
  grid_name: string
  id: number
  /** Positions reached implausibly fast (kept, flagged). */
  implausible: number
  last?: null | LatLon
  last_at?: string | null
  person: number
  person_name: string
  positions: number
  running: boolean
  started_at: string
  /** `false` once its positions were deleted after their retention (the summary stays). */
  track_kept: boolean
}

export type PatrolVisitLink = {
  at: string
  name: string
  place: number
}

/** A working period of a day, in minutes after local midnight: `[start, end)`. */
export type Period = {
  end: number
  start: number
}

/** A person's figures over the period, in one team. */
export type PersonFigures = {
  cases_reported: number
  hours_confirmed: number
  hours_logged: number
  /** Months of the period in which they were a member. */
  months_active: number
  name: string
  person_id: number
  team_id: number
}

/** A person: name masked and phone masked unless it is oneself. */
export type PersonView = {
  /** Roles with the region or department they hold them in. */
  grants: Array<Record<string, unknown>>
  id: number
  login: string
  name: string
  phone: string | null
  totp_enabled: boolean
}

/** The plan: how often each kind of place or house is inspected at each risk level. */
export type Plan = {
  rules: Array<PlanRule>
}

/** How often a kind of place or house is inspected at a risk level. */
export type PlanRule = {
  /** Days between inspections (1 to 3650): 30 for monthly, 365 for yearly. */
  every_days: number
  /** A kind of place or use of house, as in a check list. */
  kind: string
  risk: RiskLevel
  subject: SubjectKind
}

export type PlanSaved = {
  /** Places and houses planned now. */
  planned: number
  rules: Array<PlanRule>
}

/** A platform of the linkage center groups departments (Wuzhen's "1+4+X": comprehensive
 * governance, law enforcement, market supervision, convenience services). */
export type Platform = {
  code: string
  id: number
  name: string
  name_en: string
}

export type PlatformList = {
  items: Array<Platform>
}

/** Points issued and redeemed in a region. */
export type PointFlowView = {
  /** Earned (reports, volunteering, consultations, corrections), net of reversals. */
  issued: i64
  /** Spent on rewards, net of refunds. */
  redeemed: i64
  /** The grid (or the region where a reward was handed over). */
  region: string
}

/** Points issued and redeemed per grid of a region over a period. */
export type PointFlows = {
  issued: i64
  redeemed: i64
  region: string
  rows: Array<PointFlowView>
}

/** The points a verified report of a category (and urgency) earns; `None` matches any. */
export type PointRule = {
  category?: null | i64
  /** Points earned (0 turns earning off for what the rule matches). */
  points: number
  urgency?: null | Urgency
}

/** The rules of points, set by an admin. */
export type PointRules = {
  /** Points for taking part in a consultation. */
  consultation: number
  /** The most points a person earns in one local day (reports, volunteering, consultations);
   * what goes beyond is not given. */
  daily_cap: number
  /** Points for a verified report that no rule names. */
  report_verified: number
  /** Rules per category and urgency; the most specific one that matches wins (category and
   * urgency, then the subclass, then its class, then the urgency alone). */
  rules?: Array<PointRule>
  /** Points per hour of volunteering. */
  volunteer_hour: number
}

/** A position as the phone sampled it. */
export type PositionInput = {
  /** The phone's accuracy radius in metres. */
  accuracy: number
  /** When it was sampled (RFC 3339 with milliseconds): its identity within the patrol. */
  at: string
  lat: number
  lon: number
}

/** A stored position. */
export type PositionView = {
  accuracy_m: number
  at: string
  far: boolean
  implausible: boolean
  lat: number
  lon: number
  /** Metres outside the grid (0 inside). */
  outside_m: number
}

/** An open case of the same category nearby; `id` and `description` for staff only. */
export type PossibleDuplicate = {
  description?: string | null
  distance_m: number
  id?: number | null
  reference: string
  reported_at: string
  state: CaseState
}

export type PossibleDuplicates = {
  items: Array<PossibleDuplicate>
}

/** An error (RFC 9457 problem details), sent as `application/problem+json`. */
export type Problem = {
  current?: null | Case
  detail: string
  /** The bad field and reason again, as a list. */
  errors?: Array<FieldReason> | null
  /** The bad field, when one is to blame. */
  field?: string | null
  /** Why the field is bad. */
  reason?: string | null
  status: number
  title: string
  /** `https://gridkeeper.org/problems/<kind>` */
  type: string
}

export type ProposalAnswerInput = {
  /** What will be done (accepted) or why not (declined); shown to everyone. */
  answer: string
  /** When accepted: the case (id or reference) it is handled as, reported through the usual
   * way. */
  case?: string | null
  decision: Decision
}

export type ProposalInput = {
  /** What is proposed, and why. */
  body: string
  /** The proposer's grid: the proposal goes on its community's agenda. */
  grid: string
  title: string
}

export type ProposalPage = {
  /** Newest first; on the agenda, the soonest due first. */
  items: Array<ProposalView>
  more: boolean
}

/** Where a proposal stands. */
export type ProposalStatus = "open" | "agenda" | "accepted" | "declined" | "withdrawn"

/** A proposal as anyone sees it. */
export type ProposalView = {
  /** When it went on the agenda. */
  agenda_at?: string | null
  /** The answer (accepted) or the reason (declined). */
  answer?: string | null
  answered_at?: string | null
  body: string
  /** The case it is handled as, when accepted as one. */
  case_id?: number | null
  created_at: string
  /** When staff must have answered it. */
  due_at?: string | null
  id: number
  may_answer: boolean
  may_support: boolean
  may_withdraw: boolean
  mine: boolean
  /** It is on the agenda past its deadline, unanswered. */
  overdue: boolean
  /** The proposer, masked (`张*`) unless it is oneself. */
  proposer: string
  /** The community whose agenda it goes on. */
  region: string
  region_name: string
  status: ProposalStatus
  /** The person asking supports it. */
  supported: boolean
  supports: number
  /** Supporters it needs to go on the agenda. */
  threshold: number
  title: string
}

/** The public view of a case: no personal data, no internal events; for a category that is not
 * public the location is coarsened to about 200 m. */
export type PublicCase = {
  /** Thumbnails of the evidence of its handling (none for a non-public category). */
  after: Array<PublicPhoto>
  /** Thumbnails of the report's photos (none for a non-public category). */
  before: Array<PublicPhoto>
  category: null | CategoryName
  closed_at: string | null
  description: string
  grid: string | null
  location: null | LatLon
  rating: number | null
  reference: string
  reported_at: string
  state: CaseState
  timeline: Array<PublicEvent>
}

export type PublicEvent = {
  action: Action
  at: string
  state: CaseState
}

export type PublicMap = {
  items: Array<PublicMapItem>
}

/** A case on the public map. `public: false` (a category that is not public): location
 * coarsened to about 200 m, no description, no photos. */
export type PublicMapItem = {
  /** Thumbnails of the evidence of its handling. */
  after: Array<PublicPhoto>
  /** Thumbnails of the report's photos. */
  before: Array<PublicPhoto>
  category: null | CategoryName
  closed_at: string | null
  description: string | null
  grid: string | null
  location: null | LatLon
  public: boolean
  reference: string
  reported_at: string
  state: CaseState
}

/** A photo anyone may see: the original and its thumbnail. */
export type PublicPhoto = {
  id: string
  thumbnail_url: string
  url: string
}

/** A month's quota of a grid member: hours on patrol and places visited. */
export type Quota = {
  hours: number
  visits: number
}

/** A grid's or community's members against their quotas. */
export type QuotaGroup = {
  /** Mean of the members' shares of hours met. */
  hours_share: number
  members: number
  /** Members who met both in full. */
  met: number
  name: string
  region: string
  /** Mean of the members' shares of visits met. */
  visits_share: number
}

export type QuotaReport = {
  communities: Array<QuotaGroup>
  grids: Array<QuotaGroup>
  members: Array<QuotaView>
  /** `YYYY-MM`. */
  month: string
  region: string
}

/** A grid member's month against their quota. */
export type QuotaView = {
  distance_m: number
  /** Their grids. */
  grids: Array<string>
  /** Hours on patrol (patrols started this month; a running one to now). */
  hours: number
  /** Share of the hours met, 0 to 1. */
  hours_share: number
  /** Both met in full. */
  met: boolean
  name: string
  patrols: number
  person: number
  quota: Quota
  /** Places visited this month. */
  visits: number
  /** Share of the visits met, 0 to 1. */
  visits_share: number
}

export type RateAnswer = {
  rating: number | null
  state: CaseState
}

export type RateBody = {
  comment?: string | null
  score: number
}

export type ReadAnswer = {
  /** Notices marked read now. */
  changed: number
  /** Notices still unread. */
  unread: number
}

/** What an inspection recorded. */
export type Recorded = {
  inspection: InspectionView
  /** Open hazards it judged: closed when put right, back to the department when not. */
  judged: Array<HazardCase>
  /** Hazards opened by its failures, each a case dispatched to the department that answers
   * for it. */
  opened: Array<HazardCase>
  /** Sent before with the same key: nothing new was written. */
  repeated: boolean
}

/** Where a redemption stands. */
export type RedemptionState = "pending" | "handed_over" | "cancelled"

/** A reward redeemed. */
export type RedemptionView = {
  /** RFC 3339 */
  at: string
  cost: i64
  /** When it was handed over or cancelled (RFC 3339). */
  done_at?: string | null
  id: number
  /** One may cancel it now (points and stock given back). */
  may_cancel: boolean
  /** One may hand it over now. */
  may_hand_over: boolean
  note?: string | null
  person: number
  /** In clear to the staff who hand it over and to the person; masked (张*) otherwise. */
  person_name: string
  /** Where it is handed over. */
  region: string
  reward: number
  reward_name: string
  reward_name_en?: string | null
  state: RedemptionState
}

export type RefuseInput = {
  /** Why (told to the volunteer). */
  reason: string
}

/** A region code: 6 digits (district, GB/T 2260), then 3 for the street or town, 3 for the
 * community or village, 3 for the grid. Stored in its short form (6, 9, 12 or 15 digits) so that
 * "is in the subtree of" is a prefix test. The padded 15-digit form (`330483101000000`) is accepted
 * and shortened. */
export type RegionCode = string

/** `GET /regions/{code}/history`. */
export type RegionHistoryAnswer = {
  /** Retired regions whose area it took over. */
  predecessors: Array<LineageView>
  region: HistoryRegion
  /** Where its area went when it was retired. */
  successors: Array<LineageView>
  /** Earlier names and geometries, newest first. */
  versions: Array<RegionVersionView>
}

export type RegionItem = {
  code: string
  /** GeoJSON geometry, with `geometry=true`. */
  geometry?: Record<string, unknown> | null
  level: RegionLevel
  name: string
  name_en?: string | null
  parent?: string | null
}

/** Level of a node in the region tree. */
export type RegionLevel = "district" | "street" | "community" | "grid"

export type RegionList = {
  items: Array<RegionItem>
}

export type RegionName = {
  code: string
  level: RegionLevel
  name: string
  name_en: string | null
}

/** An earlier name and geometry, valid until an import changed it. */
export type RegionVersionView = {
  geometry: Record<string, unknown> | null
  /** The import that ended it. */
  import: number
  name: string
  valid_from: string | null
  valid_to: string
}

/** Why a report was not accepted. */
export type Rejection = "invalid" | "outside_area" | "duplicate"

export type ReplayAnswer = {
  id: number
  /** Always `pending`. */
  status: string
}

/** The answer to a report. */
export type ReportAnswer = {
  case: CaseView
  outside_jurisdiction: boolean
  possible_duplicates: Array<PossibleDuplicate>
  /** Follow the case with `GET /track/{code}`; shown once. */
  tracking_code: string
}

export type ReportBody = ({
  address?: string | null
  anonymous?: boolean
  category?: number | null
  contact_name?: string | null
  contact_phone?: string | null
  /** The coordinate system of `lat`/`lon`: `wgs84` (GPS, the default), `gcj02` (AMap, Tencent,
   * WeChat) or `bd09` (Baidu). Stored as WGS-84. */
  crs?: "wgs84" | "gcj02" | "bd09" | null
  description: string
  lat?: number | null
  lon?: number | null
  /** Ids of photos uploaded before (`POST /media`), at most nine. */
  photos?: Array<string>
  urgency?: null | Urgency
}) & ({
  lat: number
  lon: number
} | {
  address: string
})

export type ReportForm = ({
  address?: string
  anonymous?: boolean
  category?: number
  contact_name?: string
  contact_phone?: string
  /** `wgs84` (the default), `gcj02` or `bd09`. */
  crs?: "wgs84" | "gcj02" | "bd09"
  description: string
  lat?: number
  lon?: number
  /** Up to nine image files (JPEG, PNG or WebP). */
  photos?: Array<string>
  urgency?: Urgency
}) & ({
  lat: number
  lon: number
} | {
  address: string
})

/** New reports taken for one problem, first report first. */
export type ReportGroup = {
  cases: Array<CaseView>
  /** Distinct reporters (anonymous and hotline reports count one each). */
  reporters: number
}

export type ReportGroups = {
  /** Groups of two reports or more, the largest first. */
  items: Array<ReportGroup>
}

/** Who answers for a grid now. */
export type Responsible = {
  /** The grid members, or the community's grid leaders when the grid has none. */
  accountable: Array<AssignedPerson>
  /** The grid has no grid member: the community's grid leaders answer for it. */
  fallback: boolean
  grid_leaders: Array<AssignedPerson>
  grid_members: Array<AssignedPerson>
}

/** The answer to one item as stored, with the hazard it opened or judged. */
export type ResultView = {
  hazard_case?: number | null
  item: string
  note?: string | null
  outcome: Outcome
  photos: Array<string>
}

export type RevealAnswer = {
  /** The contact details left with the report, in clear. */
  contact: ContactView
  reporter: null | RevealedReporter
}

export type RevealedReporter = {
  id: number
  name: string
  phone: string | null
}

/** A reward of the catalogue as an admin writes it. */
export type RewardData = {
  /** Offered to residents now. */
  active?: boolean
  /** Points it costs (1 to 100,000). */
  cost: number
  description?: string | null
  /** The name (zh), 1 to 100 characters. */
  name: string
  /** The name in English; none: the Chinese one. */
  name_en?: string | null
  /** How many are left to redeem (0 to 100,000). */
  stock: number
}

/** A reward of the catalogue. */
export type RewardView = {
  active: boolean
  cost: i64
  description?: string | null
  id: number
  /** One may change it (`PUT /rewards/{id}`). */
  may_edit: boolean
  name: string
  name_en?: string | null
  /** Where it is handed over (a community or grid). */
  region: string
  /** How many are left. */
  stock: number
}

/** The safety risk a grid member assesses for a place. */
export type RiskLevel = "low" | "medium" | "high"

/** A place's or house's safety file: what it is, the check list to inspect it with, when it is
 * due, its hazards and its inspections. */
export type SafetyFile = {
  checklist?: null | ChecklistView
  due_at?: string | null
  /** Newest first; the open ones are judged by the next inspection. */
  hazards: Array<HazardView>
  /** Newest first (at most 50), without their answers. */
  inspections: Array<InspectionView>
  /** Whether the person asking may inspect it (or, for its social unit, inspect it themselves). */
  may_inspect: boolean
  /** Spot checks of the social unit's self-inspections, newest first. */
  spot_checks: Array<SpotCheckView>
  subject: SubjectView
}

export type SenderRevealed = {
  sender_name?: string | null
  sender_phone?: string | null
}

/** A question a category asks of a report (Open311 "service definition" attribute). */
export type ServiceAttribute = {
  code: string
  datatype: Datatype
  datatype_description?: string | null
  description: string
  /** Position in the form, 1 first; unique within the category. */
  order: number
  required?: boolean
  values?: Array<Choice>
  /** `false`: the attribute only informs (shown with the description), it takes no input. */
  variable?: boolean
}

/** A service log. */
export type ServiceLogView = {
  /** YYYY-MM-DD */
  date: string
  decided_at?: string | null
  hours: number
  id: number
  /** RFC 3339 */
  logged_at: string
  person_id: number
  /** In clear for the volunteer and those who confirm. */
  person_name: string
  place_id?: number | null
  /** What the confirmation earned (0 when the day's cap of points was reached). */
  points?: number | null
  /** Why it was refused. */
  reason?: string | null
  region: string
  state: ServiceState
  team_id: number
  team_name: string
  what: string
}

/** The state of a service log. */
export type ServiceState = "pending" | "confirmed" | "refused"

export type SessionAnswer = {
  person: PersonView
  /** A bearer token; also set as the HttpOnly `gk_session` cookie (with the `gk_csrf` cookie). */
  token: string
}

/** How grave a failed item is. */
export type Severity = "minor" | "major" | "critical"

/** How a report reached the platform. */
export type Source = "resident" | "grid_member" | "social_unit" | "hotline" | "exchange"

/** A spot check of a social unit's self-inspection. */
export type SpotCheckView = {
  /** The grid member's inspection that made it, once made. */
  checked_by?: number | null
  /** Items the unit passed that the spot check failed: the self-inspection is contradicted. */
  contradicted: Array<string>
  due_at: string
  self_inspection: number
}

/** A resident's vote on a consultation. */
export type Stance = "support" | "oppose"

export type StartInput = {
  /** One of one's own grids (a grid member's grid, or a grid of a grid leader's community). */
  grid: string
}

export type String = string

/** What an inspection looks at: a place of the registry, or a house (a rental's safety). */
export type SubjectKind = "place" | "house"

/** The place or house inspected. */
export type SubjectView = {
  address: string
  grid: string
  id: number
  /** The place's kind, or the house's use. */
  kind: string
  lat: number
  lon: number
  name: string
  risk: RiskLevel
  subject: SubjectKind
}

/** Suggested categories for a text. */
export type SuggestAnswer = {
  /** The most probable first, at most three; empty when the text says nothing the model knows. */
  categories: Array<CategoryScore>
  /** The first is probable enough to be offered first. */
  confident: boolean
  /** Words and characters of the text that weighed most for the first. */
  evidence: Array<string>
  /** `trained` or `untrained` (then no categories). */
  state: string
}

export type SuggestBody = {
  /** What the reporter wrote, in any language and of any length (only the first 2,000
   * characters are read). */
  description: string
}

/** A supervision order (督办) waiting for its response. Unanswered by `respond_by`, it escalates
 * one level up the region tree. */
export type SupervisionOrder = {
  /** Who ordered it; `None` when the system did, for an overdue case. */
  by: number | null
  /** The region whose supervisors follow the order. */
  level: RegionCode
  ordered_at: string
  respond_by: string
}

/** A grid reporting a category (or anything) far more often than its own history makes likely. */
export type SurgeView = {
  /** The category's class; null: all the grid's reports together. */
  category?: number | null
  /** Reports on the day (so far, for today). */
  count: number
  /** Reports expected on such a day. */
  expected: number
  /** The local day, RFC 3339 instants: the cases behind it were reported in [from, to). */
  from: string
  grid: string
  /** P(at least `count`) on such a day, under the grid's own history. */
  p_value: number
  to: string
}

export type Surges = {
  /** The test: `alpha` (largest p-value alerted), `min_count`, `weeks` of history. */
  alpha: number
  /** Surges, the least likely first. */
  items: Array<SurgeView>
  min_count: number
  region: string
  weeks: number
}

/** The campaign a task belongs to. */
export type TaskCampaign = {
  id: number
  name: string
}

/** A place or house due for inspection. */
export type TaskView = {
  campaign?: null | TaskCampaign
  /** Metres from the position given, when one was. */
  distance_m?: number | null
  due_at: string
  /** Days between planned inspections (0: a spot check, or a campaign task of a place the plan
   * does not cover). */
  every_days: number
  /** What the task is: a planned inspection (`routine`), a spot check of a social unit's
   * self-inspection (`spot_check`), or the unit's own self-inspection (`self`). */
  kind: InspectionKind
  last_at?: string | null
  overdue: boolean
  subject: SubjectView
}

/** A team's figures month by month. */
export type TeamFigures = {
  kind: TeamKind
  months: Array<MonthFigures>
  name: string
  region: string
  team_id: number
}

export type TeamInput = {
  kind: TeamKind
  /** Default: the region's name and the kind's (乌镇社区志愿者队伍). */
  name?: string | null
  /** A grid or a community. */
  region: string
}

/** The kind of a team. */
export type TeamKind = "party_workers" | "grid_members" | "auxiliary_police" | "security_guards" | "volunteers"

export type TeamList = {
  /** By region, kind and when they were created. */
  items: Array<TeamView>
  /** One may create teams here. */
  may_keep: boolean
}

export type TeamMeasures = {
  from: string
  /** Per member and team, most confirmed hours first. */
  people: Array<PersonFigures>
  region: string
  teams: Array<TeamFigures>
  to: string
}

/** A team with its current members. */
export type TeamView = {
  id: number
  kind: TeamKind
  /** One may confirm the hours its members log (a grid leader of its region, or its leader). */
  may_confirm: boolean
  /** One may add and remove members and set their duties. */
  may_keep: boolean
  /** The leader first, then by when they joined. */
  members: Array<MemberView>
  name: string
  /** Service logs awaiting confirmation. */
  pending: number
  /** The grid or community it works in. */
  region: string
  region_name: string
}

/** A text of a notice: a subject (e-mail, inbox title) and a body with `{placeholders}`. */
export type Template = {
  body: string
  subject: string
}

export type TemplateView = {
  body: string
  /** Changed by an admin (else the default text). */
  custom: boolean
  kind: NoticeKind
  locale: string
  subject: string
}

export type Templates = {
  /** The placeholders a text may use, each written `{name}`. */
  placeholders: Array<string>
  templates: Array<TemplateView>
}

/** An event of a case's timeline (internal events only for staff). */
export type TimelineEvent = {
  action: Action
  actor: number | null
  at: string
  /** The action's data: note, reason, deadline, departments, evidence, score... */
  data: Record<string, unknown>
  from: null | CaseState
  seq: number
  to: CaseState
}

/** The reporter's view: the public view plus the answers addressed to the reporter. */
export type TrackedCase = (PublicCase) & ({
  answers: Array<Answer>
  department: null | DepartmentName
  /** The reference of the case this one duplicates. */
  duplicate_of: string | null
  original: null | PublicCase
  rejection: string | null
})

/** A notice that could not be delivered. */
export type Undelivered = {
  /** The urgent article it pushes. */
  article_id?: number | null
  attempts: number
  /** The case it tells of (none for an urgent notice or an overdue inspection). */
  case_id?: number | null
  channel: Channel
  created_at: string
  id: number
  kind: NoticeKind
  last_error?: string | null
  subject: string
}

export type Unsubscribed = {
  /** The channels that kind still comes by (the inbox always). */
  channels: Array<Channel>
  kind: NoticeKind
}

/** The answer to an upload: the photo, or with several files, the list. */
export type Uploaded = MediaView | MediaList

/** How urgent a case is. Decides the deadlines and which clock they run on. */
export type Urgency = "routine" | "urgent" | "emergency"

export type ValidationAnswer = {
  /** The validation report: problems found in the tree. */
  report: Record<string, unknown>
  under: string
  valid: boolean
}

export type VoteInput = {
  /** The voter's grid (in the region consulted), for the tally per grid. */
  grid: string
  stance: Stance
}

export type WebhookBody = {
  /** The actions to send; none: every action. */
  actions?: Array<Action>
  department?: number | null
  /** The region whose cases are sent; when absent, the one region one administers. */
  region?: string | null
  /** The HMAC key, at least 16 characters; generated when not given. */
  secret?: string | null
  /** An http or https URL with a host (the pattern describes host names; an IP address is
   * taken too) */
  url: string
}

/** Webhook subscriptions: `id`, `url`, `filter`, `active`, `created_at`, ... (never the secret). */
export type WebhookList = {
  items: Array<Record<string, unknown>>
}

export type WechatCode = {
  /** The code WeChat gave `/wechat/bind` after the person agreed. */
  code: string
}

export type WithdrawInput = {
  /** Why it is withdrawn (kept in the audit log). */
  reason: string
}

export type i64 = number
