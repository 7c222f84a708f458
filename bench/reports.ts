/**
 * `node --import tsx bench/reports.ts [--rows 1000000] [--no-pg] [--runs 5]`: seeds SQLite (a temporary file) and
 * PostgreSQL (a fresh database at DATABASE_URL_PG, dropped afterwards) with a million usage rows and their daily
 * aggregates, then times every report query the CLI, the admin API and /v1/usage run, and prints the median and
 * the slowest of each against the 200 ms target.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createDb, migrate, type Db } from '../src/db/knex.ts';
import { getKey, listKeys } from '../src/db/keys-repo.ts';
import { groupUsage, listUsage, usageTotals } from '../src/db/usage-repo.ts';
import { seedUsage } from './seed-usage.ts';

const { values: args } = parseArgs({
  options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' }, 'no-pg': { type: 'boolean' } },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const TARGET_MS = 200;
const DAY_MS = 86_400_000;

type Query = [name: string, run: (db: Db) => Promise<unknown>];

/** Every report, as the commands run it. `end` is the newest row's time; keys are the seeded ones. */
function queries(end: number, keys: string[]): Query[] {
  const busy = keys[0];
  const quiet = keys.at(-1)!;
  const midWeek = end - 7 * DAY_MS + 3_600_000 * 13.5;
  return [
    ['usage (newest 100)', (db) => listUsage(db, { limit: 100 })],
    ['usage --limit 1000', (db) => listUsage(db, { limit: 1000 })],
    ['usage --until (15 days back)', (db) => listUsage(db, { until: end - 15 * DAY_MS, limit: 100 })],
    ['usage --key (busiest key)', (db) => listUsage(db, { keyId: busy, limit: 100 })],
    ['usage --key (quietest) --since 7d', (db) => listUsage(db, { keyId: quiet, since: end - 7 * DAY_MS, limit: 100 })],
    ['usage --group-by model', (db) => groupUsage(db, {}, 'model')],
    ['usage --group-by day', (db) => groupUsage(db, {}, 'day')],
    ['usage --group-by key (names)', (db) => groupUsage(db, {}, 'key')],
    ['usage --group-by key --since mid-day', (db) => groupUsage(db, { since: midWeek }, 'key')],
    ['usage --group-by model --since/--until mid-day', (db) => groupUsage(db, { since: midWeek, until: end - DAY_MS / 3 }, 'model')],
    ['usage --key --group-by day', (db) => groupUsage(db, { keyId: busy }, 'day')],
    ['keys list (budgets, last_used_at)', (db) => listKeys(db)],
    ['GET /v1/usage (key + totals)', (db) => Promise.all([getKey(db, busy), usageTotals(db, busy)])],
  ];
}

async function time(db: Db, run: Query[1]): Promise<{ median: number; max: number }> {
  await run(db); // warm: caches and prepared plans, as a running gateway has them
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run(db);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], max: samples.at(-1)! };
}

async function benchOne(label: string, db: Db): Promise<boolean> {
  await migrate(db);
  const end = Date.now();
  const seeding = performance.now();
  const keys = await seedUsage(db, { rows: ROWS, keys: 50, days: 30, end }, (done) => process.stderr.write(`\r${label}: ${done} rows`));
  if (db.client.config.client === 'pg') await db.raw('ANALYZE');
  else await db.raw('ANALYZE');
  process.stderr.write(`\r${label}: ${ROWS} rows seeded in ${((performance.now() - seeding) / 1000).toFixed(1)} s\n`);
  console.log(`\n${label}, ${ROWS.toLocaleString('en')} usage rows (${RUNS} runs each)`);
  console.log(`${'query'.padEnd(48)}${'median ms'.padStart(11)}${'max ms'.padStart(9)}  target`);
  let allFast = true;
  for (const [name, run] of queries(end, keys)) {
    const { median, max } = await time(db, run);
    const ok = max < TARGET_MS;
    allFast &&= ok;
    console.log(`${name.padEnd(48)}${median.toFixed(1).padStart(11)}${max.toFixed(1).padStart(9)}  ${ok ? 'ok' : `OVER ${TARGET_MS}`}`);
  }
  return allFast;
}

async function main(): Promise<void> {
  let allFast = true;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-reports-'));
  const sqlite = createDb({ client: 'sqlite3', connection: path.join(dir, 'reports.sqlite') });
  try {
    allFast = (await benchOne('SQLite', sqlite)) && allFast;
  } finally {
    await sqlite.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  if (!args['no-pg']) {
    const base = process.env.DATABASE_URL_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
    const name = `switchyard_reports_${process.pid}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    const postgres = createDb({ client: 'pg', connection: url.toString() });
    try {
      allFast = (await benchOne('PostgreSQL', postgres)) && allFast;
    } finally {
      await postgres.destroy();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }
  console.log(allFast ? `\nEvery report query answered within ${TARGET_MS} ms.` : `\nSome report queries took ${TARGET_MS} ms or more.`);
  process.exitCode = allFast ? 0 : 1;
}

await main();
