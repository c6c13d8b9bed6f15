// Every text is translated: each key the code uses — `t('a.b')`, `te('a.b')`, or a key string
// like 'nav.report' in a table — must exist in src/i18n/zh-CN.ts, and for a computed key
// (`t(\`state.${s}\`)`) its prefix must exist. en.ts is typed `typeof zh`, so vue-tsc fails when
// English lacks a key or has an extra one.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import vm from 'node:vm'

const root = new URL('../src/', import.meta.url).pathname
const source = readFileSync(join(root, 'i18n/zh-CN.ts'), 'utf8').replace('export default', 'messages =')
/** @type {{ messages: any }} */
const context = { messages: undefined }
vm.runInNewContext(source, context)
/** @type {Record<string, any>} */
const zh = context.messages

/** @param {string} key */
function lookup(key) {
  return key.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), zh)
}

/** @param {string} dir @returns {string[]} */
function files(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    if (statSync(p).isDirectory()) return p.endsWith('i18n') ? [] : files(p)
    return /\.(ts|vue)$/.test(n) && !n.endsWith('.d.ts') ? [p] : []
  })
}

const problems = []
const sections = Object.keys(zh)
for (const file of files(root)) {
  const text = readFileSync(file, 'utf8')
  const rel = file.slice(root.length)
  for (const m of text.matchAll(/\bte?\(\s*'([^']+)'/g)) {
    if (typeof lookup(m[1]) !== 'string') problems.push(`${rel}: missing text '${m[1]}'`)
  }
  for (const m of text.matchAll(/\bt\(\s*`([^`$]*)\$\{/g)) {
    const prefix = m[1].replace(/\.$/, '')
    if (typeof lookup(prefix) !== 'object') problems.push(`${rel}: missing section '${prefix}' for \`${m[1]}\${…}\``)
  }
  // Keys named in tables, e.g. { label: 'nav.report' } or ['A', 'center.keys.accept'].
  for (const m of text.matchAll(/'((?:[a-z]+[A-Za-z]*)\.[A-Za-z_.]+)'/g)) {
    const key = m[1]
    if (!sections.includes(key.split('.')[0]) || /\.(ts|vue|css|svg|json|js)$/.test(key)) continue
    if (lookup(key) === undefined) problems.push(`${rel}: missing text '${key}'`)
  }
}

// Every kind of problem the server can answer has a message (`problem.<kind>` in camelCase):
// the kinds are read from the server's source, `ApiError::new(StatusCode::…, "kind", …)` and the
// `https://gridkeeper.org/problems/kind` types written out in full.
const server = new URL('../../crates/server/src/', import.meta.url).pathname
/** @param {string} dir @returns {string[]} */
function rustFiles(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? rustFiles(p) : n.endsWith('.rs') ? [p] : []
  })
}
const kinds = new Set()
for (const file of rustFiles(server)) {
  const text = readFileSync(file, 'utf8')
  for (const m of text.matchAll(/::new\(\s*(?:axum::http::)?StatusCode::[A-Z_]+,\s*"([a-z-]+)"/g)) kinds.add(m[1])
  for (const m of text.matchAll(/gridkeeper\.org\/problems\/([a-z-]+)"/g)) kinds.add(m[1])
}
if (kinds.size < 5) problems.push(`found only ${kinds.size} problem kinds in ${server}: is the pattern still right?`)
for (const kind of kinds) {
  const key = `problem.${kind.replace(/-([a-z])/g, (_, c) => c.toUpperCase())}`
  if (typeof lookup(key) !== 'string') problems.push(`the server answers problems of kind '${kind}' but '${key}' has no text`)
}

// No Chinese text outside the message files (a line may opt out with `i18n-ok`).
for (const file of files(root)) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '').replace(/<!--.*?-->/g, '')
      if (/[\u4e00-\u9fa5\u3001\u3002\uff0c\uff1a]/.test(code) && !line.includes('i18n-ok'))
        problems.push(`${file.slice(root.length)}:${i + 1}: text outside the message files: ${line.trim()}`)
    })
}

if (problems.length) {
  console.error(`untranslated texts:\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
console.log(`i18n: every key used in src/ exists (${sections.length} sections); every problem kind has a text (${kinds.size})`)
