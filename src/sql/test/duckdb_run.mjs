// Runs SQL queries with DuckDB (npm @duckdb/node-api), an independent engine, for
// sql_duckdb_test. Usage: node duckdb_run.mjs <node_modules> <setup.sql> <queries.jsonl> <out.jsonl>
// Each query line is a JSON string; each output line is {"rows": [[...], ...]} or {"error": "..."}.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [modules, setupFile, queriesFile, outFile] = process.argv.slice(2)
const { DuckDBInstance } = await import(pathToFileURL(path.join(modules, '@duckdb/node-api/lib/index.js')).href)
const instance = await DuckDBInstance.create(':memory:')
const conn = await instance.connect()
for (const stmt of readFileSync(setupFile, 'utf8').split(';\n')) {
  if (stmt.trim()) await conn.run(stmt)
}
const out = []
for (const line of readFileSync(queriesFile, 'utf8').split('\n')) {
  if (!line.trim()) continue
  const sql = JSON.parse(line)
  try {
    const reader = await conn.runAndReadAll(sql)
    out.push(JSON.stringify({ rows: reader.getRowsJson() }))
  } catch (e) {
    out.push(JSON.stringify({ error: String(e.message || e) }))
  }
}
writeFileSync(outFile, out.join('\n') + '\n')
