// The one way the app talks to the server: JSON over fetch, errors as `ApiError` carrying the
// problem+json body. Signed-in requests ride on the HttpOnly session cookie; every state-changing
// request echoes the `gk_csrf` cookie in `X-CSRF-Token` (double-submit CSRF protection).

import type {
  ActionBody,
  Case,
  CaseDetail,
  CaseFilters,
  Category,
  Department,
  Duplicate,
  Located,
  Media,
  OnTheSpotBody,
  Page,
  Person,
  Platform,
  Problem,
  Region,
  ReportBody,
  Reported,
  SignedIn,
  TrackedCase,
  PublicCase,
  PublicMapItem,
  Action,
  Assessment,
  AssessedKind,
  MeasuresAnswer,
  Assignment,
  AssignRequest,
  Gaps,
  ImportOutcome,
  Validation,
  AdminPerson,
  AdminPersonAnswer,
  NewPersonBody,
  GrantBody,
  DepartmentBody,
  CategoryBody,
  Accuracy,
  CaseSuggestions,
  FoldBody,
  ModelStatus,
  ReportGroup,
  SuggestAnswer,
  Surges,
  FollowBody,
  FollowView,
  Inbox,
  MyNoticeSettings,
  NoticeKind,
  NoticeSettings,
  Templates,
  TemplateView,
  Undelivered,
  Unsubscribed,
  CallBody,
  CallerAdded,
  ArticleInput,
  ArticleKind,
  ArticlePage,
  ArticleView,
  GridReadCount,
  ConsultationInput,
  ConsultationPage,
  ConsultationView,
  CommentPage,
  CommentView,
  Stance,
  ProposalAnswerInput,
  ProposalPage,
  ProposalStatus,
  ProposalView,
  ParticipationAnswer,
  NativeInput,
  NativePage,
  NativeView,
  ChecklistDraft,
  ChecklistImported,
  ChecklistView,
  InspectionInput,
  InspectionView,
  Plan,
  PlanSaved,
  Recorded,
  SafetyFile,
  SubjectKind,
  TaskView,
  LeadKind,
  LeadStatus,
  LeadView,
  CallerBody,
  CallerLookup,
  CallTaken,
  AwardBody,
  CommendationView,
  EntryView,
  Leaderboard,
  MyPoints,
  NewRewardBody,
  PointFlows,
  PointRules,
  RedemptionState,
  RedemptionView,
  RewardData,
  RewardView,
  CardBody,
  CardView,
  GridCard,
  MessageList,
  MessageRequest,
  TeamKind,
  TeamList,
  TeamView,
  MemberView,
  MemberInput,
  ServiceLogView,
  ServiceState,
  MyService,
  LogInput,
  TeamMeasures,
  PatrolView,
  PatrolDetail,
  PatrolPage,
  BatchResult,
  PositionInput,
  MyQuota,
  QuotaReport,
  FieldWorkAnswer,
  FieldWorkBy,
  Quota,
  CampaignBoard,
  CampaignInput,
  CampaignPage,
  CampaignView,
} from './types'

export const API = '/api/v1'

export class ApiError extends Error {
  readonly status: number
  readonly problem: Problem
  constructor(problem: Problem) {
    super(problem.detail || problem.title)
    this.status = problem.status
    this.problem = problem
  }
}

function cookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === name) return decodeURIComponent(v.join('='))
  }
  return undefined
}

/** Called when the server answers 401 to a signed-in request (the session expired). */
let onUnauthorized: (() => void) | undefined
export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f
}

async function problemOf(resp: Response): Promise<Problem> {
  const text = await resp.text()
  try {
    const p = JSON.parse(text) as Problem
    if (typeof p.status === 'number') return p
  } catch {
    // not JSON: fall through
  }
  return { type: 'about:blank', title: resp.statusText, status: resp.status, detail: text.slice(0, 300) }
}

