// The whole loop through the web app, each step in the UI of the person who takes it and checked
// in the UI of the next: a resident reports with a photo, the dispatcher accepts and dispatches,
// the department signs and submits evidence, the grid member verifies on site, the dispatcher
// closes, the resident rates. Then: every view at 360 px and 1920 px, language switching without
// a reload, and the size of the resident's first page.

import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import {
  apiAs,
  choose,
  clearArtefacts,
  contextFor,
  field,
  fill,
  launch,
  photo,
  shoot,
  signIn,
  startServer,
  writeArtefact,
} from './harness.mjs'

/** Gzipped JavaScript the resident's first page may load (maps and charts load later): a ratchet
 * on the way to issue 21's 150 KB. Raised from 195 to 205 KB when field work's Chinese texts
 * (inspections, patrols, teams, campaigns) joined the first page's message file (200 KB then):
 * the next step is to load each role's messages with its views. */
const FIRST_PAGE_BUDGET = 205 * 1024

let server, browser
const problems = []
const people = {}
const token = `E2E-${Date.now().toString(36)}`
const loop = {}

/** The centre of a polygon's outer ring (good enough for the demo's convex grids). */
function centre(geometry) {
  const ring = geometry.type === 'Polygon' ? geometry.coordinates[0] : geometry.coordinates[0][0]
  const pts = ring.slice(0, -1)
  return {
    latitude: pts.reduce((s, p) => s + p[1], 0) / pts.length,
    longitude: pts.reduce((s, p) => s + p[0], 0) / pts.length,
  }
}

async function person(name, login, options) {
  const { ctx, problems: p } = await contextFor(browser, server.base, options)
  const page = await ctx.newPage()
  await signIn(page, login)
  people[name] = { ctx, page, problems: p }
  return page
}

before(async () => {
  clearArtefacts()
  server = await startServer()
  browser = await launch()
  // What the demo town looks like: grid member001's grid, a category with a default department.
  const member = await apiAs(server.base, 'member001')
  const grid = member.person.grants[0].scope.code
  const regions = await member.get('regions?level=grid&geometry=true')
  const g = regions.items.find((r) => r.code === grid)
  const categories = (await member.get('categories')).items
  const category = categories.find((c) => c.code === 'C0101') ?? categories.find((c) => c.parent_id && c.default_department)
  loop.grid = grid
  loop.memberId = member.person.id
  loop.memberName = member.person.name
  loop.community = g.parent
  loop.gridFeatures = {
    type: 'FeatureCollection',
    features: (await member.get(`regions?level=grid&parent=${g.parent}&geometry=true`)).items.map((r) => ({
      type: 'Feature',
      properties: { code: r.code, name: r.name },
      geometry: r.geometry,
    })),
  }
  loop.gridName = g.name
  loop.where = centre(g.geometry)
  loop.category = category
  loop.department = category.default_department
  loop.deptLogin = `dept${String(category.default_department).padStart(2, '0')}`
  const dept = await apiAs(server.base, loop.deptLogin)
  assert.deepEqual(dept.person.grants[0].scope, { type: 'department', id: loop.department })
})

after(async () => {
  for (const p of Object.values(people)) problems.push(...p.problems)
  await browser?.close()
  await server?.stop()
  assert.deepEqual(problems, [], 'page errors or CSP violations')
})

