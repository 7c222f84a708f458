/**
 * The database lost and back during a run: SQLite made unwritable, PostgreSQL cut off through a relay the test owns.
 * While it is down, calls that need it answer 503 (never 401 or 500); when it returns, the gateway recovers without a
 * restart and every usage row queued meanwhile is written. A clean shutdown during the outage spills the rows it
 * cannot write, and the next start writes them.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { createDb, type Db } from '../../src/db/knex.ts';
import { eventually, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { assertBalanced, booksOf } from '../helpers/ledger.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { isOpenAIError } from '../helpers/raw-http.ts';
import { createPgDatabase, PG_URL, requireService } from '../helpers/services.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';
import { count } from './tally.ts';

const ADMIN_TOKEN = 'admin-token-for-outage-tests-0123';

interface Outcome {
  status: number;
  code?: string;
  requestId: string;
}

/** Sends `count` calls at once with the key; returns the statuses, error codes and request ids. */
async function burst(gateway: TestGateway, secret: string, count: number): Promise<Outcome[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const response = await fetch(`${gateway.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'org/model', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 20 }),
      });
      const body = (await response.json()) as { error?: { code: string } };
      if (response.status !== 200) assert.ok(isOpenAIError(body), JSON.stringify(body));
      return { status: response.status, code: body.error?.code, requestId: response.headers.get('x-request-id')! };
    }),
  );
}

/**
 * SQLite cannot be made unwritable by chmod: the gateway's connection keeps its open descriptor, which the file
 * mode no longer governs. What a real outage looks like to SQLite is a write lock it cannot get — a backup, a
 * migration, another process stuck in a write transaction — so another connection holds an exclusive transaction
 * and the gateway's writes fail with SQLITE_BUSY after `database.busy_timeout_ms`. (In WAL mode reads go on.)
 */
class SqliteLock {
  private readonly connection: sqlite3.Database;

  constructor(file: string) {
    this.connection = new sqlite3.Database(file);
  }

  private exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.connection.exec(sql, (error) => (error ? reject(error) : resolve())));
  }

  take = () => this.exec('BEGIN EXCLUSIVE');
  release = () => this.exec('ROLLBACK');
  close = () => new Promise<void>((resolve) => this.connection.close(() => resolve()));
}

/** Writes what is queued and gives the instance's idle leases back to their keys. */
async function returnLeases(gateway: TestGateway): Promise<void> {
  await gateway.running.deps.writer.flush();
  await gateway.running.leases.returnIdle(0);
}

describe('database outages', function () {
  this.timeout(180_000);
  let hf: MockUpstream;

  before(async () => {
    hf = await startMock({ flavor: 'hf' });
  });

  after(async () => {
    await hf.close();
  });

  describe('SQLite made unwritable (another connection holds the write lock)', () => {
    let gateway: TestGateway;
    let lock: SqliteLock;

    before(async () => {
      gateway = await startGateway({
        providers: { huggingface: hfEntry(hf.url) },
        config: { database: { busy_timeout_ms: 100 }, admin: { token: ADMIN_TOKEN } },
      });
      lock = new SqliteLock(gateway.config.database.connection);
    });

    after(async () => {
      await lock.close();
      await gateway.close();
    });

    it('answers 503 (never 401 or 500) while it lasts, recovers without a restart, and loses no usage row', async () => {
      const metered = await gateway.createKey({ name: 'metered', credits_usd: 1 });
      const unmetered = await gateway.createKey({ name: 'unmetered' });
      assert.deepEqual(
        (await burst(gateway, metered.secret, 2)).map(({ status }) => status),
        [200, 200],
      );
      // With no lease left on the key, every metered call needs the database before it may start.
      await returnLeases(gateway);
      await lock.take();
      const down = await burst(gateway, metered.secret, 20);
      assert.ok(
        down.every(({ status, code }) => status === 503 && code === 'service_unavailable'),
        JSON.stringify(down),
      );
      // Unmetered calls need no write before the call: they are served, and their rows wait in the queue.
      assert.ok((await burst(gateway, unmetered.secret, 5)).every(({ status }) => status === 200));
      assert.ok(gateway.running.deps.writer.pending > 0, 'rows are queued while the database refuses writes');
      // SQLite still answers reads under another connection's write lock: readiness says what fails.
      await eventually(() => !gateway.running.deps.writer.healthy, 10_000);
      const health = await fetch(`${gateway.url}/health`);
      assert.equal(health.status, 503);
      assert.equal(((await health.json()) as { checks: { usage_writes: string } }).checks.usage_writes, 'failing');
      // Every route that writes says 503 too, the admin API included.
      const admin = await fetch(`${gateway.url}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'during the outage', credits_usd: 1 }),
      });
      assert.equal(admin.status, 503);
      assert.ok(isOpenAIError(await admin.json()));
      await lock.release();
      const back = await burst(gateway, metered.secret, 5);
      assert.ok(
        back.every(({ status }) => status === 200),
        JSON.stringify(back),
      );
      await eventually(() => gateway.running.deps.writer.pending === 0, 10_000);
      const books = await booksOf(gateway.running.deps.db, metered.record.id);
      const unmeteredRows = (await booksOf(gateway.running.deps.db, unmetered.record.id)).usageRows;
      count({ requests: 33, faults: 1, rowsExpected: 32, rowsLost: Math.max(0, 27 - books.usageRows) + Math.max(0, 5 - unmeteredRows) });
      assert.equal(books.usageRows, 27, 'one row per answered call, the refused ones included');
      assertBalanced(books, assert);
      assert.equal(unmeteredRows, 5);
      console.log(`      SQLite outage: 27 metered calls (20 refused with 503 while locked), 5 unmetered served, 0 rows lost`);
    });

    it('keeps serving a key from the lease this instance already holds while the database is down', async () => {
      const { secret, record } = await gateway.createKey({ name: 'leased', credits_usd: 1 });
      assert.equal((await burst(gateway, secret, 1))[0].status, 200);
      await gateway.running.deps.writer.flush();
      await lock.take();
      // The lease was grown ahead of demand: this call's money left the balance before the outage began.
      assert.equal((await burst(gateway, secret, 1))[0].status, 200);
      await lock.release();
      await eventually(() => gateway.running.deps.writer.pending === 0, 10_000);
      await returnLeases(gateway);
      const books = await booksOf(gateway.running.deps.db, record.id);
      assert.equal(books.usageRows, 2);
      assertBalanced(books, assert);
    });

    it('a clean shutdown during the outage spills the unwritten rows, and the next start writes them', async () => {
      const { secret, record } = await gateway.createKey({ name: 'spill', credits_usd: 1 });
      const dbFile = gateway.config.database.connection;
      const spillFile = `${dbFile}.unwritten-usage.jsonl`;
      assert.ok((await burst(gateway, secret, 3)).every(({ status }) => status === 200));
      await returnLeases(gateway);
      await lock.take();
      assert.ok((await burst(gateway, secret, 4)).every(({ status }) => status === 503));
      await gateway.running.close();
      assert.ok(existsSync(spillFile), 'the rows went to the spill file');
      await lock.release();
      const next = await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: { database: { connection: dbFile } } });
      try {
        await eventually(() => next.running.deps.writer.pending === 0 && next.running.deps.writer.written >= 4, 10_000);
        const books = await booksOf(next.running.deps.db, record.id);
        console.log(`      SQLite outage at shutdown: 7 calls answered, ${books.usageRows} usage rows after the restart, ${7 - books.usageRows} lost`);
        count({ requests: 7, faults: 1, rowsExpected: 7, rowsLost: Math.max(0, 7 - books.usageRows) });
        assert.equal(books.usageRows, 7);
        assert.equal(existsSync(spillFile), false, 'the spill file is consumed');
        assertBalanced(books, assert);
      } finally {
        await next.close();
      }
    });
  });

  describe('a long SQLite outage: the usage queue is bounded', () => {
    it('moves rows past metering.max_pending_rows to the spill file, and writes them once the database is back', async () => {
      const gateway = await startGateway({
        providers: { huggingface: hfEntry(hf.url) },
        config: { database: { busy_timeout_ms: 50 }, metering: { max_pending_rows: 10 } },
      });
      const lock = new SqliteLock(gateway.config.database.connection);
      try {
        const { secret, record } = await gateway.createKey({ name: 'unmetered' });
        await lock.take();
        const served = [...(await burst(gateway, secret, 20)), ...(await burst(gateway, secret, 20))];
        assert.ok(served.every(({ status }) => status === 200));
        // The bound, plus at most one row of a batch that was being written when the overflow came.
        assert.ok(gateway.running.deps.writer.pending <= 11, `${gateway.running.deps.writer.pending} rows in memory`);
        assert.ok(existsSync(`${gateway.config.database.connection}.unwritten-usage.jsonl`), 'the overflow is on disk');
        await lock.release();
        await burst(gateway, secret, 1);
        await eventually(async () => (await booksOf(gateway.running.deps.db, record.id)).usageRows === 41, 10_000);
        assert.equal(existsSync(`${gateway.config.database.connection}.unwritten-usage.jsonl`), false, 'taken back and written');
        count({ requests: 41, faults: 1, rowsExpected: 41 });
        console.log(`      long SQLite outage: 40 calls served while locked with at most 10 rows queued in memory, 41 usage rows after, 0 lost`);
      } finally {
        await lock.release().catch(() => undefined);
        await lock.close();
        await gateway.close();
      }
    });
  });

  describe('PostgreSQL cut off through a TCP relay', () => {
    let database: Awaited<ReturnType<typeof createPgDatabase>> | undefined;
    let relay: TcpRelay | undefined;
    let gateway: TestGateway;
    let direct: Db;

    before(async function () {
      await requireService(this, 'postgres');
      database = await createPgDatabase();
      const target = new URL(PG_URL);
      relay = await new TcpRelay(target.hostname, Number(target.port || 5432)).start();
      gateway = await startGateway({
        providers: { huggingface: hfEntry(hf.url) },
        config: {
          database: { client: 'pg', connection: relay.rewrite(database.url), busy_timeout_ms: 500, pool_max: 4 },
          // Every call looks its key up: the outage must reach authentication too, and still never answer 401.
          metering: { key_cache_ttl_ms: 0, spill_file: path.join(tmpdir(), `switchyard-spill-${process.pid}-${Date.now()}.jsonl`) },
        },
      });
      direct = createDb({ client: 'pg', connection: database.url });
    });

    after(async () => {
      await gateway?.close();
      await direct?.destroy();
      await relay?.close();
      await database?.drop();
    });

    it('answers 503 (never 401 or 500) while cut off, recovers without a restart, and loses no usage row', async () => {
      const { secret, record } = await gateway.createKey({ name: 'pg', credits_usd: 1 });
      const answered: string[] = [];
      const send = async (count: number) => {
        const results = await burst(gateway, secret, count);
        answered.push(...results.map(({ requestId }) => requestId));
        return results;
      };
      assert.ok((await send(3)).every(({ status }) => status === 200));
      relay!.cut();
      const down = await send(20);
      assert.ok(
        down.every(({ status, code }) => status === 503 && code === 'service_unavailable'),
        JSON.stringify(down),
      );
      const health = await fetch(`${gateway.url}/health`);
      assert.equal(health.status, 503);
      assert.equal(((await health.json()) as { checks: { database: string } }).checks.database, 'unavailable');
      relay!.restore();
      await eventually(async () => (await send(1))[0].status === 200, 15_000);
      assert.ok((await send(5)).every(({ status }) => status === 200));
      await eventually(() => gateway.running.deps.writer.pending === 0, 10_000);
      // Calls refused before their key could be checked have rows without a key id: count them by request id.
      const rows = Number((await direct('usage').whereIn('request_id', answered).count({ n: '*' }).first())!.n);
      console.log(
        `      PostgreSQL outage: ${answered.length} calls answered, ${rows} usage rows, ${answered.length - rows} lost, ${relay!.faults} connections cut or refused`,
      );
      count({ requests: answered.length, faults: relay!.faults, rowsExpected: answered.length, rowsLost: Math.max(0, answered.length - rows) });
      assert.equal(rows, answered.length, 'every call answered during and after the outage has its row');
      assertBalanced(await booksOf(direct, record.id), assert);
    });
  });
});
