// The web app as its users found it (issue 21): each test walks one finding in the UI of the
// person who made it and fails on the behaviour they saw.

import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { apiAs, choose, contextFor, field, fill, launch, PASSWORD, photo, shoot, signIn, smallTargets, squeezedLinks, startServer } from './harness.mjs'

let server, browser
const problems = []
const contexts = []

async function open(login, options) {
  const { ctx, problems: p } = await contextFor(browser, server.base, options)
  contexts.push({ ctx, problems: p })
  const page = await ctx.newPage()
  if (login) await signIn(page, login)
  return page
}

before(async () => {
  server = await startServer()
  browser = await launch()
})

after(async () => {
  for (const c of contexts) {
    problems.push(...c.problems)
    await c.ctx.close()
  }
  await browser?.close()
  await server?.stop()
  assert.deepEqual(problems, [], 'no script errors and no CSP violations')
})

describe('tried by its users', () => {
  it('every tap target on the phone views is at least 44 × 44 px', async () => {
    const member = await apiAs(server.base, 'member001')
    const [somecase] = (await member.get('cases?limit=1')).items
    const [resolved] = (await member.get('cases?state=resolved&limit=1')).items
    /** @type {Array<[string | null, string[]]>} */
    const views = [
      [null, ['/', '/report', '/track', '/nearby', '/signin', '/signin?tab=phone']],
      ['resident01', ['/report', '/my', '/nearby', '/inbox', '/inbox/settings', '/points']],
      ['member001', ['/member', '/member/on-the-spot', '/member/inspections', `/cases/${somecase.reference}`].concat(resolved ? [`/member/verify/${resolved.reference}`] : [])],
      ['dept01', ['/dept']],
    ]
    const small = []
    for (const [login, paths] of views) {
      const page = await open(login, { width: 360, height: 780 })
      for (const path of paths) {
        await page.goto(path)
        await page.waitForLoadState('networkidle')
        // The report form's map opens on demand: open it, so that its controls are measured too.
        const toggle = page.getByTestId('map-toggle')
        if (await toggle.isVisible()) {
          await toggle.click()
          await page.locator('.leaflet-container').first().waitFor()
        }
        for (const s of await smallTargets(page)) small.push(`${login ?? 'anonymous'} ${path}: ${s}`)
        for (const s of await squeezedLinks(page)) small.push(`${login ?? 'anonymous'} ${path}: the menu's “${s}” squeezed`)
      }
      if (login === 'member001') await shoot(page, 'phone-targets-member', [360])
    }
    assert.deepEqual(small, [], 'tap targets under 44 × 44 px')
  })

  it('no view is wider than a 360 px phone, for any role', async () => {
    const views = [
      ['dispatcher', ['/center']],
      ['supervisor', ['/leader', '/leader?tab=cases']],
      ['admin', ['/admin?tab=regions', '/admin?tab=responsibility', '/admin?tab=people', '/admin?tab=organisation', '/admin?tab=notices', '/admin?tab=checklists']],
    ]
    const wide = []
    for (const [login, paths] of views) {
      const page = await open(login, { width: 360, height: 780 })
      for (const path of paths) {
        await page.goto(path)
        await page.waitForLoadState('networkidle')
        const width = await page.evaluate(() => document.documentElement.scrollWidth)
        if (width > 360) wide.push(`${login} ${path}: ${width} px`)
      }
    }
    assert.deepEqual(wide, [], 'views wider than the phone (the page scrolls sideways)')
  })
})

