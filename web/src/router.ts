import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { homeOf, loadSession, session } from './state/session'
import type { Role } from './api/types'

declare module 'vue-router' {
  interface RouteMeta {
    /** Signed-in people holding one of these roles (any signed-in person when empty). */
    roles?: Role[]
    /** Anyone, signed in or not. */
    public?: boolean
    title?: string
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/', name: 'home', component: () => import('./views/HomeView.vue'), meta: { public: true } },
  { path: '/signin', name: 'signin', component: () => import('./views/SignIn.vue'), meta: { public: true, title: 'nav.signIn' } },
  {
    path: '/report',
    name: 'report',
    component: () => import('./views/resident/ReportView.vue'),
    meta: { public: true, title: 'nav.report' },
  },
  {
    path: '/track/:code?',
    name: 'track',
    component: () => import('./views/resident/TrackView.vue'),
    meta: { public: true, title: 'nav.track' },
  },
  {
    path: '/nearby',
    name: 'nearby',
    component: () => import('./views/resident/NearbyView.vue'),
    meta: { public: true, title: 'nav.nearby' },
  },
  {
    path: '/grid-card',
    name: 'grid-card',
    component: () => import('./views/resident/GridCardView.vue'),
    meta: { public: true, title: 'gridCard.title' },
  },
  { path: '/me/card', name: 'my-card', component: () => import('./views/member/MyCardView.vue'), meta: { title: 'myCard.title' } },
  {
    path: '/community',
    name: 'community',
    component: () => import('./views/participation/CommunityView.vue'),
    meta: { public: true, title: 'nav.community' },
  },
  {
    path: '/articles/:id',
    name: 'article',
    component: () => import('./views/participation/ArticlePage.vue'),
    meta: { public: true, title: 'nav.article' },
  },
  {
    path: '/consultations/:id',
    name: 'consultation',
    component: () => import('./views/participation/ConsultationPage.vue'),
    meta: { public: true, title: 'nav.consultation' },
  },
  {
    path: '/proposals/:id',
    name: 'proposal',
    component: () => import('./views/participation/ProposalPage.vue'),
    meta: { public: true, title: 'nav.proposal' },
  },
  {
    path: '/natives',
    name: 'natives',
    component: () => import('./views/participation/NativesView.vue'),
    meta: { public: true, title: 'natives.title' },
  },
  {
    path: '/participation',
    name: 'participation',
    component: () => import('./views/participation/ParticipationManage.vue'),
    meta: { roles: ['grid_leader', 'dispatcher', 'admin'], title: 'nav.participation' },
  },
  { path: '/my', name: 'my', component: () => import('./views/resident/MyReports.vue'), meta: { title: 'nav.my' } },
  { path: '/points', name: 'points', component: () => import('./views/resident/MyPoints.vue'), meta: { title: 'points.title' } },
  {
    path: '/member/rewards',
    name: 'reward-desk',
    component: () => import('./views/member/RewardHandOver.vue'),
    meta: { roles: ['grid_member', 'grid_leader', 'admin'], title: 'points.desk' },
  },
  { path: '/inbox', name: 'inbox', component: () => import('./views/notices/InboxView.vue'), meta: { title: 'inbox.title' } },
  {
    path: '/inbox/settings',
    name: 'notice-settings',
    component: () => import('./views/notices/NoticeSettingsView.vue'),
    meta: { title: 'noticeSettings.title' },
  },
  {
    path: '/wechat/bind',
    name: 'wechat-bind',
    component: () => import('./views/notices/WechatBind.vue'),
    meta: { title: 'noticeSettings.bind' },
  },
  {
    path: '/unsubscribe',
    name: 'unsubscribe',
    component: () => import('./views/notices/UnsubscribeView.vue'),
    meta: { public: true, title: 'unsubscribe.title' },
  },
  { path: '/cases/:key', name: 'case', component: () => import('./views/CaseView.vue'), meta: { title: 'nav.case' } },
  {
    path: '/member',
    name: 'member',
    component: () => import('./views/member/MemberHome.vue'),
    meta: { roles: ['grid_member', 'grid_leader'], title: 'nav.member' },
  },
  {
    path: '/member/inspections',
    name: 'inspection-tasks',
    component: () => import('./views/inspections/InspectionTasks.vue'),
    // Grid members and leaders, team members with the inspect duty, social units (their own place).
    meta: { title: 'inspect.tasks' },
  },
  {
    path: '/inspect/:subject/:id',
    name: 'inspect',
    component: () => import('./views/inspections/InspectView.vue'),
    meta: { title: 'inspect.title' },
  },
  {
    path: '/safety/:subject/:id',
    name: 'safety-file',
    component: () => import('./views/inspections/SafetyFileView.vue'),
    meta: { title: 'safety.title' },
  },
  {
    path: '/member/on-the-spot',
    name: 'on-the-spot',
    component: () => import('./views/member/OnTheSpot.vue'),
    meta: { roles: ['grid_member'], title: 'nav.onTheSpot' },
  },
  {
    path: '/member/verify/:key',
    name: 'verify',
    component: () => import('./views/member/VerifyView.vue'),
    meta: { roles: ['grid_member', 'grid_leader'], title: 'nav.verify' },
  },
  {
    path: '/member/patrol',
    name: 'patrol',
    component: () => import('./views/member/PatrolView.vue'),
    meta: { roles: ['grid_member', 'grid_leader'], title: 'patrol.title' },
  },
  {
    path: '/patrols/:id',
    name: 'patrol-page',
    component: () => import('./views/member/PatrolPage.vue'),
    meta: { roles: ['grid_member', 'grid_leader'], title: 'patrol.detail' },
  },
  {
    path: '/center',
    name: 'center',
    component: () => import('./views/center/CenterConsole.vue'),
    meta: { roles: ['dispatcher'], title: 'nav.center' },
  },
  {
    path: '/center/hotline',
    name: 'hotline',
    component: () => import('./views/center/HotlineView.vue'),
    meta: { roles: ['dispatcher'], title: 'nav.hotline' },
  },
  {
    path: '/dept',
    name: 'dept',
    component: () => import('./views/dept/DeptPortal.vue'),
    meta: { roles: ['department_staff', 'department_head'], title: 'nav.dept' },
  },
  {
    path: '/leader',
    name: 'leader',
    component: () => import('./views/leader/LeaderView.vue'),
    meta: { title: 'nav.leader' },
  },
  {
    path: '/admin',
    name: 'admin',
    component: () => import('./views/admin/AdminView.vue'),
    meta: { roles: ['admin'], title: 'nav.admin' },
  },
  // the five teams (五支队伍): kept by grid leaders and admins; members log their service hours
  {
    path: '/teams',
    name: 'teams',
    component: () => import('./views/teams/TeamsView.vue'),
    meta: { roles: ['grid_leader', 'admin'], title: 'teams.title' },
  },
  { path: '/service', name: 'service', component: () => import('./views/resident/MyService.vue'), meta: { title: 'service.title' } },
  // special rectification campaigns (专项整治): run by the linkage center and admins, read by
  // supervisors and analysts, and by grid leaders (their community's part)
  {
    path: '/campaigns',
    name: 'campaigns',
    component: () => import('./views/campaigns/CampaignsView.vue'),
    meta: { roles: ['dispatcher', 'supervisor', 'analyst', 'admin', 'grid_leader'], title: 'campaigns.title' },
  },
  {
    path: '/campaigns/:id(\\d+)',
    name: 'campaign-board',
    component: () => import('./views/campaigns/CampaignBoard.vue'),
    meta: { roles: ['dispatcher', 'supervisor', 'analyst', 'admin', 'grid_leader'], title: 'campaigns.board' },
  },
  { path: '/:rest(.*)*', name: 'not-found', component: () => import('./views/NotFound.vue'), meta: { public: true } },
]

export const router = createRouter({ history: createWebHistory(), routes })

router.beforeEach(async (to) => {
  if (!session.loaded) await loadSession()
  if (to.meta.public) return true
  if (!session.person) return { name: 'signin', query: { next: to.fullPath } }
  const roles = to.meta.roles ?? []
  if (roles.length && !session.person.grants.some((g) => roles.includes(g.role))) return homeOf(session.person)
  return true
})