export async function request<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers)
  headers.set('accept', 'application/json, application/problem+json')
  let payload: BodyInit | undefined
  if (body instanceof FormData) {
    payload = body
  } else if (body !== undefined) {
    headers.set('content-type', 'application/json')
    payload = JSON.stringify(body)
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = cookie('gk_csrf')
    if (csrf) headers.set('x-csrf-token', csrf)
  }
  let resp: Response
  try {
    resp = await fetch(path.startsWith('/') ? path : `${API}/${path}`, {
      ...init,
      method,
      headers,
      body: payload ?? init.body,
      credentials: 'same-origin',
    })
  } catch (e) {
    throw new ApiError({ type: 'network', title: 'Network error', status: 0, detail: String(e) })
  }
  if (!resp.ok) {
    const p = await problemOf(resp)
    if (resp.status === 401 && cookie('gk_csrf') && onUnauthorized) onUnauthorized()
    throw new ApiError(p)
  }
  if (resp.status === 204) return undefined as T
  const type = resp.headers.get('content-type') ?? ''
  return (type.includes('json') ? await resp.json() : await resp.text()) as T
}

const get = <T>(path: string, init?: RequestInit) => request<T>('GET', path, undefined, init)
const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {})

function query(params: Record<string, string | number | boolean | (string | number)[] | undefined | null>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue
    if (Array.isArray(v)) v.forEach((x) => q.append(k, String(x)))
    else q.append(k, String(v))
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

export const api = {
  // session
  signIn: (login: string, password: string, totp?: string) =>
    post<SignedIn>('session', totp ? { login, password, totp } : { login, password }),
  requestCode: (phone: string) => post<{ sent: boolean; valid_minutes: number }>('session/code', { phone }),
  signInWithCode: (phone: string, code: string, name?: string) =>
    post<SignedIn>('session/phone', name ? { phone, code, name } : { phone, code }),
  signOut: () => request<void>('DELETE', 'session'),
  me: () => get<{ person: Person; measures: string[]; teams: number[] }>('me'),

  // reference data
  regions: (opts: { level?: string; parent?: string; geometry?: boolean } = {}) =>
    get<Page<Region>>(`regions${query(opts)}`),
  platforms: () => get<Page<Platform>>('platforms'),
  departments: () => get<Page<Department>>('departments'),
  categories: () => get<Page<Category>>('categories'),
  locate: (lat: number, lon: number) => get<Located>(`locate${query({ lat, lon })}`),

  // media
  upload: (file: Blob, name = 'photo.jpg') => {
    const form = new FormData()
    form.append('file', file, name)
    return request<Media>('POST', 'media', form)
  },

  // cases
  report: (body: ReportBody) => post<Reported>('cases', body),
  onTheSpot: (body: OnTheSpotBody) => post<{ case: Case }>('cases/on-the-spot', body),
  cases: (f: CaseFilters = {}) =>
    get<Page<Case>>(
      `cases${query({
        state: f.state,
        region: f.region,
        department: f.department,
        category: f.category,
        urgency: f.urgency,
        overdue: f.overdue,
        attention: f.attention,
        from: f.from,
        to: f.to,
        q: f.q,
        sort: f.sort,
        limit: f.limit,
        cursor: f.cursor,
      })}`,
    ),
  case: (key: string | number) => get<CaseDetail>(`cases/${encodeURIComponent(String(key))}`),
  possibleDuplicates: (key: string | number) => get<Page<Duplicate>>(`cases/${key}/possible-duplicates`),
  duplicatesNear: (lat: number, lon: number, category: number) =>
    get<Page<Duplicate>>(`duplicates${query({ lat, lon, category })}`),
  act: (id: number, action: Action, body: ActionBody = {}) =>
    post<{ case: Case }>(`cases/${id}/actions/${action}`, body),
  reveal: (id: number) =>
    post<{
      reporter: { id: number; name: string; phone: string | null } | null
      contact: { name: string | null; phone: string | null }
    }>(`cases/${id}/reveal`),

  // intelligent triage: suggested categories, groups of reports, surges
  suggest: (description: string) => post<SuggestAnswer>('triage/suggest', { description }),
  caseSuggestions: (key: string | number) => get<CaseSuggestions>(`cases/${key}/suggestions`),
  triageModel: () => get<ModelStatus>('triage/model'),
  retrainTriage: () => post<ModelStatus>('triage/model'),
  triageAccuracy: (p: { from: string; to: string; region?: string }) => get<Accuracy>(`triage/accuracy${query(p)}`),
  triageGroups: (region?: string) => get<{ items: ReportGroup[] }>(`triage/groups${query({ region })}`),
  fold: (key: string | number, body: FoldBody) => post<{ case: Case; duplicates: Case[] }>(`cases/${key}/fold`, body),
  surges: (p: { region?: string; at?: string } = {}) => get<Surges>(`triage/surges${query(p)}`),

  // points and rewards: one's balance, history and redemptions; the catalogue; the hand-over;
  // the admin's rules; volunteer hours; the leaderboard; commendations; the measures
  myPoints: (p: { before?: number; limit?: number } = {}) => get<MyPoints>(`me/points${query(p)}`),
  setLeaderboard: (on: boolean) =>
    request<{ on_leaderboard: boolean }>('PUT', 'me/points/leaderboard', { on_leaderboard: on }),
  myRedemptions: () => get<RedemptionView[]>('me/redemptions'),
  rewards: (p: { region?: string; include_inactive?: boolean } = {}) => get<RewardView[]>(`rewards${query(p)}`),
  createReward: (body: NewRewardBody) => post<RewardView>('rewards', body),
  updateReward: (id: number, body: RewardData) => request<RewardView>('PUT', `rewards/${id}`, body),
  redeem: (id: number) => post<RedemptionView>(`rewards/${id}/redeem`),
  redemptions: (p: { state?: RedemptionState; before?: number; limit?: number } = {}) =>
    get<RedemptionView[]>(`redemptions${query(p)}`),
  handOver: (id: number, note?: string) => post<RedemptionView>(`redemptions/${id}/hand-over`, { note }),
  cancelRedemption: (id: number, note?: string) => post<RedemptionView>(`redemptions/${id}/cancel`, { note }),
  pointRules: () => get<PointRules>('points/rules'),
  putPointRules: (rules: PointRules) => request<PointRules>('PUT', 'points/rules', rules),
  awardPoints: (person: number, body: AwardBody) => post<EntryView>(`people/${person}/points`, body),
  leaderboard: (region: string) => get<Leaderboard>(`points/leaderboard${query({ region })}`),
  pointFlows: (p: { region?: string; from: string; to: string }) => get<PointFlows>(`points/flows${query(p)}`),
  commend: (person: number, region: string, text: string) =>
    post<CommendationView>(`people/${person}/commendations`, { region, text }),
  commendations: (person: number) => get<CommendationView[]>(`people/${person}/commendations`),

  // notifications: the inbox, one's choices, follows; the admin's texts and undelivered notices
  inbox: (p: { before?: number; limit?: number } = {}) => get<Inbox>(`inbox${query(p)}`),
  readNotice: (id: number) => post<{ changed: number; unread: number }>(`inbox/${id}/read`),
  readAllNotices: () => post<{ changed: number; unread: number }>('inbox/read'),
  noticeSettings: () => get<MyNoticeSettings>('me/notices'),
  putNoticeSettings: (settings: NoticeSettings, email: string | null) =>
    request<MyNoticeSettings>('PUT', 'me/notices', { settings, email }),
  bindWechat: (code: string) => post<MyNoticeSettings>('me/wechat', { code }),
  unbindWechat: () => request<MyNoticeSettings>('DELETE', 'me/wechat'),
  follows: () => get<FollowView[]>('follows'),
  follow: (body: FollowBody) => post<FollowView>('follows', body),
  unfollow: (id: number) => request<void>('DELETE', `follows/${id}`),
  noticeTemplates: () => get<Templates>('notices/templates'),
  putNoticeTemplate: (kind: NoticeKind, locale: string, subject: string, body: string) =>
    request<TemplateView>('PUT', `notices/templates/${kind}/${locale}`, { subject, body }),
  resetNoticeTemplate: (kind: NoticeKind, locale: string) =>
    request<TemplateView>('DELETE', `notices/templates/${kind}/${locale}`),
  undeliveredNotices: () => get<Undelivered[]>('notices/undelivered'),
  retryNotice: (id: number) => post<void>(`notices/${id}/retry`),
  unsubscribe: (token: string) => post<Unsubscribed>(`notices/unsubscribe${query({ token })}`),
  // "your grid member": the public card of a point, messages to its people, one's own card
  gridCard: (lat: number, lon: number) => get<GridCard>(`grid-card${query({ lat, lon })}`),
  messageGridMember: (body: MessageRequest) => post<{ id: number }>('grid-card/messages', body),
  myCard: () => get<CardView>('me/card'),
  putMyCard: (body: CardBody) => request<CardView>('PUT', 'me/card', body),
  personCard: (id: number) => get<CardView>(`admin/people/${id}/card`),
  putPersonCard: (id: number, body: CardBody) => request<CardView>('PUT', `admin/people/${id}/card`, body),
  myMessages: (before?: number) => get<MessageList>(`me/messages${query({ before })}`),
  readMessage: (id: number) => post<{ unread: number }>(`me/messages/${id}/read`),
  revealSender: (id: number) =>
    post<{ sender_name: string | null; sender_phone: string | null }>(`me/messages/${id}/reveal`),
  // the hotline entry of the linkage center
  callers: (phone: string, reveal = false) =>
    get<CallerLookup>(`hotline/callers${query({ phone, reveal: reveal || undefined })}`),
  takeCall: (body: CallBody) => post<CallTaken>('hotline/calls', body),
  addCaller: (key: string | number, body: CallerBody) =>
    post<CallerAdded>(`cases/${encodeURIComponent(String(key))}/callers`, body),

  // participation: articles, consultations, proposals
  feed: (p: { grid: string; kind?: ArticleKind; offset?: number; limit?: number }) => get<ArticlePage>(`articles${query(p)}`),
  regionArticles: (code: string, p: { offset?: number; limit?: number } = {}) =>
    get<ArticlePage>(`regions/${code}/articles${query(p)}`),
  article: (id: number, grid?: string) => get<ArticleView>(`articles/${id}${query({ grid })}`),
  publishArticle: (body: ArticleInput) => post<ArticleView>('articles', body),
  updateArticle: (id: number, body: ArticleInput) => request<ArticleView>('PUT', `articles/${id}`, body),
  withdrawArticle: (id: number, reason: string) => post<ArticleView>(`articles/${id}/withdraw`, { reason }),
  articleReads: (id: number) => get<GridReadCount[]>(`articles/${id}/reads`),
  consultations: (grid: string) => get<ConsultationPage>(`consultations${query({ grid })}`),
  regionConsultations: (code: string) => get<ConsultationPage>(`regions/${code}/consultations`),
  consultation: (id: number) => get<ConsultationView>(`consultations/${id}`),
  openConsultation: (body: ConsultationInput) => post<ConsultationView>('consultations', body),
  vote: (id: number, stance: Stance, grid: string) =>
    request<ConsultationView>('PUT', `consultations/${id}/vote`, { stance, grid }),
  comments: (id: number, p: { offset?: number; limit?: number } = {}) =>
    get<CommentPage>(`consultations/${id}/comments${query(p)}`),
  comment: (id: number, body: string, grid: string) => post<CommentView>(`consultations/${id}/comments`, { body, grid }),
  hideComment: (id: number, comment: number, reason: string) =>
    post<void>(`consultations/${id}/comments/${comment}/hide`, { reason }),
  answerConsultation: (id: number, summary: string, answer: string) =>
    post<ConsultationView>(`consultations/${id}/answer`, { summary, answer }),
  proposals: (p: { grid: string; status?: ProposalStatus }) => get<ProposalPage>(`proposals${query(p)}`),
  regionProposals: (code: string, status?: ProposalStatus) =>
    get<ProposalPage>(`regions/${code}/proposals${query({ status })}`),
  myProposals: () => get<ProposalPage>('me/proposals'),
  proposal: (id: number) => get<ProposalView>(`proposals/${id}`),
  propose: (grid: string, title: string, body: string) => post<ProposalView>('proposals', { grid, title, body }),
  supportProposal: (id: number) => post<ProposalView>(`proposals/${id}/support`),
  answerProposal: (id: number, body: ProposalAnswerInput) => post<ProposalView>(`proposals/${id}/answer`, body),
  withdrawProposal: (id: number) => post<ProposalView>(`proposals/${id}/withdraw`),
  natives: (p: { region?: string; offset?: number; limit?: number } = {}) => get<NativePage>(`natives${query(p)}`),
  createNative: (body: NativeInput) => post<NativeView>('natives', body),
  updateNative: (id: number, body: NativeInput) => request<NativeView>('PUT', `natives/${id}`, body),
  nativeLeads: (id: number) => get<LeadView[]>(`natives/${id}/leads`),
  addLead: (id: number, kind: LeadKind, title: string, body: string) =>
    post<LeadView>(`natives/${id}/leads`, { kind, title, body }),
  followUp: (lead: number, note: string, status: LeadStatus) => post<LeadView>(`leads/${lead}/follow-up`, { note, status }),
  inviteNative: (id: number, target: { consultation?: number; proposal?: number }) =>
    post<{ target: string; at: string; sent: boolean }>(`natives/${id}/invitations`, target),
  participationFigures: (p: { from: string; to: string; region?: string }) =>
    get<ParticipationAnswer>(`participation/figures${query(p)}`),

  // field inspections: check lists, the plan, due inspections, safety files
  checklists: () => get<ChecklistView[]>('checklists'),
  checklist: (id: number, version?: number) => get<ChecklistView>(`checklists/${id}${query({ version })}`),
  createChecklist: (body: ChecklistDraft) => post<ChecklistView>('checklists', body),
  reviseChecklist: (id: number, body: ChecklistDraft) => request<ChecklistView>('PUT', `checklists/${id}`, body),
  retireChecklist: (id: number) => post<ChecklistView>(`checklists/${id}/retire`),
  importChecklist: (file: File, p: { subject: SubjectKind; kind: string; name: string; name_en?: string; dry_run?: boolean }) =>
    request<ChecklistImported>('POST', `checklists/import${query(p)}`, undefined, {
      body: file,
      headers: { 'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
    }),
  inspectionPlan: () => get<Plan>('inspection-plan'),
  setInspectionPlan: (plan: Plan) => request<PlanSaved>('PUT', 'inspection-plan', plan),
  inspectionTasks: (p: { days?: number; lat?: number; lon?: number; limit?: number } = {}) =>
    get<TaskView[]>(`inspection-tasks${query(p)}`),
  safetyFile: (subject: SubjectKind, id: number) => get<SafetyFile>(`safety-files/${subject}/${id}`),
  inspection: (id: number) => get<InspectionView>(`inspections/${id}`),
  inspect: (body: InspectionInput) => post<Recorded>('inspections', body),

  // measures of performance and assessment (docs/MEASURES.md)
  measures: (p: { from: string; to: string; region?: string; department?: number; category?: number }) =>
    get<MeasuresAnswer>(`measures${query(p)}`),
  assessment: (kind: AssessedKind, p: { from: string; to: string; region?: string }) =>
    get<Assessment>(`assessment${query({ kind, ...p })}`),

  // administration of regions and responsibility (admins)
  validateRegions: (under: string) => get<Validation>(`regions/validate${query({ under })}`),
  importRegions: (
    geojson: string,
    p: { level: string; code_property: string; name_property?: string; parent_property?: string; under?: string; repair?: boolean; dry_run?: boolean },
  ) =>
    request<ImportOutcome>('POST', `regions/import${query(p)}`, undefined, {
      body: geojson,
      headers: { 'content-type': 'application/geo+json' },
    }),
  regionImports: () => get<Page<{ id: number; at: string; by: number | null; source: string; summary: Record<string, unknown> }>>('regions/imports'),
  assignments: (under: string) => get<Page<Assignment>>(`assignments${query({ under })}`),
  assign: (body: AssignRequest) => post<{ assignment: Assignment }>('assignments', body),
  endAssignment: (id: number) => post<{ assignment: Assignment }>(`assignments/${id}/end`),
  gaps: (under: string) => get<Gaps>(`responsibility/gaps${query({ under })}`),

  // administration of people, departments and categories (admins; every change audited)
  people: (q?: string, after?: string) =>
    get<{ items: AdminPerson[]; next_after?: string | null }>(`admin/people${query({ q, after, limit: 200 })}`),
  createPerson: (body: NewPersonBody) => post<AdminPersonAnswer>('admin/people', body),
  grant: (person: number, body: GrantBody) => post<AdminPersonAnswer>(`admin/people/${person}/grants`, body),
  revoke: (person: number, body: GrantBody) =>
    request<AdminPersonAnswer>('DELETE', `admin/people/${person}/grants${query({ role: body.role, scope: body.scope })}`),
  setDisabled: (person: number, disabled: boolean) =>
    post<AdminPersonAnswer>(`admin/people/${person}/${disabled ? 'disable' : 'enable'}`),
  createDepartment: (body: DepartmentBody) => post<{ department: Department }>('departments', body),
  editDepartment: (id: number, body: DepartmentBody) => request<{ department: Department }>('PUT', `departments/${id}`, body),
  createCategory: (body: CategoryBody) => post<{ category: Category }>('categories', body),
  editCategory: (id: number, body: CategoryBody) => request<{ category: Category }>('PUT', `categories/${id}`, body),

  // the reporter's tracking code
  publicMap: (bbox: string, days = 90) => get<Page<PublicMapItem>>(`public/cases${query({ bbox, days, limit: 200 })}`),
  publicCase: (reference: string) => get<PublicCase>(`public/cases/${encodeURIComponent(reference)}`),
  track: (code: string) => get<TrackedCase>(`track/${encodeURIComponent(code.trim())}`),
  rateTracked: (code: string, score: number, comment?: string) =>
    post<{ state: string; rating: number }>(`track/${encodeURIComponent(code.trim())}/rate`, { score, comment }),

  // the five teams (五支队伍) and volunteers' service hours
  teams: (region: string) => get<TeamList>(`teams${query({ region })}`),
  team: (id: number) => get<TeamView>(`teams/${id}`),
  createTeam: (kind: TeamKind, region: string, name?: string) => post<TeamView>('teams', { kind, region, name }),
  addMember: (team: number, body: MemberInput) => post<MemberView>(`teams/${team}/members`, body),
  setMember: (team: number, person: number, duties: string[], leader: boolean) =>
    request<MemberView>('PUT', `teams/${team}/members/${person}`, { duties, leader }),
  removeMember: (team: number, person: number) => request<void>('DELETE', `teams/${team}/members/${person}`),
  teamLogs: (team: number, state?: ServiceState) => get<ServiceLogView[]>(`teams/${team}/service-logs${query({ state })}`),
  confirmHours: (log: number) => post<ServiceLogView>(`service-logs/${log}/confirm`),
  refuseHours: (log: number, reason: string) => post<ServiceLogView>(`service-logs/${log}/refuse`, { reason }),
  myService: () => get<MyService>('me/service'),
  logHours: (body: LogInput) => post<ServiceLogView>('me/service', body),
  teamMeasures: (region: string, from: string, to: string) => get<TeamMeasures>(`teams/measures${query({ region, from, to })}`),
  // patrols
  patrols: (p: { region?: string; person?: number; month?: string; running?: boolean; offset?: number; limit?: number } = {}) =>
    get<PatrolPage>(`patrols${query(p)}`),
  patrol: (id: number) => get<PatrolDetail>(`patrols/${id}`),
  startPatrol: (grid: string) => post<PatrolView>('patrols', { grid }),
  sendPositions: (id: number, positions: PositionInput[]) => post<BatchResult>(`patrols/${id}/positions`, { positions }),
  endPatrol: (id: number) => post<PatrolView>(`patrols/${id}/end`, {}),
  myQuota: (month?: string) => get<MyQuota>(`patrols/quota${query({ month })}`),
  patrolQuotas: (region: string, month?: string) => get<QuotaReport>(`patrols/quotas${query({ region, month })}`),
  setPatrolQuota: (region: string, quota: Quota) => request<Quota>('PUT', `patrols/quotas/${region}`, quota),
  // special rectification campaigns (专项整治)
  campaigns: (p: { region?: string; offset?: number; limit?: number } = {}) => get<CampaignPage>(`campaigns${query(p)}`),
  campaign: (id: number) => get<CampaignView>(`campaigns/${id}`),
  startCampaign: (body: CampaignInput) => post<CampaignView>('campaigns', body),
  closeCampaign: (id: number, reason?: string) => post<CampaignView>(`campaigns/${id}/close`, { reason: reason || null }),
  campaignBoard: (id: number) => get<CampaignBoard>(`campaigns/${id}/board`),

  // measures of field work (docs/MEASURES.md)
  fieldWork: (p: { region: string; from: string; to: string; by?: FieldWorkBy }) =>
    get<FieldWorkAnswer>(`field-work/measures${query(p)}`),
}

/** Every page of a list, up to `max` items (for boards that filter on the client). */
export async function allCases(f: CaseFilters, max = 600): Promise<Case[]> {
  const out: Case[] = []
  let cursor: string | undefined
  do {
    const page = await api.cases({ ...f, limit: 200, cursor })
    out.push(...page.items)
    cursor = page.next_cursor ?? undefined
  } while (cursor && out.length < max)
  return out
}