describe('an administrator', () => {
  it('is asked before taking a role away or disabling an account, told what happens, and can undo', async () => {
    const page = await open('admin', { width: 1920, height: 1080 })
    await page.getByTestId('admin-tab-people').click()
    await fill(page, 'people-search', 'dept01')
    await field(page, 'people-search').press('Enter')
    const row = page.getByTestId('person-dept01')
    const role = row.locator('[data-grant^="department_staff@"]')
    await role.waitFor()
    const box = page.locator('.gk-confirm')

    await role.locator('.el-tag__close').click()
    await box.getByText('dept01').waitFor()
    await shoot(page, 'admin-confirm-revoke', [360, 1920])
    await box.getByRole('button', { name: '取消' }).click()
    await box.waitFor({ state: 'hidden' })
    assert.equal(await role.count(), 1, 'cancelling keeps the role')

    await role.locator('.el-tag__close').click()
    await box.locator('.el-button--danger').click()
    await role.waitFor({ state: 'detached' })
    await page.getByTestId('undo').click()
    await role.waitFor()

    await row.getByTestId('toggle-dept01').click()
    await box.getByText('所有登录立即失效').waitFor()
    await box.getByRole('button', { name: '取消' }).click()
    await box.waitFor({ state: 'hidden' })
    const signIn = await fetch(`${server.base}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'dept01', password: PASSWORD }),
    })
    assert.equal(signIn.status, 200, 'the account is still enabled after cancelling')
  })
})

describe('the dispatcher', () => {
  it('is told of new reports at once, sees an emergency first, and goes on to dispatch what was accepted', async () => {
    const member = await apiAs(server.base, 'member001')
    const grid = member.person.grants[0].scope.code
    const { items } = await member.get(`regions?level=grid&geometry=true`)
    const ring = items.find((r) => r.code === grid).geometry.coordinates.flat(Infinity)
    const [lons, lats] = [ring.filter((_, i) => i % 2 === 0), ring.filter((_, i) => i % 2 === 1)]
    const at = { lat: lats.reduce((a, b) => a + b) / lats.length, lon: lons.reduce((a, b) => a + b) / lons.length }
    const category = (await member.get('categories')).items.find((c) => c.parent_id && c.default_department)
    const report = async (description, urgency) => {
      const r = await fetch(`${server.base}/api/v1/cases`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ description, category: category.id, urgency, ...at }),
      })
      assert.equal(r.status, 201, await r.clone().text())
      return (await r.json()).case.reference
    }

    const page = await open('dispatcher', { width: 1920, height: 1080 })
    await page.goto('/center')
    await page.locator('[data-testid="live"][data-live="on"]').waitFor()
    const routine = await report('路口井盖松动，踩上去会晃。', 'routine')
    const emergency = await report('燃气管道泄漏，闻到很浓的气味，请立即处理！', 'emergency')
    const queue = page.getByTestId('queue')
    await queue.getByTestId(`case-${routine}`).getByTestId('arrived').waitFor()
    await queue.getByTestId(`case-${emergency}`).getByTestId('arrived').waitFor()
    await page.locator('.gk-alarm').getByText(emergency).waitFor()
    await shoot(page, 'center-arrivals', [1920])
    const order = await queue.locator('[data-reference]').evaluateAll((els) => els.map((e) => e.getAttribute('data-reference')))
    assert.equal(order[0], emergency, 'the emergency heads the queue')

    await page.locator('.gk-alarm').click()
    await page.getByTestId('center-detail').getByText(emergency).waitFor()
    // Opened: no longer marked new; the routine report still is.
    await queue.getByTestId(`case-${emergency}`).getByTestId('arrived').waitFor({ state: 'detached' })
    assert.equal(await queue.getByTestId(`case-${routine}`).getByTestId('arrived').count(), 1)
    await page.locator('body').click({ position: { x: 5, y: 300 } })
    await page.keyboard.press('a')
    // Accepted: the console moves on to dispatching the same case.
    await page.locator('[data-testid="board-dispatch"].is-active').waitFor()
    await page.getByTestId('center-detail').getByText(emergency).waitFor()
    await page.getByTestId('open-dispatch').waitFor()
  })
})

describe('a grid leader', () => {
  it('finds the dashboard in the menu, opened on their own community, without refusals', async () => {
    const leader = await apiAs(server.base, 'leader01')
    const community = leader.person.grants.find((g) => g.role === 'grid_leader').scope.code
    const page = await open('leader01', { width: 360, height: 780 })
    const refused = []
    page.on('response', (r) => r.status() === 403 && refused.push(new URL(r.url()).pathname))
    await page.getByTestId('nav-leader').click()
    await page.getByTestId('measure-reports').waitFor()
    await page.getByTestId('ranking-grid').locator('tbody tr').first().waitFor()
    await page.waitForLoadState('networkidle')
    const { items } = await leader.get('regions?level=community')
    const name = items.find((r) => r.code === community).name
    await page.getByTestId('dashboard-region').getByText(name).waitFor()
    assert.equal(await page.locator('.dashboard .el-alert').count(), 0, 'no error on the dashboard')
    assert.deepEqual(refused, [], 'no request refused')
    await shoot(page, 'leader-grid-leader')

    // The analysis report of the community for the last 30 days, from the dashboard, in Chinese
    // with the community's name and local dates.
    await page.getByTestId('open-report').click()
    await page.getByTestId('report-dialog').getByTestId('report-go').waitFor()
    await shoot(page, 'leader-report-dialog', [360])
    const [report] = await Promise.all([page.waitForEvent('popup'), page.getByTestId('report-go').click()])
    await report.waitForLoadState()
    const text = await report.locator('body').innerText()
    assert.match(text, new RegExp(`分析报告：${name}`))
    // Local days of the town (a browser in China asks for whole days; this one runs on UTC, so
    // its midnights are 08:00 there and shown with the hour).
    assert.match(text, /\d{4}-\d{2}-\d{2}( 08:00)? 至 \d{4}-\d{2}-\d{2}/)
    assert.doesNotMatch(text, /Analysis report|T\d{2}:\d{2}:\d{2}/)
    await report.setViewportSize({ width: 794, height: 1123 }) // A4 at 96 dpi
    await shoot(report, 'analysis-report', [794])
  })
})

describe('intelligent triage', () => {
  it('the dispatcher handles the morning flood once: the suggested category with one key, the other reports linked', async () => {
    const d = await apiAs(server.base, 'dispatcher')
    // The server trains on the demo's history when it starts.
    let model
    for (let i = 0; i < 240; i++) {
      model = await d.get('triage/model')
      if (model.state === 'trained' && !model.training) break
      await new Promise((ok) => setTimeout(ok, 500))
    }
    assert.equal(model.state, 'trained', JSON.stringify(model))
    const { items } = await d.get('triage/groups')
    assert.ok(items.length >= 1, 'the demo has a flood in the queue')
    const [first, ...others] = items[0].cases

    const page = await open('dispatcher', { width: 1920, height: 1080 })
    await page.goto('/center')
    await page.getByTestId('queue').getByTestId(`case-${first.reference}`).click()
    const detail = page.getByTestId('center-detail')
    await detail.getByTestId('suggestions').waitFor()
    const group = detail.getByTestId('group')
    await group.waitFor()
    for (const o of others) await group.getByTestId(`group-${o.id}`).waitFor()
    await shoot(page, 'center-flood', [1920])
    const suggested = (await d.get(`cases/${first.id}/suggestions`)).categories[0].category
    await page.locator('body').click({ position: { x: 5, y: 300 } })
    await page.keyboard.press('s')
    await page.locator('[data-testid="board-dispatch"].is-active').waitFor()

    const accepted = (await d.get(`cases/${first.id}`)).case
    assert.equal(accepted.state, 'accepted')
    assert.equal(accepted.category, suggested, 'accepted into the first suggestion')
    for (const o of others) {
      const c = (await d.get(`cases/${o.id}`)).case
      assert.equal(c.state, 'rejected', o.reference)
      assert.equal(c.duplicate_of, first.id, o.reference)
    }
    assert.equal((await d.get('triage/groups')).items.some((g) => g.cases.some((c) => c.id === first.id)), false)
  })

  it('a resident is offered first the categories that fit the words written', async () => {
    const page = await open(null, { width: 360, height: 780 })
    await page.goto('/report')
    await fill(page, 'description', '小区门口路灯不亮，晚上一片漆黑，走路看不清')
    const chips = page.getByTestId('report-suggestions')
    await chips.waitFor()
    const first = chips.locator('button').first()
    const name = (await first.innerText()).trim()
    await shoot(page, 'report-suggestions', [360])
    await first.click()
    await chips.waitFor({ state: 'hidden' })
    await page.getByTestId('category').getByText(name).waitFor()

    // A grid member handling a problem on the spot is offered them too.
    const member = await open('member001', { width: 360, height: 780 })
    await member.goto('/member/on-the-spot')
    await fill(member, 'spot-description', '路边垃圾桶满了溢出来，苍蝇很多')
    await member.getByTestId('spot-suggestions').locator('button').first().click()
    // Chosen: the chips give way to the category in the picker.
    await member.getByTestId('spot-suggestions').waitFor({ state: 'hidden' })
  })
})

describe('notices', () => {
  it('a resident is told in the app that the report was accepted, and chooses how to be told', async () => {
    const resident = await apiAs(server.base, 'resident01')
    const d = await apiAs(server.base, 'dispatcher')
    const near = (await d.get('cases?limit=50')).items.find((x) => x.location && x.category)
    const { case: c } = await resident.post('cases', {
      description: '楼道灯坏了好几天，晚上上下楼很危险',
      lat: near.location.lat,
      lon: near.location.lon,
    })
    await d.post(`cases/${c.id}/actions/accept`, { category: near.category, urgency: 'routine' })

    // The worker fans the step out within a second or so.
    for (let i = 0; i < 100; i++) {
      if ((await resident.get('inbox?limit=5')).items.some((n) => n.case_id === c.id)) break
      await new Promise((ok) => setTimeout(ok, 200))
    }
    const page = await open('resident01', { width: 360, height: 780 })
    await page.goto('/my')
    // The bell in the header counts the unread messages.
    await page.getByTestId('unread').waitFor()
    await page.getByTestId('nav-inbox').click()
    const accepted = page.getByTestId('inbox').getByTestId('notice-accepted').first()
    await accepted.waitFor()
    assert.match(await accepted.innerText(), new RegExp(c.reference))
    assert.doesNotMatch(await accepted.innerText(), /http/, 'in the app, the message itself is the link')
    await shoot(page, 'inbox', [360, 1920])
    const before = (await resident.get('inbox?limit=1')).unread
    await accepted.click()
    await page.waitForURL('**/my')
    assert.equal((await resident.get('inbox?limit=1')).unread, before - 1, 'opening a message marks it read')

    // SMS also when it is solved, no quiet hours, at most 5 a day.
    await page.goto('/inbox/settings')
    await page.getByTestId('sms-solved').waitFor()
    await page.getByTestId('notice-quiet').click()
    await page.getByTestId('notice-save').click()
    await page.getByText('已保存').first().waitFor()
    await shoot(page, 'notice-settings', [360, 1920])
    const mine = await resident.get('me/notices')
    assert.equal(mine.settings.quiet_from, null)
    assert.deepEqual(mine.kinds.find((k) => k.kind === 'solved').channels, ['sms'])
  })

  it('a grid member follows a case from its page, and the admin edits a message text', async () => {
    const member = await apiAs(server.base, 'member001')
    const [somecase] = (await member.get('cases?limit=1')).items
    const page = await open('member001', { width: 360, height: 780 })
    await page.goto(`/cases/${somecase.reference}`)
    await page.getByTestId('follow-case').click()
    await page.getByTestId('follow-case').getByText('已关注').waitFor()
    assert.ok((await member.get('follows')).some((f) => f.case_id === somecase.id))

    const admin = await open('admin', { width: 1920, height: 1080 })
    await admin.goto('/admin?tab=notices')
    const row = admin.getByTestId('template-accepted')
    await row.getByTestId('edit-accepted').click()
    await fill(admin, 'template-subject', '乌镇已受理您反映的问题{reference}')
    await admin.getByTestId('template-save').click()
    await row.getByText('已修改').waitFor()
    await shoot(admin, 'notice-texts', [1920])
    const texts = await (await apiAs(server.base, 'admin')).get('notices/templates')
    assert.equal(texts.templates.find((x) => x.kind === 'accepted' && x.locale === 'zh').subject, '乌镇已受理您反映的问题{reference}')
    // A text with an unknown placeholder is refused, naming the field.
    await row.getByTestId('edit-accepted').click()
    await fill(admin, 'template-body', '{who}')
    await admin.getByTestId('template-save').click()
    await admin.getByTestId('template-error').waitFor()
    await row.getByRole('button', { name: '恢复默认' }).click()
    await row.getByText('已修改').waitFor({ state: 'hidden' })
  })
})

describe('voice reports', () => {
  it('a resident records the problem by voice; the center hears it with the case', async () => {
    const d = await apiAs(server.base, 'dispatcher')
    const near = (await d.get('cases?limit=50')).items.find((x) => x.location && x.grid)
    const page = await open('resident01', {
      width: 360,
      height: 780,
      geolocation: { latitude: near.location.lat, longitude: near.location.lon },
    })
    await page.goto('/report')
    await page.getByTestId('report-photos-voice').click()
    await page.getByTestId('report-photos-recording-now').waitFor()
    await new Promise((ok) => setTimeout(ok, 2000))
    await page.getByTestId('report-photos-stop').click()
    await page.getByTestId('report-photos-recording').locator('audio').waitFor()
    await fill(page, 'description', '语音反映：菜场门口下水道堵了，污水漫到路上')
    await page.getByTestId('gps').click()
    await page.getByTestId('located').waitFor()
    await shoot(page, 'report-voice', [360])
    await page.getByTestId('submit-report').click()
    await page.getByTestId('reported').waitFor()
    const reference = (await page.getByTestId('reported-reference').innerText()).trim()

    const { media } = await d.get(`cases/${reference}`)
    assert.equal(media.length, 1)
    assert.match(media[0].content_type, /^audio\/webm/)
    const center = await open('dispatcher', { width: 1920, height: 1080 })
    await center.goto(`/cases/${reference}`)
    await center.locator('audio').first().waitFor()
    await shoot(center, 'case-voice', [1920])
  })
})

describe('the hotline', () => {
  it('a call-taker looks a resident up by phone, sees their earlier cases masked, registers the call and attaches the next one (360 and 1920 px)', async () => {
    // The resident's number, as the linkage center sees it in clear on one of their reports.
    const resident = await apiAs(server.base, 'resident01')
    const [own] = (await resident.get('cases?limit=1')).items
    assert.ok(own, 'resident01 has reported in the demo')
    const d = await apiAs(server.base, 'dispatcher')
    const session = await fetch(`${server.base}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'dispatcher', password: PASSWORD }),
    })
    const { token } = await session.json()
    const revealed = await fetch(`${server.base}/api/v1/cases/${own.id}/reveal`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    })
    const phone = (await revealed.json()).reporter.phone
    assert.match(phone, /^1\d{10}$/, 'the demo resident has a phone')
    for (const [width, height] of [
      [360, 780],
      [1920, 1080],
    ]) {
      const earlier = await d.get(`hotline/callers?phone=${phone}`)
      assert.ok(earlier.cases.length >= 1, 'the demo has earlier cases from this phone')
      const page = await open('dispatcher', { width, height })
      await page.goto('/center')
      // One tap from the console.
      await page.getByTestId('open-hotline').click()
      await page.waitForURL((u) => u.pathname === '/center/hotline')
      // Typed as people say it; the screen answers with what the platform knows of the number.
      await fill(page, 'hotline-phone', `${phone.slice(0, 3)} ${phone.slice(3, 7)} ${phone.slice(7)}`)
      await page.getByTestId('hotline-lookup').click()
      const found = page.getByTestId('hotline-found')
      await found.waitFor()
      await page.getByTestId('hotline-person').waitFor()
      const listed = page.getByTestId('hotline-case')
      assert.equal(await listed.count(), Math.min(earlier.cases.length, 5), 'the newest five first')
      await listed.first().getByText(earlier.cases[0].case.reference).waitFor()
      // Masked until shown on purpose.
      const person = await page.getByTestId('hotline-person').innerText()
      assert.ok(!person.includes(resident.person.name), `the name is masked: ${person}`)
      if (width === 360) {
        await page.waitForLoadState('networkidle')
        const small = await smallTargets(page)
        assert.deepEqual(small, [], 'tap targets under 44 × 44 px on the hotline screen')
        const wide = await page.evaluate(() => document.documentElement.scrollWidth)
        assert.ok(wide <= 360, `the hotline screen is ${wide} px wide`)
      }
      await shoot(page, 'hotline-lookup', [width])
      if (width === 1920 && earlier.cases.length > 5) {
        await page.getByTestId('hotline-show-all').click()
        await listed.nth(5).waitFor()
        assert.equal(await listed.count(), Math.min(earlier.cases.length, 20))
      }

      // A new problem: described, placed by the address the caller gives (360) or on the map (1920).
      await fill(page, 'hotline-name', '陈阿姨')
      await fill(page, 'hotline-description', `小区门口路灯不亮，晚上一片漆黑（${width}）`)
      if (width === 360) {
        await fill(page, 'hotline-address', '东栅老街 12 号门口')
      } else {
        await page.getByTestId('hotline-form').getByTestId('map-toggle').click()
        const map = page.getByTestId('hotline-form').locator('.leaflet-container')
        await map.waitFor()
        await page.waitForTimeout(500)
        await map.click()
        await page.getByTestId('hotline-form').getByTestId('located').waitFor()
      }
      const chips = page.getByTestId('hotline-suggestions')
      if (await chips.isVisible().catch(() => false)) await chips.locator('button').first().click()
      await shoot(page, 'hotline-form', [width])
      await page.getByTestId('hotline-submit').click()
      const done = page.getByTestId('hotline-done')
      await done.waitFor()
      const reference = (await page.getByTestId('hotline-reference').innerText()).trim()
      const code = (await page.getByTestId('hotline-code').innerText()).trim()
      assert.match(code, /^[\w-]{8,}$/)
      await done.getByTestId('hotline-sms').waitFor()
      await shoot(page, 'hotline-done', [width])
      // Stored as a hotline case with the caller's number as its contact; the caller was texted
      // the code (the demo's SMS sender writes it to the log).
      const stored = (await d.get(`cases/${reference}`)).case
      assert.equal(stored.source, 'hotline')
      assert.equal(stored.contact.phone, `${phone.slice(0, 3)}****${phone.slice(7)}`)
      assert.ok(server.log().includes(code), 'the tracking code went out by SMS')

      // The next call from the same number is about the same problem: attached to the new case.
      await page.getByTestId('hotline-next').click()
      await fill(page, 'hotline-phone', phone)
      await page.getByTestId('hotline-lookup').click()
      const first = page.getByTestId('hotline-case').first()
      await first.getByText(reference).waitFor()
      await first.getByTestId('hotline-attach').click()
      await fill(page, 'hotline-attach-note', '又来电，说路灯还是不亮')
      if (width === 1920) await shoot(page, 'hotline-attach', [width])
      await page.getByTestId('hotline-attach-confirm').click()
      await page.getByTestId('hotline-done').waitFor()
      const attachedCode = (await page.getByTestId('hotline-code').innerText()).trim()
      assert.notEqual(attachedCode, code, 'the second call has its own tracking code')
      const timeline = (await d.get(`cases/${reference}`)).timeline.map((e) => e.action)
      assert.deepEqual(timeline, ['report', 'add_caller'])
    }
  })
})