describe('the loop from report to rating', () => {
  it('a resident reports with a photo, located by GPS in the grid', async () => {
    const page = await person('resident', 'resident01', { width: 360, geolocation: loop.where })
    await page.goto('/report')
    await shoot(page, 'resident-report')
    const file = await photo(browser, 'manhole', '#8b5cf6')
    await page.getByTestId('report-photos-file').setInputFiles(file)
    await page.locator('[data-testid="report-photos"] img').first().waitFor()
    await fill(page, 'description', `${token} 井盖破损，有行人绊倒的危险`)
    await page.getByTestId('gps').click()
    await page.getByTestId('located').getByText(loop.gridName).waitFor()
    // The map (Leaflet, loaded only now) draws the grids from GeoJSON and marks the point.
    await page.getByTestId('map-toggle').click()
    await page.locator('.leaflet-container .leaflet-interactive').first().waitFor()
    assert.ok((await page.locator('.leaflet-container .leaflet-interactive').count()) > 50, 'grids drawn')
    assert.equal(await page.locator('.leaflet-tile').count(), 0, 'no tile server by default')
    await shoot(page, 'resident-report-map')
    await choose(page, 'category', loop.category.name)
    await page.getByTestId('urgency').getByText('紧急').click()
    await page.getByTestId('submit-report').click()
    await page.getByTestId('reported').waitFor()
    loop.reference = (await page.getByTestId('reported-reference').innerText()).trim()
    loop.code = (await page.getByTestId('tracking-code').innerText()).trim()
    assert.match(loop.reference, /^\d{6}-\d{4}-\d{6}$/)
    await shoot(page, 'resident-reported')
    // It is among the resident's reports, waiting to be accepted.
    await page.getByTestId('nav-my').click()
    const card = page.getByTestId(`case-${loop.reference}`)
    await card.locator('[data-state="reported"]').waitFor()
    await shoot(page, 'resident-my-reports')
    await card.click()
    await page.getByTestId('case-reference').getByText(loop.reference).waitFor()
    loop.id = Number(new URL(page.url()).pathname.split('/').pop())
  })

  it('the dispatcher finds it in the queue, sees the photo, accepts it by keyboard and dispatches it', async () => {
    const page = await person('dispatcher', 'dispatcher', { width: 1920, height: 1080 })
    await page.goto('/center')
    await fill(page, 'center-search', token)
    await field(page, 'center-search').press('Enter')
    const card = page.getByTestId('queue').getByTestId(`case-${loop.reference}`)
    await card.click()
    await page.getByTestId('center-detail').getByText(token).waitFor()
    await page.locator('[data-testid="center-photos"] img').first().waitFor()
    await page.getByTestId('duplicates').waitFor()
    await shoot(page, 'center-queue')
    // The resident suggested the category; `a` accepts with it.
    await page.locator('body').click({ position: { x: 5, y: 300 } })
    await page.keyboard.press('a')
    await page.getByTestId('board-dispatch').click()
    await page.getByTestId('queue').getByTestId(`case-${loop.reference}`).click()
    await page.getByTestId('open-dispatch').waitFor()
    await page.keyboard.press('p')
    const dialog = page.getByTestId('dispatch-dialog')
    await dialog.getByTestId('deadline-preview').waitFor()
    assert.match(await dialog.getByTestId('deadline-preview').innerText(), /\d{2}:\d{2}/)
    await shoot(page, 'center-dispatch-dialog', [1920])
    await dialog.getByTestId('dispatch-submit').click()
    await dialog.waitFor({ state: 'hidden' })
    await page.goto(`/cases/${loop.id}`)
    await page.locator('[data-testid="case-state"] [data-state="dispatched"]').waitFor()
    // Its place: the coordinates, and one tap into AMap or Baidu Maps (which take WGS-84).
    assert.match(await page.getByTestId('coordinates').innerText(), /30\.\d{6}, 120\.\d{6}/)
    assert.match(await page.getByTestId('open-amap').getAttribute('href') ?? '', /^https:\/\/uri\.amap\.com\/marker\?position=120\.\d{6},30\.\d{6}&name=.+&coordinate=wgs84/)
    assert.match(await page.getByTestId('open-baidu').getAttribute('href') ?? '', /location=30\.\d{6},120\.\d{6}&.*coord_type=wgs84/)
    await shoot(page, 'center-case-dispatched')
  })

  it('a signed-in neighbour shown the same problem nearby follows it instead of reporting it again', async () => {
    const page = await person('follower', 'resident07', { width: 360, geolocation: loop.where })
    await page.goto('/report')
    await fill(page, 'description', '井盖坏了')
    await page.getByTestId('gps').click()
    await page.getByTestId('located').getByText(loop.gridName).waitFor()
    await choose(page, 'category', loop.category.name)
    await page.getByTestId(`follow-duplicate-${loop.reference}`).click()
    await page.getByTestId('followed-duplicate').waitFor()
    await shoot(page, 'report-follow-duplicate', [360])
    const follows = await (await apiAs(server.base, 'resident07')).get('follows')
    assert.ok(follows.some((f) => f.case_id === loop.id), 'the resident follows the case now')
  })

  it('an anonymous neighbour reports the same problem, is told of it, and the dispatcher rejects it as a duplicate', async () => {
    const { ctx, problems: p } = await contextFor(browser, server.base, { width: 360, geolocation: loop.where })
    const page = await ctx.newPage()
    people.neighbour = { ctx, page, problems: p }
    await page.goto('/')
    await page.getByTestId('report-form').waitFor()
    await fill(page, 'description', `${token} 这个井盖又坏了`)
    await page.getByTestId('gps').click()
    await page.getByTestId('located').getByText(loop.gridName).waitFor()
    await choose(page, 'category', loop.category.name)
    // Before sending, the neighbour learns that the same problem is already being handled.
    await page.getByTestId('nearby').getByText(loop.reference).waitFor()
    await shoot(page, 'anonymous-report-nearby')
    await page.getByTestId('submit-report').click()
    await page.getByTestId('reported').waitFor()
    const reference = (await page.getByTestId('reported-reference').innerText()).trim()
    const code = (await page.getByTestId('tracking-code').innerText()).trim()
    // Copying the code says whether it worked (a headless browser may refuse the clipboard).
    await page.getByTestId('copy-code').click()
    await page.locator('.el-message').filter({ hasText: /已复制查询码|无法复制，请记下屏幕上的查询码/ }).waitFor()

    const d = people.dispatcher.page
    await d.goto('/center')
    await fill(d, 'center-search', token)
    await field(d, 'center-search').press('Enter')
    const card = d.getByTestId('queue').getByTestId(`case-${reference}`)
    await card.getByTestId('duplicate-count').waitFor()
    await card.click()
    await d.getByTestId('duplicates').getByText(loop.reference).waitFor()
    await d.locator('body').click({ position: { x: 5, y: 300 } })
    await d.keyboard.press('d')
    await d.getByTestId('reject-original').getByText(loop.reference).waitFor()
    await shoot(d, 'center-duplicate', [1920])
    await d.getByTestId('reject-submit').click()
    await d.getByTestId('queue').getByTestId(`case-${reference}`).waitFor({ state: 'detached' })

    await page.goto(`/track/${code}`)
    await page.getByTestId('tracked').locator('[data-state="rejected"]').waitFor()
    // Told which case handles it, and following that case's progress.
    await page.getByTestId('tracked').getByText(`与案件 ${loop.reference} 重复`).waitFor()
    await page.getByTestId('tracked-original').getByText(loop.reference).waitFor()
    await shoot(page, 'anonymous-track-duplicate', [360])
  })

  it('the console shows a new report live, without reloading', async () => {
    const d = people.dispatcher.page
    await d.goto('/center')
    await d.locator('[data-testid="live"][data-live="on"]').waitFor()
    const marker = await d.evaluate(() => (document.documentElement.dataset.sameDocument = String(Math.random())))
    const r = await fetch(`${server.base}/api/v1/cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        description: `${token} 路灯不亮 (live)`,
        lat: loop.where.latitude,
        lon: loop.where.longitude,
        urgency: 'routine',
      }),
    })
    assert.equal(r.status, 201)
    const reference = (await r.json()).case.reference
    await d.getByTestId('queue').getByTestId(`case-${reference}`).waitFor({ timeout: 5000 })
    assert.equal(await d.evaluate(() => document.documentElement.dataset.sameDocument), marker, 'the page was not reloaded')
    await shoot(d, 'center-live', [1920])
  })

  it('the department signs for it and submits the result with evidence', async () => {
    const page = await person('department', loop.deptLogin, { width: 1920, height: 1080 })
    await page.goto('/dept')
    await page.getByTestId(`sign-${loop.reference}`).waitFor()
    await shoot(page, 'dept-portal')
    await page.getByTestId(`sign-${loop.reference}`).click()
    await page.getByTestId('dept-progress').getByTestId(`case-${loop.reference}`).waitFor({ state: 'attached' })
    await page.goto(`/cases/${loop.id}`)
    await page.locator('[data-testid="case-state"] [data-state="in_progress"]').waitFor()
    // More time is needed: ask the linkage center, which approves it from its board.
    await page.getByTestId('action-request_extension').click()
    const ask = page.getByTestId('dialog-request_extension')
    const until = new Date(Date.now() + 10 * 86400_000)
    const pad = (n) => String(n).padStart(2, '0')
    const local = `${until.getFullYear()}-${pad(until.getMonth() + 1)}-${pad(until.getDate())} 12:00:00`
    await ask.locator('[data-testid="action-until"] input').fill(local)
    await ask.locator('[data-testid="action-until"] input').press('Enter')
    await fill(page, 'action-text', '需要订购新井盖，等待到货')
    await ask.getByTestId('action-submit').click()
    await ask.waitFor({ state: 'hidden' })
    const d = people.dispatcher.page
    await d.goto('/center')
    await d.getByTestId('board-extensions').click()
    await d.getByTestId('queue').getByTestId(`case-${loop.reference}`).click()
    await d.getByTestId('approve-extension').waitFor()
    await d.locator('body').click({ position: { x: 5, y: 300 } })
    await d.keyboard.press('y')
    await d.getByTestId('dialog-approve_extension').getByTestId('action-submit').click()
    await d.getByTestId('queue').getByTestId(`case-${loop.reference}`).waitFor({ state: 'detached' })
    await page.reload()
    await page.getByTestId('timeline').locator('[data-action="approve_extension"]').waitFor()
    await page.getByTestId('action-submit_result').click()
    const dialog = page.getByTestId('dialog-submit_result')
    await dialog.getByTestId('action-evidence-file').setInputFiles(await photo(browser, 'fixed', '#16a34a'))
    await dialog.locator('[data-testid="action-evidence"] img').first().waitFor()
    await fill(page, 'action-text', '已更换新井盖并加固')
    await shoot(page, 'dept-submit-result', [1920])
    await dialog.getByTestId('action-submit').click()
    await page.locator('[data-testid="case-state"] [data-state="resolved"]').waitFor()
    await page.locator('[data-testid="evidence-photos"] img').first().waitFor()
    await shoot(page, 'dept-case-resolved')
  })

  it('the grid member compares report and evidence side by side and passes it', async () => {
    const page = await person('member', 'member001', { width: 360 })
    await page.goto('/member')
    const task = page.getByTestId('verify-tasks').getByTestId(`case-${loop.reference}`)
    await task.waitFor()
    await shoot(page, 'member-home')
    await task.click()
    await page.locator('[data-testid="verify-report-photos"] img').first().waitFor()
    await page.locator('[data-testid="verify-evidence-photos"] img').first().waitFor()
    assert.match(await page.getByTestId('verify-result-note').innerText(), /已更换新井盖/)
    await fill(page, 'verify-note', '现场核查，井盖已更换牢固')
    await shoot(page, 'member-verify')
    await page.getByTestId('verify-pass').click()
    await page.waitForURL('**/member')
    await page.goto(`/cases/${loop.id}`)
    await page.locator('[data-testid="case-state"] [data-state="verified"]').waitFor()
  })

  it('the dispatcher closes it from the board of verified cases', async () => {
    const page = people.dispatcher.page
    await page.goto('/center')
    await page.getByTestId('board-close').click()
    await page.getByTestId('queue').getByTestId(`case-${loop.reference}`).click()
    await page.getByTestId('close-case').waitFor()
    await page.locator('body').click({ position: { x: 5, y: 300 } })
    await page.keyboard.press('c')
    const dialog = page.getByTestId('dialog-close')
    await fill(page, 'action-text', '核查通过，结案')
    await dialog.getByTestId('action-submit').click()
    await dialog.waitFor({ state: 'hidden' })
    await page.goto(`/cases/${loop.id}`)
    await page.locator('[data-testid="case-state"] [data-state="closed"]').waitFor()
  })

  it('the resident sees every step with the evidence and rates it', async () => {
    const page = people.resident.page
    await page.goto(`/cases/${loop.id}`)
    await page.locator('[data-testid="case-state"] [data-state="closed"]').waitFor()
    const timeline = page.getByTestId('timeline')
    for (const action of ['report', 'accept', 'dispatch', 'sign', 'submit_result', 'verify', 'close']) {
      await timeline.locator(`[data-action="${action}"]`).first().waitFor({ state: 'attached' })
    }
    await page.locator('[data-testid="evidence-photos"] img').first().waitFor()
    await page.getByTestId('rate-form').waitFor()
    await shoot(page, 'resident-rate')
    await page.locator('[data-testid="rate-stars"] .el-rate__item').nth(4).click()
    await fill(page, 'rate-comment', '处理很快，谢谢！')
    await page.getByTestId('rate-submit').click()
    await page.locator('[data-testid="case-state"] [data-state="rated"]').waitFor()
    await shoot(page, 'resident-case-rated')
  })

  it('anyone holding the tracking code follows the case to its end', async () => {
    const { ctx, problems: p } = await contextFor(browser, server.base, { width: 360 })
    people.anonymous = { ctx, problems: p }
    const page = await ctx.newPage()
    await page.goto(`/track/${loop.code}`)
    await page.getByTestId('tracked').getByText(loop.reference).waitFor()
    await page.getByTestId('tracked').locator('[data-state="rated"]').waitFor()
    await page.locator('[data-testid="tracked-before"] img').first().waitFor()
    await page.locator('[data-testid="tracked-after"] img').first().waitFor()
    // The reporter is told which department handled it.
    const member = await apiAs(server.base, 'member001')
    const dept = (await member.get('departments')).items.find((d) => d.id === loop.department)
    await page.getByTestId('tracked-department').getByText(dept.name).waitFor()
    await shoot(page, 'anonymous-track')
  })

  it('anyone sees it on the public map of nearby cases, with its photos before and after', async () => {
    const { ctx, problems: p } = await contextFor(browser, server.base, { width: 360 })
    const page = await ctx.newPage()
    people.public = { ctx, page, problems: p }
    await page.goto('/')
    await page.getByTestId('nav-nearby').click()
    await page.locator('.leaflet-container .leaflet-interactive').first().waitFor()
    const item = page.getByTestId(`nearby-${loop.reference}`)
    await item.waitFor()
    await item.getByTestId(`before-${loop.reference}`).locator('img').waitFor()
    await item.getByTestId(`after-${loop.reference}`).locator('img').waitFor()
    // Nothing personal reaches the page: no reporter, no contact.
    const listed = await page.getByTestId('nearby-list').innerText()
    assert.ok(!listed.includes('resident01'), 'no reporter on the public map')
    await shoot(page, 'public-nearby')
    await item.click()
    const detail = page.getByTestId('nearby-detail')
    await detail.getByText(loop.reference).waitFor()
    await detail.locator('[data-testid="detail-before"] img').first().waitFor()
    await detail.locator('[data-testid="detail-after"] img').first().waitFor()
    await detail.getByTestId('public-timeline').getByText('派遣').first().waitFor()
    await shoot(page, 'public-nearby-case')
  })
})

describe('on-the-spot handling', () => {
  it('a grid member handles a problem on the spot, placed by a tap on the map', async () => {
    const { ctx, problems: p } = await contextFor(browser, server.base, { width: 360 })
    const page = await ctx.newPage()
    people.spot = { ctx, page, problems: p }
    await signIn(page, 'member001')
    await page.getByTestId('on-the-spot').click()
    await page.getByTestId('before-photos-file').setInputFiles(await photo(browser, 'rubbish', '#b45309'))
    await page.locator('[data-testid="before-photos"] img').first().waitFor()
    await fill(page, 'spot-description', `${token} 路边堆放垃圾`)
    await choose(page, 'spot-category', loop.category.name)
    await page.getByTestId('map-toggle').click()
    // The map shows the member's own grid; its middle lies in it.
    const map = page.locator('.leaflet-container')
    await map.locator('.leaflet-interactive').first().waitFor()
    await page.waitForTimeout(400)
    await map.click()
    await page.getByTestId('located').getByText(loop.gridName).waitFor()
    await page.getByTestId('after-photos-file').setInputFiles(await photo(browser, 'clean', '#0891b2'))
    await page.locator('[data-testid="after-photos"] img').first().waitFor()
    await fill(page, 'spot-note', '已当场清理')
    await shoot(page, 'member-on-the-spot-filled', [360])
    await page.getByTestId('spot-submit').click()
    await page.getByTestId('case-reference').waitFor()
    await page.locator('[data-testid="case-state"] [data-state="resolved"]').waitFor()
    loop.spot = Number(new URL(page.url()).pathname.split('/').pop())
  })

  it('the grid leader verifies and closes it', async () => {
    const page = await person('leader', 'leader01', { width: 360 })
    await page.goto('/member')
    await page.getByTestId('verify-tasks').locator(`[data-reference]`, { hasText: token }).first().click()
    await page.locator('[data-testid="verify-report-photos"] img').first().waitFor()
    await page.locator('[data-testid="verify-evidence-photos"] img').first().waitFor()
    await page.getByTestId('verify-pass').click()
    await page.waitForURL('**/member')
    await page.goto(`/cases/${loop.spot}`)
    await page.getByTestId('action-close').click()
    await page.getByTestId('dialog-close').getByTestId('action-submit').click()
    await page.locator('[data-testid="case-state"] [data-state="closed"]').waitFor()
    await shoot(page, 'leader-case-closed')
  })
})

describe('serving', () => {
  it('the server answers app routes with the app, and API, health and missing files as such', async () => {
    const get = (path, headers = {}) => fetch(`${server.base}${path}`, { headers })
    for (const path of ['/', '/report', '/cases/1', '/member/verify/1']) {
      const r = await get(path)
      assert.equal(r.status, 200, path)
      assert.match(r.headers.get('content-type') ?? '', /text\/html/, path)
      assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/, path)
      assert.match(await r.text(), /<div id="app">/, path)
    }
    for (const path of ['/api/v1/nope', '/api/nope', '/open311/v2/nope.json', '/assets/missing-0000.js', '/robots.txt']) {
      assert.equal((await get(path)).status, 404, path)
    }
    assert.equal(await (await get('/healthz')).text(), 'ok')
    const html = await (await get('/')).text()
    const script = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1]
    assert.ok(script, 'index.html loads a script')
    const gz = await get(script, { 'accept-encoding': 'gzip' })
    assert.equal(gz.headers.get('content-encoding'), 'gzip')
    assert.match(gz.headers.get('cache-control') ?? '', /immutable/)
    const etag = gz.headers.get('etag') ?? ''
    assert.equal((await get(script, { 'accept-encoding': 'gzip', 'if-none-match': etag })).status, 304)
  })
})

describe('views, languages and weight', () => {
  it('every other view at 360 px and 1920 px', async () => {
    const views = [
      ['anonymous', '/signin', 'signin'],
      ['member', '/member/on-the-spot', 'member-on-the-spot'],
    ]
    for (const [who, path, name] of views) {
      const page = people[who].page ?? (await people[who].ctx.newPage())
      await page.goto(path)
      await page.waitForLoadState('networkidle')
      await shoot(page, name)
    }
    const page = people.dispatcher.page
    await page.goto('/center')
    await page.getByTestId('board-overdue').click()
    await page.waitForLoadState('networkidle')
    await shoot(page, 'center-overdue')
  })

  it('the leadership dashboard shows the measures, a map of grid scores and rankings, and drills down', async () => {
    const page = await person('supervisor', 'supervisor', { width: 1920, height: 1080 })
    await page.goto('/leader')
    const overdue = page.getByTestId('measure-overdue_now')
    await overdue.waitFor()
    await page.getByTestId('measure-on_time_closure_rate').getByText('%').waitFor()
    await page.locator('.leaflet-container .leaflet-interactive').first().waitFor()
    for (const kind of ['department', 'grid', 'grid_member']) {
      await page.getByTestId(`ranking-${kind}`).locator('tbody tr').first().waitFor()
    }
    await page.locator('.trend-chart canvas').first().waitFor()
    await page.waitForLoadState('networkidle')
    await shoot(page, 'leader-dashboard')
    const n = Number((await overdue.locator('.n').innerText()).trim())
    await overdue.click()
    await page.waitForURL((u) => u.searchParams.get('tab') === 'cases' && u.searchParams.get('overdue') === 'true')
    await page.getByTestId('leader-count').getByText(String(n)).waitFor()
    await shoot(page, 'leader-cases')
  })

  it('a resident signs up with a phone number and the code sent by SMS', async () => {
    if (process.env.GK_E2E_BASE) return // the code is read from the server's log
    const { ctx, problems: p } = await contextFor(browser, server.base, { width: 360 })
    const page = await ctx.newPage()
    people.newcomer = { ctx, page, problems: p }
    const phone = `139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`
    await page.goto('/signin?tab=phone')
    await fill(page, 'phone', phone)
    await page.getByTestId('send-code').click()
    let code
    for (let i = 0; i < 50 && !code; i++) {
      code = [...server.log().matchAll(/验证码 (\d{6})/g)].pop()?.[1]
      if (!code) await page.waitForTimeout(100)
    }
    assert.ok(code, 'the demo SMS sender logged a code')
    await fill(page, 'code', code)
    await fill(page, 'name', '新居民')
    await shoot(page, 'signin-phone', [360])
    await page.getByTestId('phone-form').getByTestId('sign-in-code').click()
    await page.getByTestId('report-form').waitFor()
    await page.getByTestId('who').getByText('新居民').waitFor()
  })

  it('an administrator checks the region tree, tries an import, and assigns a grid member to a grid', async () => {
    const page = await person('admin', 'admin', { width: 1920, height: 1080 })
    await page.waitForURL('**/admin')
    await page.getByTestId('admin-validation').locator('.el-tag--success').waitFor()
    await page.locator('.leaflet-container .leaflet-interactive').first().waitFor()
    await page.getByTestId('admin-import-file').setInputFiles({
      name: 'grids.geojson',
      mimeType: 'application/geo+json',
      buffer: Buffer.from(JSON.stringify(loop.gridFeatures)),
    })
    await fill(page, 'admin-under', loop.community)
    await page.getByTestId('admin-import').click()
    await page.getByTestId('admin-import-outcome').getByText(/unchanged: \d+/).waitFor()
    await shoot(page, 'admin-regions')

    await page.getByTestId('admin-tab-responsibility').click()
    // The demo's grid members answer for their grids (one truth with their roles): the grid is
    // no gap until its assignments end, each after a confirmation that says what will happen.
    const rows = page.getByTestId('admin-assignments').locator('tr', { hasText: loop.gridName })
    await rows.first().waitFor()
    const gap = page.getByTestId('admin-gaps').locator(`tr[data-grid="${loop.grid}"]`)
    assert.equal(await gap.count(), 0, 'an assigned grid is no gap')
    while ((await rows.count()) > 0) {
      const n = await rows.count()
      await rows.first().getByTestId('assignment-end').click()
      await page.locator('.gk-confirm').getByText(loop.gridName).waitFor()
      await page.locator('.gk-confirm .el-button--danger').click()
      await page.waitForFunction(
        ([sel, text, before]) =>
          [...document.querySelectorAll(`${sel} tr`)].filter((r) => r.textContent?.includes(text)).length < before,
        ['[data-testid="admin-assignments"]', loop.gridName, n],
      )
    }
    await gap.waitFor()
    // The person is picked by name.
    await choose(page, 'assign-person', loop.memberName)
    await choose(page, 'assign-region', loop.gridName)
    await page.getByTestId('assign-submit').click()
    await rows.first().waitFor()
    await gap.waitFor({ state: 'detached' })
    await shoot(page, 'admin-responsibility')

    await page.getByTestId('admin-tab-organisation').click()
    await page.getByTestId('admin-categories').getByText(loop.category.name).waitFor()
    await shoot(page, 'admin-organisation')
  })

  it('an administrator creates a department and a category, and an account with a role, then gives it another', async () => {
    const page = people.admin.page
    await page.getByTestId('admin-tab-organisation').click()
    await page.getByTestId('department-new').click()
    await fill(page, 'department-code', 'E2EW')
    await fill(page, 'department-name', '桐乡水务公司')
    await fill(page, 'department-name-en', 'Tongxiang Water')
    await page.getByTestId('department-save').click()
    await page.getByTestId('department-dialog').waitFor({ state: 'hidden' })
    await page.getByTestId('department-E2EW').getByText('桐乡水务公司').waitFor()

    const classCode = loop.category.code.slice(0, 3)
    await page.getByTestId(`category-new-${classCode}`).click()
    await fill(page, 'category-code', `${classCode}E2E`)
    await fill(page, 'category-name', '消防栓损坏')
    await fill(page, 'category-name-en', 'Broken fire hydrant')
    await choose(page, 'category-department', '桐乡水务', '桐乡水务公司')
    await fill(page, 'category-routine', '48')
    await fill(page, 'category-emergency', '2')
    await shoot(page, 'admin-category-dialog', [1920])
    await page.getByTestId('category-save').click()
    await page.getByTestId('category-dialog').waitFor({ state: 'hidden' })
    const row = page.getByTestId(`category-${classCode}E2E`)
    await row.getByText('桐乡水务公司').waitFor()
    await row.getByText('48 / 24 / 2 h').waitFor()
    await shoot(page, 'admin-organisation-edited')

    await page.getByTestId('admin-tab-people').click()
    await page.getByTestId('admin-people').locator('tr[data-testid^="person-"]').first().waitFor()
    await fill(page, 'person-new-login', 'e2e_dispatcher')
    await fill(page, 'person-new-name', '测试调度员')
    await choose(page, 'person-new-role', '', '联动中心调度员')
    await choose(page, 'person-new-scope', loop.gridName)
    await page.getByTestId('person-create').click()
    const password = (await page.getByTestId('person-password').innerText()).trim()
    const signIn = await fetch(`${server.base}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'e2e_dispatcher', password }),
    })
    assert.equal(signIn.status, 200, 'the new account signs in with the password shown')
    const person = page.getByTestId('person-e2e_dispatcher')
    await person.locator(`[data-grant="dispatcher@region:${loop.grid}"]`).waitFor()
    await page.getByTestId('grant-e2e_dispatcher').click()
    await choose(page, 'grant-role', '', '网格员')
    await choose(page, 'grant-scope', loop.gridName)
    await page.getByTestId('grant-submit').click()
    await person.locator(`[data-grant="grid_member@region:${loop.grid}"]`).waitFor()
    await shoot(page, 'admin-people')
  })

  it('switching the language changes every text at once, without reloading', async () => {
    const page = people.dispatcher.page
    await page.goto('/center')
    await page.getByTestId('board-queue').getByText('待受理').waitFor()
    await page.evaluate(() => {
      /** @type {any} */ (window).__sameDocument = true
    })
    await page.getByTestId('lang-en').click()
    await page.getByTestId('board-queue').getByText('New reports').waitFor()
    await page.getByTestId('nav-center').getByText('Linkage center').waitFor()
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).__sameDocument), true, 'the page was reloaded')
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en')
    await shoot(page, 'center-english')
    await page.getByTestId('lang-zh-CN').click()
    await page.getByTestId('board-queue').getByText('待受理').waitFor()
  })

  it(`the resident's first page loads at most ${FIRST_PAGE_BUDGET / 1024} KB of gzipped JavaScript`, async () => {
    const { ctx, problems: p } = await contextFor(browser, server.base, { width: 360 })
    people.firstPage = { ctx, problems: p }
    const page = await ctx.newPage()
    const scripts = []
    page.on('response', async (r) => {
      if (r.request().resourceType() === 'script') scripts.push(r)
    })
    await page.goto('/')
    await page.getByTestId('report-form').waitFor()
    await page.waitForLoadState('networkidle')
    const sizes = []
    for (const r of scripts) {
      const body = await r.body()
      sizes.push({
        url: new URL(r.url()).pathname,
        bytes: body.length,
        gzip: gzipSync(body, { level: 9 }).length,
        served: r.headers()['content-encoding'] ?? 'identity',
      })
    }
    const total = sizes.reduce((s, x) => s + x.gzip, 0)
    writeArtefact('first-page.json', { total_gzip_bytes: total, budget: FIRST_PAGE_BUDGET, scripts: sizes })
    console.log(`resident first page: ${sizes.length} scripts, ${(total / 1024).toFixed(1)} KB gzipped`)
    assert.ok(total <= FIRST_PAGE_BUDGET, `first page loads ${total} gzipped bytes of JavaScript`)
    assert.ok(!sizes.some((s) => /GridMap|StatsChart|leaflet|echarts/i.test(s.url)), 'maps or charts loaded up front')
    // The build writes a gzip twin of every file over 1 KB; the server sends it.
    assert.ok(sizes.every((s) => s.bytes < 1024 || s.served === 'gzip'), 'the server gzips scripts')
  })
})
