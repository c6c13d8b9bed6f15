// The web app as its users found it (issue 21): each test walks one finding in the UI of the
// person who made it and fails on the behaviour they saw.

import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { apiAs, contextFor, field, fill, launch, PASSWORD, shoot, signIn, smallTargets, startServer } from './harness.mjs'

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
    const views = [
      [null, ['/', '/report', '/track', '/nearby', '/signin', '/signin?tab=phone']],
      ['resident01', ['/report', '/my', '/nearby']],
      ['member001', ['/member', '/member/on-the-spot', `/cases/${somecase.reference}`].concat(resolved ? [`/member/verify/${resolved.reference}`] : [])],
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
      }
      if (login === 'member001') await shoot(page, 'phone-targets-member', [360])
    }
    assert.deepEqual(small, [], 'tap targets under 44 × 44 px')
  })

  it('no view is wider than a 360 px phone, for any role', async () => {
    const views = [
      ['dispatcher', ['/center']],
      ['supervisor', ['/leader', '/leader?tab=cases']],
      ['admin', ['/admin?tab=regions', '/admin?tab=responsibility', '/admin?tab=people', '/admin?tab=organisation']],
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