describe('participation', () => {
  it('a resident follows their grid; the leader\'s urgent notice reaches them as a message that opens it (360 px)', async () => {
    const leaderApi = await apiAs(server.base, 'leader02')
    const community = leaderApi.person.grants.find((g) => g.role === 'grid_leader').scope.code
    const regions = (await leaderApi.get('regions')).items
    const grid = regions.filter((r) => r.level === 'grid' && r.parent === community).sort((a, b) => a.code.localeCompare(b.code))[0]

    // The resident picks their grid on the community page and follows it (the demo may have
    // them following it already: then they stop and follow again).
    const page = await open('resident31', { width: 360, height: 780 })
    await page.goto('/community')
    await choose(page, 'grid-select', grid.name)
    const follow = page.getByTestId('follow-grid')
    await follow.waitFor()
    if ((await follow.innerText()).includes('✓')) {
      await follow.click()
      await page.waitForFunction(() => !document.querySelector('[data-testid="follow-grid"]')?.textContent?.includes('✓'))
    }
    await follow.click()
    await page.waitForFunction(() => document.querySelector('[data-testid="follow-grid"]')?.textContent?.includes('✓'))
    await shoot(page, 'community-follow-grid', [360])
    assert.deepEqual(await smallTargets(page), [], 'tap targets of the community page')

    // The community's grid leader publishes an urgent notice; the form says who will be told.
    const leader = await open('leader02', { width: 1920, height: 1080 })
    await leader.goto('/participation')
    await leader.getByTestId('article-new').click()
    await fill(leader, 'article-title', '今晚八点起临时停电')
    await leader.getByTestId('article-body').click()
    await leader.keyboard.type('因线路抢修，今晚八点至十点停电，请提前做好准备。')
    await leader.getByTestId('article-urgent').click()
    await leader.getByTestId('urgent-hint').waitFor()
    await shoot(leader, 'participation-urgent', [1920])
    await leader.getByTestId('article-save').click()
    await leader.getByTestId('manage-articles').getByText('今晚八点起临时停电').waitFor()

    // The notice worker pushes it within a second or so: the resident's messages have it.
    const resident = await apiAs(server.base, 'resident31')
    for (let i = 0; i < 100; i++) {
      if ((await resident.get('inbox?limit=5')).items.some((n) => n.kind === 'urgent_notice' && n.body.includes('今晚八点起临时停电'))) break
      await new Promise((ok) => setTimeout(ok, 200))
    }
    await page.goto('/inbox')
    // (The demo's own urgent notice of the week is there too, older.)
    const notice = page.getByTestId('inbox').getByTestId('notice-urgent_notice').first()
    await notice.waitFor()
    assert.match(await notice.innerText(), /紧急通知：今晚八点起临时停电/)
    await shoot(page, 'inbox-urgent', [360, 1920])
    await notice.click()
    await page.waitForURL('**/articles/*')
    await page.getByTestId('article-body').getByText('线路抢修').waitFor()
  })

  it('a leader publishes, a resident reads it in the grid feed, votes, comments and proposes; the proposal reaches the agenda and is answered', async () => {
    const leaderApi = await apiAs(server.base, 'leader01')
    const community = leaderApi.person.grants.find((g) => g.role === 'grid_leader').scope.code
    const regions = (await leaderApi.get('regions')).items
    const grid = regions.filter((r) => r.level === 'grid' && r.parent === community).sort((a, b) => a.code.localeCompare(b.code))[0]

    // The community's grid leader publishes a pinned notice with formatted text.
    const leader = await open('leader01', { width: 1920, height: 1080 })
    await leader.goto('/participation')
    await leader.getByTestId('article-new').click()
    await fill(leader, 'article-title', '本周六社区义诊')
    await leader.getByTestId('article-body').click()
    await leader.keyboard.type('周六上午九点，社区服务中心，测血压、血糖。')
    await leader.getByTestId('article-pinned').click()
    await leader.getByTestId('article-save').click()
    await leader.getByTestId('manage-articles').getByText('本周六社区义诊').waitFor()
    await shoot(leader, 'participation-manage', [1920])

    // A resident picks their grid and finds it first in the feed; the article opens.
    const page = await open('resident01', { width: 360, height: 780 })
    await page.goto('/community')
    await choose(page, 'grid-select', grid.name)
    const first = page.getByTestId('feed').locator('a').first()
    await first.waitFor()
    assert.match(await first.innerText(), /本周六社区义诊/)
    await shoot(page, 'community-feed', [360, 1920])
    await first.click()
    await page.getByTestId('article-body').getByText('测血压').waitFor()
    await shoot(page, 'article', [360, 1920])
    const smallOnArticle = await smallTargets(page)

    // The open consultation of the town: vote for it and comment.
    await page.goto('/community?tab=consultations')
    await page.getByTestId('consultations').locator('a').first().click()
    await page.getByTestId('vote-support').click()
    await page.getByTestId('my-vote').waitFor()
    await fill(page, 'comment-text', '建议充电点离楼道远一点。')
    await page.getByTestId('comment-send').click()
    await page.getByTestId('comments').getByText('建议充电点离楼道远一点。').waitFor()
    await shoot(page, 'consultation', [360, 1920])
    const smallOnConsultation = await smallTargets(page)
    assert.deepEqual([...smallOnArticle, ...smallOnConsultation], [], 'tap targets of at least 44 × 44 px')

    // A proposal, supported by 19 neighbours through their phones, and by one more here.
    await page.goto('/community?tab=proposals')
    await page.getByTestId('propose').click()
    await fill(page, 'proposal-title', '小区门口增设快递柜')
    await fill(page, 'proposal-body', '快递堆在门卫室，老人取件不方便。')
    await page.getByTestId('proposal-submit').click()
    await page.waitForURL('**/proposals/*')
    const id = Number(page.url().split('/').pop())
    for (let i = 2; i <= 20; i++) {
      const neighbour = await apiAs(server.base, `resident${String(i).padStart(2, '0')}`)
      await neighbour.post(`proposals/${id}/support`)
    }
    const last = await open('resident21', { width: 360, height: 780 })
    await last.goto(`/proposals/${id}`)
    await last.getByTestId('support').click()
    await last.getByTestId('proposal-status').getByText('已列入议程').waitFor()
    await shoot(last, 'proposal-agenda', [360])

    // On the leader's agenda; answered as accepted.
    await leader.goto('/participation?tab=proposals')
    await leader.getByTestId(`agenda-${id}`).click()
    await fill(leader, 'answer-text', '同意，社区与快递公司对接，下月安装。')
    await leader.getByTestId('answer-send').click()
    await leader.getByTestId('proposal-status').getByText('已采纳').waitFor()
    await shoot(leader, 'proposal-answered', [1920])

    // Anyone reads it without signing in.
    const anonymous = await open(null, { width: 360, height: 780 })
    await anonymous.goto(`/proposals/${id}`)
    await anonymous.getByTestId('proposal-answer').getByText('下月安装').waitFor()

    // The town's leadership sees the participation on the dashboard.
    const boss = await open('supervisor', { width: 1920, height: 1080 })
    await boss.goto('/leader')
    const card = boss.getByTestId('participation-card')
    await card.getByTestId('participation-proposals').locator('tbody tr').first().waitFor()
    await card.scrollIntoViewIfNeeded()
    await shoot(boss, 'dashboard-participation', [1920])
  })

  it('a leader keeps the directory of notable natives; the public sees only what each allowed', async () => {
    const leader = await open('leader01', { width: 1920, height: 1080 })
    await leader.goto('/participation?tab=natives')
    await leader.getByTestId('native-new').click()
    await fill(leader, 'native-name', '沈思远')
    await fill(leader, 'native-expertise', '水利工程')
    await fill(leader, 'native-city', '南京')
    await fill(leader, 'native-phone', '13955551234')
    await leader.getByTestId('native-save').click()
    const card = leader.getByTestId('natives').locator('.native', { hasText: '沈思远' })
    await card.waitFor()
    await card.getByRole('button', { name: /建言与线索/ }).click()
    await fill(leader, 'lead-title', '建议整治西栅河道淤积')
    await fill(leader, 'lead-body', '可用生态清淤，不影响游船。')
    await leader.getByTestId('lead-add').click()
    const lead = leader.locator('.lead', { hasText: '建议整治西栅河道淤积' })
    await lead.waitFor()
    await lead.locator('input').first().fill('已转水利站，约定下周现场查看')
    await lead.getByRole('button', { name: '记录跟进' }).click()
    await lead.getByText('已转水利站').waitFor()
    await shoot(leader, 'natives-leads', [1920])

    // The phone was private by default: the public directory shows the name and expertise only.
    const anonymous = await open(null, { width: 360, height: 780 })
    await anonymous.goto('/natives')
    const entry = anonymous.getByTestId('natives').locator('.native', { hasText: '沈思远' })
    await entry.waitFor()
    assert.match(await entry.innerText(), /水利工程/)
    assert.doesNotMatch(await entry.innerText(), /13955551234/)
    await shoot(anonymous, 'natives', [360, 1920])
    assert.deepEqual(await smallTargets(anonymous), [], 'tap targets of at least 44 × 44 px')
  })
})

