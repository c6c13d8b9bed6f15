// Writes a gzip twin (`x.js.gz`) next to every compressible file of dist/, so the server can
// answer `Accept-Encoding: gzip` without compressing on each request (crates/server/src/web.rs).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync, constants } from 'node:zlib'

const root = new URL('../dist/', import.meta.url).pathname
const compressible = /\.(js|mjs|css|html|svg|json|txt|map)$/

/** @param {string} dir */
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) {
      walk(path)
    } else if (compressible.test(name)) {
      const raw = readFileSync(path)
      if (raw.length < 1024) continue
      const gz = gzipSync(raw, { level: constants.Z_BEST_COMPRESSION })
      if (gz.length < raw.length * 0.9) writeFileSync(`${path}.gz`, gz)
    }
  }
}

walk(root)
