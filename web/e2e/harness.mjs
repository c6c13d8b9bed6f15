// The browser tests' harness: the real `gridkeeper` binary on a fresh demo database and a free
// port, Debian's Chromium driven by playwright-core, helpers for Element Plus widgets, and
// screenshots under target/screenshots/.
//
// Environment: GRIDKEEPER_BIN (default ../target/debug/gridkeeper), CHROMIUM (default
// /usr/bin/chromium), GK_E2E_BASE (use a server that is already running instead), GK_E2E_CASES
// (demo size, default 2000).

import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium } from 'playwright-core'

const web = resolve(new URL('..', import.meta.url).pathname)
export const repo = resolve(web, '..')
export const shots = join(repo, 'target', 'screenshots')
export const PASSWORD = 'demo1234'

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // A synthetic microphone and camera, allowed without asking: voice reports are recorded.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
]

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer()
    s.on('error', fail)
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address())
      s.close(() => ok(port))
    })
  })
}

/** Starts `gridkeeper demo` on a fresh folder and waits until it is ready. */
export async function startServer() {
  if (process.env.GK_E2E_BASE) return { base: process.env.GK_E2E_BASE, stop: async () => {}, log: () => '' }
  const bin = process.env.GRIDKEEPER_BIN ?? join(repo, 'target', 'debug', 'gridkeeper')
  if (!existsSync(bin)) throw new Error(`no gridkeeper binary at ${bin}: run \`cargo build -p gridkeeper\` first`)
  const dir = mkdtempSync(join(tmpdir(), 'gk-e2e-'))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  let output = ''
  const child = spawn(bin, ['demo', '--dir', join(dir, 'demo'), '--cases', process.env.GK_E2E_CASES ?? '2000'], {
    cwd: dir,
    env: { ...process.env, GRIDKEEPER__SERVER__BIND: `127.0.0.1:${port}`, RUST_LOG: 'warn,gridkeeper_server::sms=info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const exited = new Promise((ok) => child.on('exit', ok))
  const deadline = Date.now() + 180_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gridkeeper demo exited (${child.exitCode}):\n${output}`)
    try {
      const r = await fetch(`${base}/readyz`)
      if (r.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`gridkeeper demo did not become ready in time:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  return {
    base,
    log: () => output,
    stop: async () => {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_FLAGS })
}

/** A JSON API client signed in with a bearer token (for looking things up, not for acting). */
export async function apiAs(base, login) {
  const r = await fetch(`${base}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password: PASSWORD }),
  })
  if (!r.ok) throw new Error(`sign-in of ${login} failed: ${r.status} ${await r.text()}`)
  const { token, person } = await r.json()
  return {
    person,
    get: async (path) => {
      const resp = await fetch(`${base}/api/v1/${path}`, { headers: { authorization: `Bearer ${token}` } })
      if (!resp.ok) throw new Error(`GET ${path}: ${resp.status} ${await resp.text()}`)
      return resp.json()
    },
    post: async (path, body = {}) => {
      const resp = await fetch(`${base}/api/v1/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      if (!resp.ok) throw new Error(`POST ${path}: ${resp.status} ${await resp.text()}`)
      return resp.status === 204 ? null : resp.json()
    },
  }
}

/**
 * A browser context for one person, with every page error and CSP violation recorded in
 * `problems` (the tests fail on any).
 */
/**
 * @param {import('playwright-core').Browser} browser
 * @param {string} base
 * @param {{ width?: number, height?: number, geolocation?: { latitude: number, longitude: number }, locale?: string }} [options]
 */
export async function contextFor(browser, base, { width = 360, height = 780, geolocation, locale = 'zh-CN' } = {}) {
  const ctx = await browser.newContext({
    baseURL: base,
    viewport: { width, height },
    locale,
    geolocation,
    permissions: geolocation ? ['geolocation'] : [],
    deviceScaleFactor: 1,
  })
  const problems = []
  ctx.on('page', (page) => watch(page, problems))
  return { ctx, problems }
}

function watch(page, problems) {
  page.on('pageerror', (e) => problems.push(`page error on ${page.url()}: ${e.message}`))
  page.on('console', (m) => {
    const text = m.text()
    if (/Content[- ]Security[- ]Policy|Refused to (load|apply|execute|connect)/i.test(text)) {
      problems.push(`CSP violation on ${page.url()}: ${text}`)
    } else if (m.type() === 'error' && !/status of (401|404|409|422)|ERR_INTERNET_DISCONNECTED/.test(text)) {
      // (A test that takes the phone offline expects its requests to fail.)
      problems.push(`console error on ${page.url()}: ${text}`)
    }
  })
}

/** Signs in through the password form. */
export async function signIn(page, login) {
  await page.goto('/signin')
  await fill(page, 'login', login)
  await fill(page, 'password', PASSWORD)
  await page.getByTestId('sign-in').click()
  await page.waitForURL((u) => !u.pathname.startsWith('/signin'))
}

/** The native input or textarea of an Element Plus input with this test id. */
export function field(page, testid) {
  return page
    .locator(`:is(input,textarea)[data-testid="${testid}"], [data-testid="${testid}"] :is(input,textarea)`)
    .first()
}

export async function fill(page, testid, value) {
  await field(page, testid).fill(value)
}

/** Opens an Element Plus select inside `[data-testid]`, types `search`, picks the option `text`. */
export async function choose(page, testid, search, text = search) {
  const box = page.locator(`[data-testid="${testid}"]`).first()
  await box.locator('.el-select__wrapper').click()
  await page.keyboard.type(search)
  await page.locator('.el-select-dropdown__item:visible', { hasText: text }).first().click()
}

/** A photo: a JPEG made by the browser itself. */
export async function photo(browser, label, color) {
  const page = await browser.newPage({ viewport: { width: 640, height: 480 } })
  await page.setContent(
    `<body style="margin:0;background:${color};display:flex;align-items:center;justify-content:center;height:100vh;font:bold 64px sans-serif;color:#fff">${label}</body>`,
  )
  const buffer = await page.screenshot({ type: 'jpeg', quality: 80 })
  await page.close()
  return { name: `${label}.jpg`, mimeType: 'image/jpeg', buffer }
}

/** Saves a screenshot of the page at phone (360 px) and desktop (1920 px) width. */
export async function shoot(page, name, widths = [360, 1920]) {
  mkdirSync(shots, { recursive: true })
  const before = page.viewportSize()
  for (const w of widths) {
    await page.setViewportSize({ width: w, height: w < 800 ? 780 : 1080 })
    await page.waitForTimeout(300)
    await page.screenshot({ path: join(shots, `${name}-${w}.png`), fullPage: true })
  }
  if (before) await page.setViewportSize(before)
}

/** Empties target/screenshots/, so that it holds this run's artefacts only. */
export function clearArtefacts() {
  rmSync(shots, { recursive: true, force: true })
  mkdirSync(shots, { recursive: true })
}

export function writeArtefact(name, data) {
  mkdirSync(shots, { recursive: true })
  writeFileSync(join(shots, name), typeof data === 'string' ? data : JSON.stringify(data, null, 2))
}

/** The header's links whose text does not fit their box or that overlap the next one. */
export async function squeezedLinks(page) {
  return page.evaluate(() => {
    const links = [...document.querySelectorAll('header nav a')]
    return links
      .filter((a, i) => a.scrollWidth > a.clientWidth + 1 || (links[i + 1] && a.getBoundingClientRect().right > links[i + 1].getBoundingClientRect().left + 1))
      .map((a) => a.textContent?.trim())
  })
}

/**
 * The visible tap targets on the page smaller than `min` × `min` CSS pixels, described as
 * `tag.class "text" W×H`. Inline links inside running text are exempt (WCAG 2.5.5), as are the
 * native inputs Element Plus draws its own larger control around.
 */
export async function smallTargets(page, min = 44) {
  return page.evaluate((min) => {
    const targets = [
      'a[href]',
      'button',
      '[role="button"]',
      '[role="tab"]',
      'input:not([type="hidden"])',
      'select',
      '.el-select__wrapper',
      '.el-radio',
      '.el-checkbox',
      '.el-switch',
    ].join(',')
    const wrapped =
      '.el-input__wrapper, .el-textarea, .el-select__wrapper, .el-radio, .el-checkbox, .el-switch, .el-radio-button, .el-checkbox-button, .el-input-number'
    const out = []
    for (const el of document.querySelectorAll(targets)) {
      if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue
      if (el.matches('input, textarea, .el-radio-button__original-radio') && el.parentElement?.closest(wrapped)) continue
      if (el.closest('[aria-hidden="true"], .el-select__wrapper') && !el.matches('.el-select__wrapper')) continue
      const style = getComputedStyle(el)
      const parentText = el.parentElement?.textContent?.trim().length ?? 0
      if (el.matches('a') && style.display === 'inline' && parentText > (el.textContent?.trim().length ?? 0) + 8) continue
      // A target drawn inside a larger clickable box (a radio button's label) counts by the box.
      const box = el.closest('label, .el-radio-button, .el-checkbox-button') ?? el
      const r = box.getBoundingClientRect()
      if (r.width === 0 || r.height === 0) continue
      if (r.width < min - 0.5 || r.height < min - 0.5) {
        const cls = typeof box.className === 'string' ? box.className.split(' ').filter(Boolean).slice(0, 2).join('.') : ''
        const text = (box.textContent || box.getAttribute('aria-label') || '').trim().slice(0, 20)
        out.push(`${box.tagName.toLowerCase()}${cls ? '.' + cls : ''} "${text}" ${Math.round(r.width)}×${Math.round(r.height)}`)
      }
    }
    return [...new Set(out)]
  }, min)
}