describe('points', () => {
  it('a resident sees the balance and history, redeems a reward and the grid member hands it over (360 and 1920 px)', async () => {
    const resident = await apiAs(server.base, 'resident01')
    const admin = await apiAs(server.base, 'admin')
    const catalogue = await resident.get('rewards')
    assert.ok(catalogue.length > 0, 'the demo has a catalogue of rewards')
    // Enough points for two of any reward, whatever the demo's year earned.
    await admin.post(`people/${resident.person.id}/points`, {
      region: '330483101001001',
      award: { kind: 'adjustment', points: 2 * Math.max(...catalogue.map((r) => r.cost)), note: '浏览器测试' },
    })
    const mine = await resident.get('me/points?limit=5')
    assert.ok(mine.entries.length > 0)
    for (const [width, height] of [
      [360, 780],
      [1920, 1080],
    ]) {
      const page = await open('resident01', { width, height })
      await page.goto('/my')
      await page.getByTestId('nav-points').click()
      await page.waitForURL('**/points')
      const balance = page.getByTestId('points-balance')
      await balance.getByText(String((await resident.get('me/points?limit=1')).balance)).waitFor()
      // The catalogue of one's own community first: the first reward in stock there.
      const card = page.getByTestId('points-rewards').locator('[data-testid^="reward-"]:has(button:not([disabled]))').first()
      await card.waitFor()
      const testid = await card.getAttribute('data-testid')
      const reward = catalogue.find((r) => `reward-${r.id}` === testid)
      assert.ok(reward)
      if (width === 360) {
        await page.waitForLoadState('networkidle')
        assert.deepEqual(await smallTargets(page), [], 'tap targets under 44 × 44 px on My points')
        const wide = await page.evaluate(() => document.documentElement.scrollWidth)
        assert.ok(wide <= 360, `My points is ${wide} px wide`)
      }
      await shoot(page, 'points-rewards', [width])
      const before = (await resident.get('me/points?limit=1')).balance
      await page.getByTestId(`redeem-${reward.id}`).click()
      // Redeemed: the page moves to one's redemptions, the newest waiting to be collected.
      const list = page.getByTestId('points-redemptions')
      await list.waitFor()
      const [newest] = await resident.get('me/redemptions')
      assert.equal(newest.state, 'pending')
      assert.equal(newest.reward, reward.id)
      await list.getByTestId(`redemption-${newest.id}`).waitFor()
      assert.equal((await resident.get('me/points?limit=1')).balance, before - reward.cost)
      await shoot(page, 'points-redemptions', [width])
      await page.getByTestId('points-tab-history').click()
      await page.getByTestId('points-history').getByTestId('entry-redemption').first().waitFor()
      await shoot(page, 'points-history', [width])
      // The leaderboard: one's name shows once one chooses.
      await page.getByTestId('points-tab-leaderboard').click()
      await page.getByTestId('points-leaderboard').waitFor()
      if (width === 360) {
        await page.getByTestId('points-optin').click()
        for (let i = 0; i < 50 && !(await resident.get('me/points?limit=1')).on_leaderboard; i++) await page.waitForTimeout(100)
        assert.equal((await resident.get('me/points?limit=1')).on_leaderboard, true)
      }
      await shoot(page, 'points-leaderboard', [width])

      // The grid member of the community hands it over at the desk.
      const member = await open('member001', { width, height })
      const staff = await apiAs(server.base, 'member001')
      const queue = await staff.get('redemptions?state=pending&limit=200')
      const mineThere = queue.find((d) => d.id === newest.id)
      const desk = mineThere ? member : await open('admin', { width, height })
      await desk.goto('/member/rewards')
      await desk.getByTestId(`handover-${newest.id}`).waitFor()
      if (width === 360) {
        await desk.waitForLoadState('networkidle')
        assert.deepEqual(await smallTargets(desk), [], 'tap targets under 44 × 44 px at the reward desk')
      }
      await shoot(desk, 'points-desk', [width])
      await desk.getByTestId(`hand-over-${newest.id}`).click()
      await desk.getByTestId(`hand-over-${newest.id}`).waitFor({ state: 'hidden' })
      const after = (await resident.get('me/redemptions')).find((d) => d.id === newest.id)
      assert.equal(after.state, 'handed_over')
    }
  })
})

