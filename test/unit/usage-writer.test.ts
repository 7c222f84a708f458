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
    const writer = new UsageWriter(db, logger, { flushIntervalMs: 1, batchSize: 100, onCommitted: (settlements, missing) => leases.committed(settlements, missing) });
    const { record } = await createKey(db, { name: 'once', credits_usd: 1 });
    const hold = await leases.reserve(record.id, 100, 0);
    const requestId = newRequestId();
    const item: FinishedRequest = {
      row: { request_id: requestId, key_id: record.id, endpoint: 'chat', provider: 'p', model: 'm', prompt_tokens: 5, completion_tokens: 5, cost_micro: 40, status: 200, error_code: null, latency_ms: 1, ttft_ms: null, stream: false, estimated: false, attempts: 1, created_at: Date.now() },
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
  });
});
