/** UsageWriter: a usage row and its charge are written exactly once, even when the same row comes twice. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDb, migrate, type Db } from '../../src/db/knex.ts';
import { createKey } from '../../src/db/keys-repo.ts';
import { createLogger } from '../../src/logging.ts';
import { LeaseBook } from '../../src/metering/lease-book.ts';
import { UsageWriter, type FinishedRequest } from '../../src/metering/usage-writer.ts';
import { newRequestId } from '../../src/middleware/request-id.ts';
import { assertBalanced, booksOf } from '../helpers/ledger.ts';
import { fakeUsageRow } from '../helpers/usage-rows.ts';

describe('UsageWriter', () => {
  let dir: string;
  let db: Db;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-writer-'));
    db = createDb({ client: 'sqlite3', connection: path.join(dir, 'writer.sqlite') });
    await migrate(db);
    await db('instances').insert({ id: 'ins_w', started_at: Date.now(), heartbeat_at: Date.now() });
  });

  after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a row and its charge once, when a batch is replayed (an ambiguous commit, a spill read twice)', async () => {
    const logger = createLogger({ level: 'silent' });
    const leases = new LeaseBook(db, 'ins_w', logger, { ttlMs: 60_000, prefetch: 0, idleMs: 1000 });
    const writer = new UsageWriter(db, logger, {
      flushIntervalMs: 1,
      batchSize: 100,
      onCommitted: (settlements, missing) => leases.committed(settlements, missing),
    });
    const { record } = await createKey(db, { name: 'once', credits_usd: 1 });
    const hold = await leases.reserve(record.id, 100, 0);
    const requestId = newRequestId();
    const item: FinishedRequest = {
      row: fakeUsageRow({ request_id: requestId, key_id: record.id, prompt_tokens: 5, completion_tokens: 5, cost_micro: 40 }),
      settlement: leases.settle(hold, requestId, 40, 0),
    };
    writer.enqueue(item);
    await writer.flush();
    writer.requeue([structuredClone(item)]);
    await writer.flush();
    await leases.returnIdle(0);
    const books = await booksOf(db, record.id);
    assert.equal(books.usageRows, 1);
    assert.equal(books.ledgerCharges, 40);
    assert.equal(books.unspentMicro, 1_000_000 - 40);
    assertBalanced(books, assert);
    const daily = await db('usage_daily').where({ key_id: record.id });
    assert.equal(daily.length, 1);
    assert.equal(Number(daily[0].requests), 1, 'a replayed row is not counted twice in the daily aggregates');
    assert.equal(Number(daily[0].cost_micro), 40);
  });

  it('adds rows to the aggregate of the UTC day they started on, across midnight', async () => {
    const logger = createLogger({ level: 'silent' });
    const writer = new UsageWriter(db, logger, { flushIntervalMs: 1, batchSize: 100 });
    const midnight = Date.UTC(2026, 0, 1);
    const row = (createdAt: number, status: number, ttft: number | null): FinishedRequest => ({
      row: fakeUsageRow({
        key_id: 'key_midnight',
        prompt_tokens: 3,
        completion_tokens: 2,
        cost_micro: 10,
        status,
        latency_ms: 7,
        ttft_ms: ttft,
        stream: ttft !== null,
        created_at: createdAt,
      }),
    });
    writer.requeue([row(midnight - 1, 200, 5), row(midnight - 2, 502, null), row(midnight, 200, null)]);
    await writer.flush();
    writer.requeue([row(midnight + 1, 429, 3)]);
    await writer.flush();
    const daily = await db('usage_daily').where({ key_id: 'key_midnight' }).orderBy('day');
    assert.deepEqual(
      daily.map((d) => [
        d.day,
        d.model,
        d.provider,
        ...['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost_micro', 'latency_ms_sum', 'ttft_ms_sum', 'ttft_count'].map((c) => Number(d[c])),
      ]),
      [
        ['2025-12-31', 'm', 'p', 2, 1, 6, 4, 20, 14, 5, 1],
        ['2026-01-01', 'm', 'p', 2, 1, 6, 4, 20, 14, 3, 1],
      ],
    );
  });

  it('commits once per interval under a steady stream of rows, not a few rows at a time back to back; flush() writes them all', async () => {
    const logger = createLogger({ level: 'silent' });
    let transactions = 0;
    // The writer's database, counting the transactions it opens.
    const counted = new Proxy(db, {
      get: (target, property, receiver) =>
        property === 'transaction'
          ? (...args: Parameters<Db['transaction']>) => {
              transactions++;
              return target.transaction(...args);
            }
          : Reflect.get(target, property, receiver),
    });
    const writer = new UsageWriter(counted, logger, { flushIntervalMs: 50, batchSize: 10_000 });
    const row = (): FinishedRequest => ({ row: fakeUsageRow({ key_id: 'key_steady' }) });
    // 300 rows, one a millisecond or so: rows keep arriving while a write is in progress.
    const started = Date.now();
    for (let i = 0; i < 300; i++) {
      writer.enqueue(row());
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await writer.flush();
    const elapsedMs = Date.now() - started;
    assert.equal(writer.written, 300);
    assert.equal(Number((await db('usage').where({ key_id: 'key_steady' }).count({ n: '*' }))[0].n), 300);
    // One commit per 50 ms interval, and the last flush; back to back it was one every write (tens more).
    assert.ok(transactions <= Math.ceil(elapsedMs / 50) + 2, `${transactions} transactions in ${elapsedMs} ms`);
  });
});
