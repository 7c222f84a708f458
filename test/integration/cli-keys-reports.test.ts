/**
 * The CLI's key lifecycle and reports: budgets, tpm and expiry on `keys create` and `keys update`, the new fields of
 * `keys list`, and `usage` newest first with --limit (default 100), --until and key names beside ids when grouped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli/program.ts';
import { createDb, migrate, type Db } from '../../src/db/knex.ts';
import { createLogger } from '../../src/logging.ts';
import { UsageWriter, type UsageRow } from '../../src/metering/usage-writer.ts';
import { newRequestId } from '../../src/middleware/request-id.ts';
import { fakeUsageRow } from '../helpers/usage-rows.ts';
import { ROOT } from '../helpers/gateway.ts';

const HOUR = 3_600_000;

describe('switchyard CLI: key lifecycle and reports', () => {
  let dir: string;
  let configPath: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-cli-reports-'));
    configPath = path.join(dir, 'gateway.yaml');
    writeFileSync(configPath, `database:\n  connection: ./cli.sqlite\nlogging:\n  level: silent\nplugins_dir: ${path.join(ROOT, 'plugins')}\nproviders: {}\n`);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(
      [...args, '--config', configPath],
      (line) => out.push(line),
      (line) => err.push(line),
    );
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  const json = async (...args: string[]) => {
    const run = await cli(...args, '--json');
    assert.equal(run.code, 0, run.err);
    return JSON.parse(run.out) as Record<string, unknown>;
  };

  it('creates a key with a budget, tpm and expiry, updates it live, and lists the new fields', async () => {
    const key = await json('keys', 'create', '--name', 'intern', '--budget', '50', '--budget-period', 'week', '--tpm', '20000', '--expires', '2027-01-31');
    assert.deepEqual(
      [key.budget_usd, key.budget_period, key.budget_spent_usd, key.tpm, key.expires_at, key.last_used_at],
      [50, 'week', 0, 20000, '2027-02-01T00:00:00.000Z', null],
    );
    assert.match(String(key.budget_resets_at), /^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
    assert.equal(new Date(String(key.budget_resets_at)).getUTCDay(), 1, 'a week resets on Monday');
    const monthly = await json('keys', 'create', '--name', 'monthly', '--budget', '5');
    assert.equal(monthly.budget_period, 'month', 'month is the default period');
    assert.equal(new Date(String(monthly.budget_resets_at)).getUTCDate(), 1);

    const updated = await json(
      'keys',
      'update',
      String(key.id),
      '--name',
      'intern-2',
      '--budget',
      '10',
      '--tpm',
      'none',
      '--rpm',
      '30',
      '--models',
      'meta-llama/*',
      '--expires',
      '30d',
    );
    assert.deepEqual(
      [updated.name, updated.budget_usd, updated.budget_period, updated.tpm, updated.rpm, updated.models],
      ['intern-2', 10, 'week', null, 30, ['meta-llama/*']],
    );
    assert.ok(Math.abs(Date.parse(String(updated.expires_at)) - (Date.now() + 30 * 86_400_000)) < 60_000);
    const period = await json('keys', 'update', String(key.id), '--budget-period', 'day', '--expires', 'none');
    assert.deepEqual([period.budget_period, period.expires_at], ['day', null]);

    const listed = JSON.parse((await cli('keys', 'list', '--json')).out) as Record<string, unknown>[];
    const entry = listed.find((item) => item.id === key.id)!;
    for (const field of ['budget_usd', 'budget_period', 'budget_spent_usd', 'budget_resets_at', 'tpm', 'expires_at', 'last_used_at'])
      assert.ok(field in entry, field);
    const table = (await cli('keys', 'list')).out;
    assert.match(table, /BUDGET_USD\s+BUDGET_RESETS\s+RPM\s+TPM\s+MODELS\s+EXPIRES\s+LAST_USED/);
    assert.match(table, /0\.00\/10\.00 day/);
    // A budget below a cent is not shown as 0.00/0.00.
    const tiny = await json('keys', 'create', '--name', 'tiny', '--budget', '0.00005');
    assert.match((await cli('keys', 'list')).out, new RegExp(`${String(tiny.id)}\\s.*0\\.000000/0\\.000050 month`));
    const plain = await cli('keys', 'update', String(key.id), '--rpm', '31');
    assert.match(plain.out, /Updated key .* within 10 seconds/);
  });

  const bad: [string, string[], RegExp][] = [
    ['a non-numeric --budget', ['keys', 'create', '--name', 'x', '--budget', 'lots'], /--budget must be an amount of USD/],
    [
      'an unknown --budget-period',
      ['keys', 'create', '--name', 'x', '--budget', '5', '--budget-period', 'year'],
      /'--budget-period <period>' argument 'year' is invalid\. It must be one of day, week, month/,
    ],
    ['--budget-period without --budget', ['keys', 'create', '--name', 'x', '--budget-period', 'day'], /'--budget-period' needs --budget/],
    ['a bad --expires', ['keys', 'create', '--name', 'x', '--expires', 'friday'], /--expires: an expiry must be a date/],
    ['an impossible --expires date', ['keys', 'create', '--name', 'x', '--expires', '2027-02-30'], /not a calendar date/],
    ['a zero --tpm', ['keys', 'create', '--name', 'x', '--tpm', '0'], /--tpm must be a whole number greater than 0/],
    ['an update with nothing to change', ['keys', 'update', 'key_x'], /nothing to change/],
    ['a bad --until', ['usage', '--until', 'soon'], /'--until <iso>' argument 'soon' is invalid\. It must be an ISO date/],
    ['a bad --limit', ['usage', '--limit', '0'], /'--limit <rows>' argument '0' is invalid\. It must be at least 1/],
  ];
  it('refuses an update of an unknown key with exit code 1 (well formed, but no such key)', async () => {
    const run = await cli('keys', 'update', 'key_nope', '--rpm', '5');
    assert.equal(run.code, 1, run.err);
    assert.match(run.err, /no key with ID 'key_nope'/);
  });

  for (const [label, args, message] of bad) {
    it(`refuses ${label} with a clear message and exit code 2`, async () => {
      const run = await cli(...args);
      assert.equal(run.code, 2, run.err);
      assert.match(run.err, message);
    });
  }

  describe('usage reports', () => {
    let db: Db;
    const keys: Record<string, string> = {};
    const rows: UsageRow[] = [];
    const start = Date.UTC(2026, 10, 10, 6, 0, 0);

    before(async () => {
      for (const name of ['alpha team', 'beta team']) keys[name] = String((await json('keys', 'create', '--name', name)).id);
      db = createDb({ client: 'sqlite3', connection: path.join(dir, 'cli.sqlite') });
      await migrate(db);
      // 150 rows two hours apart over about 12 days, alternating keys and models; written as the gateway does.
      for (let i = 0; i < 150; i++) {
        const createdAt = start + i * 2 * HOUR;
        rows.push(
          fakeUsageRow({
            request_id: newRequestId(createdAt),
            key_id: keys[i % 3 === 0 ? 'alpha team' : 'beta team'],
            provider: 'huggingface',
            model: i % 2 ? 'org/a' : 'org/b',
            prompt_tokens: 10 + i,
            completion_tokens: i,
            cost_micro: 100 + i,
            status: i % 10 === 0 ? 502 : 200,
            latency_ms: 5,
            created_at: createdAt,
          }),
        );
      }
      const writer = new UsageWriter(db, createLogger({ level: 'silent' }), { flushIntervalMs: 1, batchSize: 1000 });
      writer.requeue(rows.map((row) => ({ row })));
      await writer.flush();
      assert.equal(writer.written, rows.length, 'every row is written');
    });

    after(async () => {
      await db.destroy();
    });

    const usage = async (...args: string[]) => JSON.parse((await cli('usage', ...args, '--json')).out) as Record<string, unknown>[];

    it('lists rows newest first, 100 by default, --limit N of them, and those before --until', async () => {
      const newest = [...rows].reverse();
      const all = await usage();
      assert.equal(all.length, 100);
      assert.deepEqual(
        all.map((row) => row.request_id),
        newest.slice(0, 100).map((row) => row.request_id),
      );
      assert.deepEqual(
        (await usage('--limit', '3')).map((row) => row.request_id),
        newest.slice(0, 3).map((row) => row.request_id),
      );
      const until = new Date(start + 20 * 2 * HOUR).toISOString();
      const before = await usage('--until', until, '--limit', '1000');
      assert.deepEqual(
        before.map((row) => row.request_id),
        newest.filter((row) => row.created_at < Date.parse(until)).map((row) => row.request_id),
      );
      const table = await cli('usage', '--limit', '5');
      assert.match(table.out, /5 requests, .* \(the newest 5; --limit N or --until .* for more\)\./);
    });

    it('groups by key with names beside ids, exactly as the rows sum up, across whole and partial days', async () => {
      const since = start + 13 * HOUR + 7 * 60_000;
      const until = start + 8 * 24 * HOUR + 5 * HOUR;
      const groups = await usage('--group-by', 'key', '--since', new Date(since).toISOString(), '--until', new Date(until).toISOString());
      const expected = Object.entries(keys).map(([name, id]) => {
        const mine = rows.filter((row) => row.key_id === id && row.created_at >= since && row.created_at < until);
        return {
          group: id,
          name,
          requests: mine.length,
          prompt_tokens: mine.reduce((sum, row) => sum + row.prompt_tokens, 0),
          completion_tokens: mine.reduce((sum, row) => sum + row.completion_tokens, 0),
          cost_usd: mine.reduce((sum, row) => sum + row.cost_micro, 0) / 1e6,
        };
      });
      assert.deepEqual(
        groups,
        expected.sort((a, b) => (a.group < b.group ? -1 : 1)),
      );
      const table = (await cli('usage', '--group-by', 'key')).out;
      assert.match(table, /KEY\s+NAME\s+REQUESTS/);
      assert.match(table, /alpha team/);
      const days = await usage('--group-by', 'day');
      assert.equal(
        days.reduce((sum, day) => sum + Number(day.requests), 0),
        150,
      );
      assert.deepEqual(
        days.map((day) => day.group),
        [...new Set(rows.map((row) => new Date(row.created_at).toISOString().slice(0, 10)))],
      );
    });
  });
});