describe('the grid member card', () => {
  it('a resident finds their grid member on a phone, calls or messages them, and the member reads it', async () => {
    const member = await apiAs(server.base, 'member001')
    const grid = member.person.grants.find((g) => g.role === 'grid_member').scope.code
    const d = await apiAs(server.base, 'dispatcher')
    const here = (await d.get('cases?limit=200')).items.find((c) => c.grid === grid && c.location)
    assert.ok(here, `a case in ${grid}`)
    const { lat, lon } = here.location
    const card = await (await fetch(`${server.base}/api/v1/grid-card?lat=${lat}&lon=${lon}`)).json()
    const me = card.grid_members.find((p) => p.person === member.person.id)
    assert.ok(me, 'member001 is on the card of their grid')
    assert.ok(me.photo_url, 'the demo gives grid members a photo')

    // Reached from the public map: the card of the map's centre.
    const page = await open(null, { width: 360, height: 780 })
    await page.goto('/nearby')
    await page.getByTestId('nearby-grid-card').click()
    await page.waitForURL('**/grid-card?**')
    await page.goto(`/grid-card?lat=${lat}&lon=${lon}`)
    await page.getByTestId('grid-card-grid').waitFor()
    const person = page.getByTestId(`card-person-${me.person}`)
    await person.waitFor()
    // A call button only for those who consented; a message for everyone.
    const calls = await page.getByTestId('card-call').evaluateAll((as) => as.map((a) => a.getAttribute('href')))
    const consented = [...card.grid_members, ...card.community_leaders].filter((p) => p.phone)
    assert.deepEqual(calls.sort(), consented.map((p) => `tel:${p.phone}`).sort())
    assert.deepEqual(await smallTargets(page), [], 'tap targets of the card')
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= 360, `the card fits a 360 px phone (${width} px)`)
    await shoot(page, 'grid-card', [360, 1920])

    await person.getByTestId('card-message').click()
    await fill(page, 'card-text', '楼下垃圾桶满了两天了，麻烦看看')
    await fill(page, 'card-phone', '13800001111')
    await fill(page, 'card-name', '王阿姨')
    await shoot(page, 'grid-card-message', [360])
    await page.getByTestId('card-send').click()
    await page.getByText('留言已送达').first().waitFor()

    // The member sees it in the inbox, with who sent it, and calls back after revealing the phone.
    const desk = await open('member001', { width: 360, height: 780 })
    await desk.getByTestId('unread').waitFor()
    await desk.goto('/inbox')
    const message = desk.getByTestId('messages').locator('[data-testid^="message-"]').first()
    await message.waitFor()
    assert.match(await message.innerText(), /王阿姨/)
    assert.match(await message.innerText(), /138\*\*\*\*1111/)
    await message.getByTestId('message-reveal').click()
    await message.getByTestId('message-call').waitFor()
    assert.equal(await message.getByTestId('message-call').getAttribute('href'), 'tel:13800001111')
    await shoot(desk, 'grid-card-inbox', [360, 1920])

    // The member keeps their own card: office hours, and the phone no longer shown.
    await desk.goto('/member')
    await desk.getByTestId('edit-card').click()
    await desk.getByTestId('my-card').waitFor()
    await fill(desk, 'my-card-hours', '周一至周五 9:00–17:00')
    const consent = desk.getByTestId('my-card-phone-public')
    if ((await consent.getAttribute('class'))?.includes('is-checked')) await consent.click()
    await desk.getByTestId('my-card-save').click()
    await desk.getByText('已保存').first().waitFor()
    assert.deepEqual(await smallTargets(desk), [], 'tap targets of the card editor')
    await shoot(desk, 'my-card', [360, 1920])
    const mine = await member.get('me/card')
    assert.equal(mine.office_hours, '周一至周五 9:00–17:00')
    assert.equal(mine.phone_public, false)
    const after = await (await fetch(`${server.base}/api/v1/grid-card?lat=${lat}&lon=${lon}`)).json()
    assert.equal(after.grid_members.find((p) => p.person === me.person).phone, null)

    // An admin keeps it too, from the list of people.
    const admin = await open('admin', { width: 1920, height: 1080 })
    await admin.goto('/admin?tab=people')
    await fill(admin, 'people-search', 'member001')
    await field(admin, 'people-search').press('Enter')
    await admin.getByTestId('card-member001').click()
    await admin.getByTestId('card-dialog').waitFor()
    assert.equal(await field(admin, 'card-hours').inputValue(), '周一至周五 9:00–17:00')
    await fill(admin, 'card-hours', '周一至周五 9:00–17:00，周三下午入户')
    await admin.getByTestId('card-save').click()
    await admin.getByText('已保存').first().waitFor()
    await shoot(admin, 'grid-card-admin', [1920])
    assert.equal((await member.get('me/card')).office_hours, '周一至周五 9:00–17:00，周三下午入户')
  })
})

