// Writes Parquet files with hyparquet-writer (an independent JavaScript writer) using
// encodings parquet-mr's v2 writer also uses, and the values as JSON, for
// parquet_hyparquet_test to read back with kubelake.
// Usage: node hyparquet_write.mjs <node_modules dir> <output dir>
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [modules, out] = process.argv.slice(2)
const { parquetWriteBuffer } = await import(pathToFileURL(path.join(modules, 'hyparquet-writer/src/index.js')).href)

let seed = 42
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648)
const n = 3000
const cols = { i32: [], i64: [], s_dlba: [], s_dba: [], dbl: [], flt: [], bool_rle: [], dict: [], plain: [] }
for (let i = 0; i < n; i++) {
  cols.i32.push(i % 13 === 0 ? null : (rnd() % 200001) - 100000)
  cols.i64.push(i === 5 ? -(2n ** 63n) : i === 6 ? 2n ** 63n - 1n : BigInt(rnd()) * 4096n - 2n ** 40n)
  cols.s_dlba.push(i % 17 === 0 ? '' : 'v' + 'x'.repeat(rnd() % 40) + i)
  cols.s_dba.push(i % 19 === 0 ? null : 'prefix/common/' + String(Math.floor(i / 7)).padStart(6, '0') + '/' + (i % 3))
  cols.dbl.push((rnd() - 1e9) / 7.5)
  cols.flt.push(Math.fround(rnd() / 1000.5))
  cols.bool_rle.push(i % 23 === 0 ? null : rnd() % 3 === 0)
  cols.dict.push(['Pending', 'Running', 'Succeeded', 'Failed'][rnd() % 4])
  cols.plain.push(i * 3)
}
const columnData = [
  { name: 'i32', data: cols.i32, type: 'INT32', nullable: true, encoding: 'DELTA_BINARY_PACKED', columnIndex: true },
  { name: 'i64', data: cols.i64, type: 'INT64', nullable: false, encoding: 'DELTA_BINARY_PACKED' },
  { name: 's_dlba', data: cols.s_dlba, type: 'STRING', encoding: 'DELTA_LENGTH_BYTE_ARRAY' },
  { name: 's_dba', data: cols.s_dba, type: 'STRING', nullable: true, encoding: 'DELTA_BYTE_ARRAY', columnIndex: true },
  { name: 'dbl', data: cols.dbl, type: 'DOUBLE', encoding: 'BYTE_STREAM_SPLIT' },
  { name: 'flt', data: cols.flt, type: 'FLOAT', encoding: 'BYTE_STREAM_SPLIT' },
  { name: 'bool_rle', data: cols.bool_rle, type: 'BOOLEAN', nullable: true, encoding: 'RLE' },
  { name: 'dict', data: cols.dict, type: 'STRING', encoding: 'RLE_DICTIONARY' },
  { name: 'plain', data: cols.plain, type: 'INT32', nullable: false, encoding: 'PLAIN', columnIndex: true },
]
for (const codec of ['SNAPPY', 'UNCOMPRESSED']) {
  const buffer = parquetWriteBuffer({ columnData, codec, pageSize: 2048, rowGroupSize: 1000 })
  writeFileSync(path.join(out, `hyparquet-writer-${codec}.parquet`), Buffer.from(buffer))
}
const replacer = (key, value) => (typeof value === 'bigint' ? value.toString() : value)
writeFileSync(path.join(out, 'expected.json'), JSON.stringify(cols, replacer))
