// Reads Parquet files with hyparquet, an independent JavaScript implementation, and
// prints {file: rows} as JSON for parquet_hyparquet_test to compare value by value.
// Usage: node hyparquet_read.mjs <node_modules dir> <file>...
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [modules, ...files] = process.argv.slice(2)
const load = (p) => import(pathToFileURL(path.join(modules, p)).href)
const { parquetReadObjects } = await load('hyparquet/src/node.js')
const { compressors } = await load('hyparquet-compressors/src/index.js')

// Keep raw integers for time values so nothing is lost to JavaScript Dates.
const parsers = {
  timestampFromMilliseconds: (v) => 'ms:' + String(v),
  timestampFromMicroseconds: (v) => 'us:' + String(v),
  timestampFromNanoseconds: (v) => 'ns:' + String(v),
  dateFromDays: (v) => v,
}

function replacer(key, value) {
  if (value === undefined) return null
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  if (value instanceof Uint8Array) return 'hex:' + Buffer.from(value).toString('hex')
  return value
}

const out = {}
for (const file of files) {
  const buf = readFileSync(file)
  const arrayBuffer = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
  out[file] = await parquetReadObjects({ file: arrayBuffer, compressors, parsers, utf8: false })
}
process.stdout.write(JSON.stringify(out, replacer))