describe('the town portal', () => {
  it('is one server-rendered page at 360 and 1920 px, in Chinese and English', async () => {
    const page = await open(null, { width: 360, height: 780 })
    await page.goto('/portal')
    await page.waitForURL('**/portal/330483')
    assert.match(await page.title(), /门户/)
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN')
    const rows = page.locator('table.figures tbody tr')
    assert.ok((await rows.count()) > 0, 'a row per community')
    // The town's notices, open consultations and proposals, each one tap from its page.
    for (const id of ['news', 'consultations', 'proposals']) await page.locator(`#${id}`).waitFor()
    assert.equal(await page.locator('script').count(), 0, 'no script')
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= 360, `the portal fits a 360 px phone (${width} px)`)
    assert.deepEqual(await smallTargets(page), [], 'tap targets of the portal')
    await shoot(page, 'portal', [360, 1920])
    await page.getByRole('link', { name: 'English' }).click()
    await page.waitForURL('**lang=en')
    assert.equal(await page.locator('html').getAttribute('lang'), 'en')
    await shoot(page, 'portal-en', [360, 1920])
    // The public map and the grid member card are one tap away.
    await page.getByRole('link', { name: 'My grid member' }).click()
    await page.waitForURL('**/grid-card')
  })
})

describe('teams: a grid leader keeps the volunteers, a volunteer logs hours', () => {
  it('the leader adds a member and confirms hours; the volunteer logs hours (360 px and desktop)', async () => {
    const leader = await apiAs(server.base, 'leader01')
    const community = leader.person.grants.find((g) => g.role === 'grid_leader').scope.code
    const { items } = await leader.get(`teams?region=${community}`)
    const team = items.find((x) => x.kind === 'volunteers')
    assert.ok(team && team.may_keep && team.may_confirm, 'the community has a volunteers team the leader keeps')
    for (const { width, height, phone } of [
      { width: 360, height: 780, phone: '19912340001' },
      { width: 1920, height: 1080, phone: '19912340002' },
    ]) {
      // The grid leader: the teams of the community, one tap from the menu.
      const page = await open('leader01', { width, height })
      await page.getByTestId('nav-teams').click()
      await page.waitForURL('**/teams')
      await page.getByTestId(`team-${team.id}`).locator('.head').click()
      await page.getByTestId(`member-add-${team.id}`).click()
      await fill(page, 'member-phone', phone)
      await fill(page, 'member-name', width === 360 ? '沈小芳' : '钱志远')
      await page.getByTestId('member-duty-patrol').click()
      if (width === 360) {
        assert.deepEqual(await smallTargets(page), [], 'tap targets of the new member form')
      }
      await page.getByTestId('member-save').click()
      await page.getByTestId(`team-${team.id}`).getByText(width === 360 ? '沈小芳' : '钱志远').waitFor()
      const now = await leader.get(`teams/${team.id}`)
      const added = now.members.find((m) => m.phone === `${phone.slice(0, 3)}****${phone.slice(7)}`)
      assert.ok(added, 'the new volunteer is a member')
      assert.deepEqual(added.duties, ['patrol', 'report'])
      // Hours awaiting confirmation: confirm the first.
      const [log] = await leader.get(`teams/${team.id}/service-logs?state=pending`)
      assert.ok(log, 'the demo has hours awaiting confirmation')
      await page.getByTestId(`confirm-${log.id}`).waitFor()
      if (width === 360) {
        await page.waitForLoadState('networkidle')
        assert.deepEqual(await smallTargets(page), [], 'tap targets of the teams view')
        const wide = await page.evaluate(() => document.documentElement.scrollWidth)
        assert.ok(wide <= 360, `the teams view is ${wide} px wide`)
      }
      await shoot(page, 'teams-leader', [width])
      await page.getByTestId(`confirm-${log.id}`).click()
      await page.getByTestId(`confirm-${log.id}`).waitFor({ state: 'hidden' })
      const decided = (await leader.get(`teams/${team.id}/service-logs?state=confirmed&limit=500`)).find((l) => l.id === log.id)
      assert.ok(decided && decided.points !== null, 'the hours are confirmed, with their points')

      // The volunteer: My service, one tap from the menu; log two hours of patrol.
      const volunteer = await apiAs(server.base, 'volunteer01')
      const before = (await volunteer.get('me/service')).logs.length
      const mine = await open('volunteer01', { width, height })
      await mine.getByTestId('nav-service').click()
      await mine.waitForURL('**/service')
      await fill(mine, 'service-what', width === 360 ? '夜间治安巡逻' : '清理河道垃圾')
      if (width === 360) {
        await mine.waitForLoadState('networkidle')
        assert.deepEqual(await smallTargets(mine), [], 'tap targets of My service')
        const wide = await mine.evaluate(() => document.documentElement.scrollWidth)
        assert.ok(wide <= 360, `My service is ${wide} px wide`)
      }
      await mine.getByTestId('service-submit').click()
      const after = await (async () => {
        for (let i = 0; i < 50; i++) {
          const s = await volunteer.get('me/service')
          if (s.logs.length > before) return s
          await mine.waitForTimeout(100)
        }
        return volunteer.get('me/service')
      })()
      assert.equal(after.logs.length, before + 1)
      assert.equal(after.logs[0].state, 'pending')
      await mine.getByTestId(`service-log-${after.logs[0].id}`).waitFor()
      await shoot(mine, 'teams-my-service', [width])
    }
  })
})

