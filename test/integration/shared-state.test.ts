/**
 * Several instances, one database and one Redis: a balance never goes negative under concurrency, the ledger
 * matches the usage rows to the micro-dollar, and a rate limit holds across instances.
 */
import assert from 'node:assert/strict';
import type { APIError } from 'openai';
import { createKey } from '../../src/db/keys-repo.ts';
import { HF_KEY, hfEntry, startGateway, startGatewaysOnPostgres, type GatewaysOnPostgres, type TestGateway } from '../helpers/gateway.ts';
import { assertBalanced, booksOf } from '../helpers/ledger.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { redisPrefix, requireService, REDIS_URL } from '../helpers/services.ts';
import { holdMicro, TEST_PRICES } from '../helpers/costs.ts';

const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const HI = [{ role: 'user' as const, content: 'Hi' }];
const MAX_TOKENS = 100;
/** The hold of one request: prompt estimate + max_tokens at 0.20 / 0.60 USD per million tokens. */
const WORST_CASE_MICRO = holdMicro(HI, MAX_TOKENS, TEST_PRICES['meta-llama/*']);

/** Fires `count` requests at once, alternating between the gateways; returns the statuses. */
async function burst(gateways: TestGateway[], secret: string, count: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      gateways[i % gateways.length]
        .client(secret)
        .chat.completions.create({ model: LLAMA, messages: HI, max_tokens: MAX_TOKENS })
        .then(
          () => 200,
          (error: APIError) => error.status ?? 0,
        ),
    ),
  );
}

/** Writes every usage row and gives every lease back, so the books can be read whole. */
async function settle(gateways: TestGateway[]): Promise<void> {
  for (const gateway of gateways) await gateway.running.deps.writer.flush();
  for (const gateway of gateways) await gateway.running.leases.returnIdle(0);
}

describe('shared state across instances', function () {
  this.timeout(60_000);

  describe('two instances on one PostgreSQL database', () => {
    let hf: MockUpstream;
    let shared: GatewaysOnPostgres | undefined;
    let gateways: TestGateway[] = [];

    before(async function () {
      await requireService(this, 'postgres');
      hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
      shared = await startGatewaysOnPostgres(2, { huggingface: hfEntry(hf.url) });
      gateways = shared.gateways;
    });

    after(async () => {
      await shared?.close();
      await hf?.close();
    });

    it('keeps the balance ≥ 0 and ledger == usage with 20×N concurrent requests for a key funded for N', async () => {
      const n = 5;
      const { secret, record } = await createKey(gateways[0].running.deps.db, { name: 'burst', credits_usd: (n * WORST_CASE_MICRO) / 1e6 });
      const statuses = await burst(gateways, secret, 20 * n);
      await settle(gateways);
      const books = await booksOf(gateways[0].running.deps.db, record.id);
      const served = statuses.filter((status) => status === 200).length;
      assert.ok(served >= n, `at least the ${n} funded requests are served (served ${served})`);
      assert.ok(
        statuses.every((status) => status === 200 || status === 402),
        `only 200 and 402: ${[...new Set(statuses)]}`,
      );
      assert.ok(statuses.includes(402), 'the burst outruns the funds');
      assert.equal(books.usageRows, 20 * n);
      assert.equal(books.openHolds, 0);
      assertBalanced(books, assert);
      assert.equal(books.usageCost, served * 7, 'each served request cost exactly 7 micro-USD');
    });

    it('keeps the books exact when a key has funds for one worst-case request', async () => {
      const { secret, record } = await createKey(gateways[0].running.deps.db, { name: 'one', credits_usd: (WORST_CASE_MICRO + 3) / 1e6 });
      const statuses = await burst(gateways, secret, 10);
      await settle(gateways);
      assert.ok(statuses.filter((status) => status === 200).length >= 1);
      assertBalanced(await booksOf(gateways[0].running.deps.db, record.id), assert);
    });
  });

  describe('two instances on one SQLite file', () => {
    let hf: MockUpstream;
    let gateways: TestGateway[] = [];

    before(async () => {
      hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
      gateways = [await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: { rate_limit: { requests_per_window: 100_000 } } })];
      const shared = { database: { connection: gateways[0].config.database.connection }, rate_limit: { requests_per_window: 100_000 } };
      gateways.push(await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: shared }));
    });

    after(async () => {
      for (const gateway of gateways.reverse()) await gateway.close();
      await hf.close();
    });

    it('keeps the same books with 20×N concurrent requests', async () => {
      const n = 4;
      const { secret, record } = await createKey(gateways[0].running.deps.db, { name: 'sqlite burst', credits_usd: (n * WORST_CASE_MICRO) / 1e6 });
      const statuses = await burst(gateways, secret, 20 * n);
      await settle(gateways);
      const books = await booksOf(gateways[0].running.deps.db, record.id);
      assert.ok(
        statuses.every((status) => status === 200 || status === 402),
        `statuses ${[...new Set(statuses)]}`,
      );
      assert.equal(books.usageRows, 20 * n);
      assertBalanced(books, assert);
    });
  });

  describe('two instances on one Redis', () => {
    let hf: MockUpstream;
    let gateways: TestGateway[] = [];
    let redis: ReturnType<typeof redisPrefix> | undefined;

    before(async function () {
      await requireService(this, 'redis');
      redis = redisPrefix();
      hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
      const first = await startGateway({
        providers: { huggingface: hfEntry(hf.url) },
        config: { rate_limit: { store: 'redis', redis_url: REDIS_URL, prefix: redis.prefix } },
      });
      const shared = { database: { connection: first.config.database.connection }, rate_limit: { store: 'redis', redis_url: REDIS_URL, prefix: redis.prefix } };
      gateways = [first, await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: shared })];
    });

    after(async () => {
      for (const gateway of gateways.reverse()) await gateway.close();
      await hf?.close();
      await redis?.drop();
    });

    it('shares one count: a key with rpm 4 gets 4 answers in all, then 429 from either instance', async () => {
      const { secret } = await createKey(gateways[0].running.deps.db, { name: 'limited', rpm: 4 });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const response = await fetch(`${gateways[i % 2].baseURL}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: LLAMA, messages: HI }),
        });
        statuses.push(response.status);
        if (response.status === 429) assert.match(response.headers.get('ratelimit') ?? '', /r=0/);
        await response.arrayBuffer();
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    });
  });
});
