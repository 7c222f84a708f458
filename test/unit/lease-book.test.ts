/** LeaseBook against a real SQLite file: prefetching, exact grows near the end of a balance, refusals, returns. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDb, migrate, type Db } from '../../src/db/knex.ts';
import { createKey } from '../../src/db/keys-repo.ts';
import { InsufficientCreditsError, TrialExhaustedError } from '../../src/errors/gateway-error.ts';
import { LeaseBook } from '../../src/metering/lease-book.ts';
import { createLogger } from '../../src/logging.ts';
import { booksOf } from '../helpers/ledger.ts';

describe('LeaseBook', () => {
  let dir: string;
  let db: Db;
  let book: LeaseBook;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-leases-'));
    db = createDb({ client: 'sqlite3', connection: path.join(dir, 'leases.sqlite') });
    await migrate(db);
    await db('instances').insert({ id: 'ins_test', started_at: Date.now(), heartbeat_at: Date.now() });
  });

  beforeEach(() => {
    book = new LeaseBook(db, 'ins_test', createLogger({ level: 'silent' }), { ttlMs: 60_000, prefetch: 3, idleMs: 1000 });
  });

  after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const balanceOf = async (keyId: string) => Number((await db('api_keys').where({ id: keyId }).first()).balance_micro);
  const leasedOf = async (keyId: string) => (await booksOf(db, keyId)).openHolds;

  it('grows a lease ahead of demand, so the next requests reserve without the database', async () => {
    const { record } = await createKey(db, { name: 'plenty', credits_usd: 1 });
    await book.reserve(record.id, 100, 0);
    assert.equal(await balanceOf(record.id), 1_000_000 - 400, 'the shortfall plus three more like it');
    await book.reserve(record.id, 100, 0);
    await book.reserve(record.id, 100, 0);
    await book.reserve(record.id, 100, 0);
    assert.equal(await balanceOf(record.id), 1_000_000 - 400, 'three more came from the lease');
    assert.equal(await leasedOf(record.id), 400);
  });

  it('grows by the exact shortfall near the end of a balance, then refuses with a 402 that says what is left', async () => {
    const { record } = await createKey(db, { name: 'short', credits_usd: 0.00025 });
    await book.reserve(record.id, 100, 0);
    await book.reserve(record.id, 100, 0);
    assert.equal(await balanceOf(record.id), 50);
    await assert.rejects(
      book.reserve(record.id, 100, 0),
      (error: Error) => error instanceof InsufficientCreditsError && /may cost up to \$0\.000100 and the key has \$0\.000050 left/.test(error.message),
    );
    assert.equal(await balanceOf(record.id), 50, 'a refusal takes nothing');
  });

  it('spends a trial allowance the same way and refuses with trial_exhausted', async () => {
    const { record } = await createKey(db, { name: 'trial', trial_tokens: 150 });
    await book.reserve(record.id, 0, 100);
    await assert.rejects(book.reserve(record.id, 0, 100), TrialExhaustedError);
  });

  it('serves concurrent reservations of one key with every one backed, and doubles under load', async () => {
    const { record } = await createKey(db, { name: 'burst', credits_usd: 1 });
    const holds = await Promise.all(Array.from({ length: 20 }, () => book.reserve(record.id, 100, 0)));
    assert.equal(holds.length, 20);
    const leased = await leasedOf(record.id);
    assert.ok(leased >= 2000, `the lease covers every hold (${leased})`);
    assert.equal((await balanceOf(record.id)) + leased, 1_000_000);
  });

  it('grows a busy lease by about a second of what it spends, so it is not grown every few requests', async () => {
    const { record } = await createKey(db, { name: 'busy', credits_usd: 1 });
    const spend = async (count: number) => {
      for (let i = 0; i < count; i++) book.settle(await book.reserve(record.id, 100, 0), `req_busy_${i}`, 100, 0);
    };
    // The first grow (3 more like it) is spent at once; the next comes well within a second of it.
    const started = Date.now();
    await spend(4);
    await spend(1);
    const elapsedMs = Date.now() - started;
    const grown = 1_000_000 - (await balanceOf(record.id)) - 400;
    // 400 spent since the first grow, over `elapsedMs`: at least that pace for a second, and never the whole balance.
    assert.ok(grown >= Math.floor((400 * 1000) / Math.max(elapsedMs, 1)) - 100, `grew by ${grown} after ${elapsedMs} ms`);
    assert.ok(grown >= 2000 && grown < 1_000_000, `grew by ${grown}`);
  });

  it('keeps what a request did not spend in the lease, and gives the lease back when idle', async () => {
    const { record } = await createKey(db, { name: 'settle', credits_usd: 1 });
    const hold = await book.reserve(record.id, 100, 0);
    const settlement = book.settle(hold, 'req_1', 30, 0);
    // What the usage writer does once the charge is in the database:
    await db('reservations').where({ id: hold.leaseId }).decrement('amount_micro', 30);
    book.committed([settlement], new Set());
    await book.returnIdle(0);
    assert.equal(await leasedOf(record.id), 0);
    assert.equal(await balanceOf(record.id), 1_000_000 - 30);
  });

  it('forgets a lease another instance released, but not one that grew while the check ran', async () => {
    const { record } = await createKey(db, { name: 'lost', credits_usd: 1 });
    const since = Date.now() - 1;
    await book.reserve(record.id, 100, 0);
    book.keepOnly(new Set(), since);
    await book.reserve(record.id, 100, 0);
    assert.equal(await balanceOf(record.id), 1_000_000 - 400, 'the lease grown after the renewal began was kept');
    book.keepOnly(new Set(), Date.now() + 1);
    await book.reserve(record.id, 100, 0);
    assert.ok((await balanceOf(record.id)) < 1_000_000 - 400, 'a forgotten lease is grown anew');
  });
});