describe('inspections', () => {
  it('a grid member inspects a place on a phone: a failure opens a hazard with its department, the safety file shows it, an inspection made without a signal is sent when it is back (360 and 1920 px)', async () => {
    const member = await apiAs(server.base, 'member001')
    const tasks = await member.get('inspection-tasks?days=400&limit=200')
    assert.ok(tasks.length > 1, 'the demo plans inspections for the member')
    // A place with no open hazard: its first item fails now.
    let task, file
    for (const x of tasks) {
      file = await member.get(`safety-files/${x.subject.subject}/${x.subject.id}`)
      if (file.checklist && !file.hazards.some((h) => h.open)) {
        task = x
        break
      }
    }
    assert.ok(task, 'a place due without open hazards')
    const at = { latitude: task.subject.lat, longitude: task.subject.lon }
    const page = await open('member001', { width: 360, height: 780, geolocation: at })
    await page.goto('/member')
    await page.getByTestId('inspections').click()
    await page.waitForURL('**/member/inspections')
    await page.getByTestId('inspection-task').first().waitFor()
    await page.waitForLoadState('networkidle')
    assert.deepEqual(await smallTargets(page), [], 'tap targets under 44 × 44 px on the task list')
    await shoot(page, 'inspection-tasks', [360])

    await page.goto(`/inspect/${task.subject.subject}/${task.subject.id}`)
    const [first] = file.checklist.items
    const item = page.getByTestId(`item-${first.code}`)
    await item.waitFor()
    await page.getByTestId('inspect-position').getByText(/米|m\)/).waitFor()
    await item.getByTestId(`outcome-${first.code}`).locator('label').nth(1).click()
    await fill(page, `note-${first.code}`, '灭火器压力不足，已过有效期')
    await page.getByTestId(`photos-${first.code}-file`).setInputFiles(await photo(browser, 'hazard', '#dc2626'))
    await item.locator('.el-upload-list__item, img').first().waitFor()
    await page.getByTestId('all-pass').click()
    await page.waitForLoadState('networkidle')
    assert.deepEqual(await smallTargets(page), [], 'tap targets under 44 × 44 px on the inspection')
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 360, 'the inspection fits the phone')
    await shoot(page, 'inspection-form', [360])
    await page.getByTestId('inspect-submit').click()
    const done = page.getByTestId('inspect-done')
    await done.waitFor()
    await shoot(page, 'inspection-done', [360])
    const after = await member.get(`safety-files/${task.subject.subject}/${task.subject.id}`)
    const hazard = after.hazards.find((h) => h.open && h.item === first.code)
    assert.ok(hazard, 'the failure is an open hazard')
    const admin = await apiAs(server.base, 'admin')
    const c = await admin.get(`cases/${hazard.case_id}`)
    assert.equal(c.case.state, 'dispatched')
    assert.ok(c.case.lead_department, 'dispatched to the department that answers for it')

    // The linkage center reads the safety file on a desktop.
    const leader = await open('dispatcher', { width: 1920, height: 1080 })
    await leader.goto(`/safety/${task.subject.subject}/${task.subject.id}`)
    await leader.getByTestId('open-hazards').getByText(hazard.reference).waitFor()
    await shoot(leader, 'safety-file', [1920])

    // No signal: the next inspection waits on the phone and goes when the phone is back online.
    const second = tasks.find((x) => x !== task && x.subject.subject === 'place') ?? tasks.find((x) => x !== task)
    const before = (await member.get(`safety-files/${second.subject.subject}/${second.subject.id}`)).inspections.length
    await page.goto(`/inspect/${second.subject.subject}/${second.subject.id}`)
    await page.getByTestId('all-pass').click()
    await page.context().setOffline(true)
    await page.getByTestId('inspect-submit').click()
    await page.waitForURL('**/member/inspections')
    await page.getByTestId('outbox').waitFor()
    await shoot(page, 'inspection-outbox', [360])
    await page.context().setOffline(false)
    await page.getByTestId('outbox').waitFor({ state: 'hidden' })
    const later = (await member.get(`safety-files/${second.subject.subject}/${second.subject.id}`)).inspections.length
    assert.equal(later, before + 1, 'sent once when the signal came back')

    // The admin keeps the check lists and the plan.
    const desk = await open('admin', { width: 1920, height: 1080 })
    await desk.goto('/admin?tab=checklists')
    await desk.getByTestId('checklists').getByText('小商店消防安全检查表').waitFor()
    await shoot(desk, 'admin-checklists', [1920])
  })
})

describe('patrols', () => {
  it('a grid member patrols on a 360 px phone: start, positions sampled as they walk, end, the track; the leader sees it', async () => {
    const member = await apiAs(server.base, 'member001')
    const grid = member.person.grants.find((g) => g.role === 'grid_member').scope.code
    const d = await apiAs(server.base, 'dispatcher')
    const here = (await d.get('cases?limit=200')).items.find((c) => c.grid === grid && c.location)
    assert.ok(here, `a case in ${grid}`)
    const { lat, lon } = here.location

    const page = await open('member001', { width: 360, height: 780, geolocation: { latitude: lat, longitude: lon } })
    // A phone's fix is good to some tens of metres: steps within that are not implausibly fast,
    // however quickly the test takes them.
    await page.context().setGeolocation({ latitude: lat, longitude: lon, accuracy: 35 })
    await page.goto('/member')
    await page.getByTestId('patrol-open').click()
    await page.getByTestId('patrol-quota').waitFor()
    await page.getByTestId('patrol-start').click()
    await page.getByTestId('patrol-running').waitFor()
    // Walking north, about 67 m a step: each step is a new position (50 m moved); five are sent.
    for (let i = 1; i <= 6; i++) {
      await page.context().setGeolocation({ latitude: lat + i * 0.0006, longitude: lon, accuracy: 35 })
      await page.waitForTimeout(400)
    }
    let running
    for (let i = 0; i < 40; i++) {
      ;[running] = (await member.get('patrols?running=true')).items
      if (running?.positions >= 5) break
      await page.waitForTimeout(250)
    }
    assert.ok(running.positions >= 5, `positions sent in a batch while walking (${running?.positions})`)
    await page.locator('.leaflet-container').first().waitFor()
    assert.deepEqual(await smallTargets(page), [], 'tap targets of the running patrol')
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= 360, `the patrol page fits a 360 px phone (${width} px)`)
    await shoot(page, 'patrol-running', [360, 1920])

    // The end: what is queued is sent first; the watch stops.
    await page.getByTestId('patrol-end').click()
    await page.locator('.gk-confirm .el-button--danger').click()
    await page.getByTestId('patrol-idle').waitFor()
    const ended = (await member.get(`patrols/${running.id}`)).patrol
    assert.equal(ended.running, false)
    assert.ok(ended.positions >= 6, `every sampled position arrived (${ended.positions})`)
    assert.ok(ended.distance_m > 250, `${ended.distance_m} m`)
    await page.context().setGeolocation({ latitude: lat, longitude: lon, accuracy: 35 })
    await page.waitForTimeout(500)
    assert.equal((await member.get(`patrols/${running.id}`)).patrol.positions, ended.positions, 'no tracking after the end')

    // Its page: the track on the map, the summary.
    await page.getByTestId(`patrol-${running.id}`).click()
    await page.getByTestId('patrol-detail').waitFor()
    assert.equal(await page.getByTestId('patrol-detail-positions').innerText(), String(ended.positions))
    await page.locator('.leaflet-overlay-pane path').first().waitFor()
    assert.deepEqual(await smallTargets(page), [], 'tap targets of a patrol page')
    await shoot(page, 'patrol-detail', [360, 1920])

    // The community's grid leader sees it among their members' patrols, and the month's quotas.
    let leaderLogin
    for (let n = 1; n <= 10 && !leaderLogin; n++) {
      const login = `leader${String(n).padStart(2, '0')}`
      const l = await apiAs(server.base, login)
      if (l.person.grants.some((g) => g.role === 'grid_leader' && grid.startsWith(g.scope.code))) leaderLogin = login
    }
    assert.ok(leaderLogin, `a leader of ${grid}`)
    const leader = await open(leaderLogin, { width: 1920, height: 1080 })
    await leader.goto('/leader?tab=patrols')
    await leader.getByTestId('quota-members').waitFor()
    await leader.getByTestId(`patrol-${running.id}`).waitFor()
    await shoot(leader, 'patrol-leader', [360, 1920])
    // The dashboard's card: the month's quota met, one tap from the members.
    await leader.goto('/leader')
    await leader.getByTestId('patrol-quota-card').getByText('%').first().waitFor()
    await shoot(leader, 'patrol-dashboard-card', [1920])
  })
})

