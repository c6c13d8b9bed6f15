// TypeScript types of the API's schemas, generated from docs/openapi.json (the OpenAPI document
// the server generates from its code; tests/integration/openapi.rs keeps it current).
//   node scripts/api-types.mjs          writes src/api/openapi.d.ts
//   node scripts/api-types.mjs --check  fails when src/api/openapi.d.ts is stale
// No dependency: the document's schemas use a small part of JSON Schema (objects, arrays, enums,
// $ref, oneOf with null, allOf), which is all this handles; anything else becomes `unknown`.
import { readFileSync, writeFileSync } from 'node:fs'

const docPath = new URL('../../docs/openapi.json', import.meta.url).pathname
const outPath = new URL('../src/api/openapi.d.ts', import.meta.url).pathname
const doc = JSON.parse(readFileSync(docPath, 'utf8'))

const ident = (k) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : JSON.stringify(k))
const comment = (text, indent) =>
  text ? `${indent}/** ${text.replace(/\*\//g, '* /').split('\n').join(`\n${indent} * `)} */\n` : ''

/** @param {any} s @param {string} indent @returns {string} */
function type(s, indent) {
  if (!s || typeof s !== 'object') return 'unknown'
  if (s.$ref) return s.$ref.split('/').pop()
  if (s.oneOf || s.anyOf) return (s.oneOf || s.anyOf).map((x) => type(x, indent)).join(' | ')
  // Each part in brackets: an anyOf inside an allOf stays one part (`A & (B | C)`).
  if (s.allOf) return s.allOf.map((x) => `(${type(x, indent)})`).join(' & ')
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ')
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : []
  if (types.length === 0) return s.properties ? object(s, indent) : 'unknown'
  return types
    .map((t) => {
      switch (t) {
        case 'string':
          return 'string'
        case 'integer':
        case 'number':
          return 'number'
        case 'boolean':
          return 'boolean'
        case 'null':
          return 'null'
        case 'array':
          return `Array<${type(s.items, indent)}>`
        case 'object':
          return object(s, indent)
        default:
          return 'unknown'
      }
    })
    .join(' | ')
}

/** @param {any} s @param {string} indent */
function object(s, indent) {
  const props = Object.entries(s.properties || {})
  if (props.length === 0) {
    const extra = s.additionalProperties
    return `Record<string, ${extra && typeof extra === 'object' ? type(extra, indent) : 'unknown'}>`
  }
  const required = new Set(s.required || [])
  const inner = indent + '  '
  const lines = props.map(
    ([k, p]) => `${comment(p.description, inner)}${inner}${ident(k)}${required.has(k) ? '' : '?'}: ${type(p, inner)}`,
  )
  return `{\n${lines.join('\n')}\n${indent}}`
}

let out =
  '// Generated from docs/openapi.json by web/scripts/api-types.mjs (`npm run api:types`); do not edit.\n' +
  `// ${doc.info.title} ${doc.info.version}: the schemas of /api/v1.\n`
for (const [name, s] of Object.entries(doc.components?.schemas ?? {})) {
  out += `\n${comment(s.description, '')}export type ${name} = ${type(s, '')}\n`
}

if (process.argv.includes('--check')) {
  let current = ''
  try {
    current = readFileSync(outPath, 'utf8')
  } catch {
    // missing: stale
  }
  if (current !== out) {
    console.error('src/api/openapi.d.ts is stale: run `npm run api:types` (docs/openapi.json changed)')
    process.exit(1)
  }
} else {
  writeFileSync(outPath, out)
}
