// The DuckDB contender of the end-to-end comparison, driven by bench/compare/compare.py.
// Usage: node duckdb_bench.mjs SPEC.json  (SPEC: {db, csv, queries: {q1: sql, ...}, runs,
// threads}). Loads the CSV into a table of a persistent database file with read_csv
// (money as DECIMAL(18,10), so sums are exact), checkpoints, then runs every query once
// unmeasured and `runs` times measured, and prints one JSON object on standard output:
// load seconds, per-query run times in ms and the rows of the last run, and this
// process's peak resident memory (VmHWM).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const modulePath = process.env.DUCKDB_NODE_API;
const { DuckDBInstance } = await import(modulePath ?? '@duckdb/node-api');

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const options = {};
if (spec.threads) options.threads = String(spec.threads);
const instance = await DuckDBInstance.create(spec.db, options);
const conn = await instance.connect();

const csv = spec.csv.replaceAll("'", "''");
const t0 = performance.now();
await conn.run(`CREATE TABLE cost (
  time TIMESTAMP, account VARCHAR, cloud VARCHAR, flow VARCHAR, instance_type VARCHAR,
  resource VARCHAR, run_id VARCHAR, step VARCHAR, cost DECIMAL(18,10), gpu_util DOUBLE,
  gpu_count INTEGER)`);
await conn.run(`INSERT INTO cost SELECT * FROM read_csv('${csv}', header = true, columns = {
  'time': 'TIMESTAMP', 'account': 'VARCHAR', 'cloud': 'VARCHAR', 'flow': 'VARCHAR',
  'instance_type': 'VARCHAR', 'resource': 'VARCHAR', 'run_id': 'VARCHAR', 'step': 'VARCHAR',
  'cost': 'DECIMAL(18,10)', 'gpu_util': 'DOUBLE', 'gpu_count': 'INTEGER'})`);
// The load is committed (WAL fsynced) when INSERT returns; CHECKPOINT writes it into the
// database file, which is what the on-disk size measures.
await conn.run('CHECKPOINT');
const loadSeconds = (performance.now() - t0) / 1000;
const count = (await conn.runAndReadAll('SELECT count(*) FROM cost')).getRowsJson()[0][0];

const queries = {};
for (const [name, sql] of Object.entries(spec.queries)) {
  const times = [];
  let rows = null;
  for (let i = 0; i <= spec.runs; i++) {
    const s = performance.now();
    const reader = await conn.runAndReadAll(sql);
    rows = reader.getRowsJson();
    const ms = performance.now() - s;
    if (i > 0) times.push(ms);
  }
  queries[name] = { ms: times, rows };
}

const status = readFileSync('/proc/self/status', 'utf8');
const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) * 1024;
conn.closeSync();
instance.closeSync?.();
process.stdout.write(JSON.stringify({ load_seconds: loadSeconds, count: String(count),
                                      peak_rss_bytes: hwm, queries }) + '\n');