describe('campaigns: the linkage center runs a special rectification campaign', () => {
  it('the running campaign’s board per community and grid (360 px and desktop), a new one from the form, its tag on a grid member’s tasks', async () => {
    const dispatcher = await apiAs(server.base, 'dispatcher')
    const { items } = await dispatcher.get('campaigns')
    const running = items.find((c) => c.name === '三小场所消防安全专项整治')
    assert.ok(running && running.status === 'running', 'the demo runs a campaign over the town')
    assert.ok(running.inspected > 0 && running.inspected < running.subjects, 'part of it is inspected')
    const board = await dispatcher.get(`campaigns/${running.id}/board`)
    const [first] = board.communities
    for (const { width, height } of [
      { width: 360, height: 780 },
      { width: 1920, height: 1080 },
    ]) {
      const page = await open('dispatcher', { width, height })
      await page.getByTestId('nav-campaigns').click()
      await page.waitForURL('**/campaigns')
      await page.getByTestId(`campaign-${running.id}`).waitFor()
      await shoot(page, 'campaigns-list', [width])
      await page.getByTestId(`campaign-${running.id}`).click()
      await page.waitForURL(`**/campaigns/${running.id}`)
      const totals = page.getByTestId('campaign-totals')
      await totals.getByText(`${board.totals.counts.inspected} / ${board.totals.counts.subjects}`).waitFor()
      // A community opens to its grids.
      await page.getByTestId(`board-${first.region}`).click()
      await page.getByTestId(`board-${first.grids[0].region}`).waitFor()
      if (width === 360) {
        await page.waitForLoadState('networkidle')
        assert.deepEqual(await smallTargets(page), [], 'tap targets of the campaign board')
        const wide = await page.evaluate(() => document.documentElement.scrollWidth)
        assert.ok(wide <= 360, `the campaign board is ${wide} px wide`)
      }
      await shoot(page, 'campaign-board', [width])
      await page.getByTestId('campaign-close').waitFor()
    }

    // A new campaign from the form: restaurants over the town.
    const page = await open('dispatcher', { width: 360, height: 780 })
    await page.goto('/campaigns')
    await page.getByTestId('campaign-new').click()
    await fill(page, 'campaign-name', '餐饮场所燃气安全专项整治')
    await page.getByTestId('campaign-kind-restaurant').click()
    await page.waitForTimeout(300)
    assert.deepEqual(await smallTargets(page), [], 'tap targets of the new campaign form')
    await shoot(page, 'campaign-new', [360])
    await page.getByTestId('campaign-save').click()
    await page.waitForURL(/\/campaigns\/\d+$/)
    await page.getByText('餐饮场所燃气安全专项整治').first().waitFor()
    const started = (await dispatcher.get('campaigns')).items.find((c) => c.name === '餐饮场所燃气安全专项整治')
    assert.ok(started && started.subjects > 0 && started.inspected === 0, 'the new campaign selected the restaurants')

    // A campaign of the rental houses of the grid member's community: its tasks carry its name.
    const member = await apiAs(server.base, 'member001')
    const grid = member.person.grants.find((g) => g.role === 'grid_member').scope.code
    const day = (n) => new Date(Date.now() + 8 * 3_600_000 + n * 86_400_000).toISOString().slice(0, 10)
    await dispatcher.post('campaigns', {
      name: '出租房屋安全专项整治',
      region: grid.slice(0, 12),
      starts_at: day(0),
      ends_at: day(30),
      kinds: [],
      houses: true,
    })
    const phone = await open('member001', { width: 360, height: 780 })
    await phone.goto('/member/inspections')
    await phone.getByTestId('task-campaign').filter({ hasText: '出租房屋安全专项整治' }).first().waitFor()
    await shoot(phone, 'campaign-member-tasks', [360])
  })

  it('a grid leader reaches the running campaign from the menu and sees their community’s part of its board (360 px and desktop)', async () => {
    const leader = await apiAs(server.base, 'leader01')
    const community = leader.person.grants.find((g) => g.role === 'grid_leader').scope.code
    const { items } = await leader.get(`campaigns?region=${community}`)
    const running = items.find((c) => c.name === '三小场所消防安全专项整治')
    assert.ok(running, 'the town’s campaign covers the leader’s community')
    const board = await leader.get(`campaigns/${running.id}/board`)
    assert.deepEqual(board.parts, [community])
    assert.deepEqual(board.communities.map((c) => c.region), [community], 'only their community on the board')
    for (const { width, height } of [
      { width: 360, height: 780 },
      { width: 1920, height: 1080 },
    ]) {
      const page = await open('leader01', { width, height })
      const refused = []
      page.on('response', (r) => r.status() >= 400 && refused.push(new URL(r.url()).pathname))
      await page.getByTestId('nav-campaigns').click()
      await page.waitForURL('**/campaigns')
      await page.getByTestId(`campaign-${running.id}`).click()
      await page.waitForURL(`**/campaigns/${running.id}`)
      await page.getByTestId('campaign-parts').waitFor()
      const totals = page.getByTestId('campaign-totals')
      await totals.getByText(`${board.totals.counts.inspected} / ${board.totals.counts.subjects}`).waitFor()
      await page.getByTestId(`board-${community}`).waitFor()
      await page.getByTestId(`board-${board.communities[0].grids[0].region}`).waitFor()
      assert.equal(await page.getByTestId('campaign-close').count(), 0, 'a grid leader does not close a campaign')
      await page.waitForLoadState('networkidle')
      if (width === 360) {
        assert.deepEqual(await smallTargets(page), [], 'tap targets of the leader’s campaign board')
        const wide = await page.evaluate(() => document.documentElement.scrollWidth)
        assert.ok(wide <= 360, `the leader’s campaign board is ${wide} px wide`)
      }
      assert.deepEqual(refused, [], 'no request refused')
      await shoot(page, 'campaign-board-leader', [width])
    }
  })

  it('a place’s safety file names the campaign its inspection counted for (360 px)', async () => {
    const member = await apiAs(server.base, 'member001')
    const tasks = await member.get('inspection-tasks?days=400&limit=200')
    let found
    for (const x of tasks) {
      const file = await member.get(`safety-files/${x.subject.subject}/${x.subject.id}`)
      const counted = file.inspections.find((i) => i.campaign_name)
      if (counted) {
        found = { subject: x.subject, name: counted.campaign_name }
        break
      }
    }
    assert.ok(found, 'the demo’s campaign counted an inspection of one of the member’s places')
    const page = await open('member001', { width: 360, height: 780 })
    await page.goto(`/safety/${found.subject.subject}/${found.subject.id}`)
    await page.getByTestId('safety-campaign').filter({ hasText: found.name }).first().waitFor()
    await page.waitForLoadState('networkidle')
    assert.deepEqual(await smallTargets(page), [], 'tap targets of the safety file')
    await shoot(page, 'safety-file-campaign', [360])
  })
})

describe('field work measures', () => {
  it('the dashboard shows the 基层巡检 card: the district, then a community, its grids and a grid\'s people (360 and 1920 px)', async () => {
    const page = await open('supervisor', { width: 1920, height: 1080 })
    await page.goto('/leader')
    const card = page.getByTestId('fieldwork-card')
    await card.getByTestId('fieldwork-rows').waitFor()
    // The year's demo is neither all done nor all late.
    const coverage = await card.getByTestId('fieldwork-coverage').innerText()
    assert.match(coverage, /\d+%/, coverage)
    assert.ok(!/\b100%/.test(coverage.split('\n')[1]), `coverage is not all 100 % (${coverage})`)
    await card.scrollIntoViewIfNeeded()
    await shoot(page, 'fieldwork-district', [1920])
    // Drill down: a community, then a grid, then back up.
    const community = card.locator('[data-testid^="fieldwork-open-"]').first()
    await community.click()
    await card.getByText(/各网格|By grid/).waitFor()
    const grid = card.locator('[data-testid^="fieldwork-open-"]').first()
    await grid.click()
    await card.getByText(/各网格员|By grid member/).waitFor()
    await card.getByTestId('fieldwork-up').waitFor()
    await shoot(page, 'fieldwork-people', [1920])
    await card.getByTestId('fieldwork-up').click()
    await card.getByText(/各网格|By grid/).waitFor()

    // On a phone: the card fits (its table scrolls inside it), every tap target is 44 px.
    const phone = await open('supervisor', { width: 360, height: 780 })
    await phone.goto('/leader')
    const small = phone.getByTestId('fieldwork-card')
    await small.getByTestId('fieldwork-rows').waitFor()
    await small.locator('[data-testid^="fieldwork-open-"]').first().click()
    await small.getByTestId('fieldwork-up').waitFor()
    const width = await phone.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= 360, `the dashboard fits a 360 px phone (${width} px)`)
    assert.deepEqual(await smallTargets(phone), [], 'tap targets of the dashboard with the field work card')
    await small.scrollIntoViewIfNeeded()
    await shoot(phone, 'fieldwork-phone', [360])
    // The card alone, to read at phone size.
    await small.screenshot({ path: new URL('../../target/screenshots/fieldwork-card-360.png', import.meta.url).pathname })
  })
})
