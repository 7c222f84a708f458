/**
 * Budgets per calendar period: a monthly budget from creation to its 402 and its reset (with an injected clock, no
 * waiting for midnight), a request spanning the boundary charged to the period it started in, live changes through
 * the admin API, and a concurrent burst on two instances sharing PostgreSQL that never spends past the budget.
 */
import assert from 'node:assert/strict';
import type { APIError } from 'openai';
import { countChatPromptTokens, reservePromptTokens } from '../../src/metering/tokens.ts';
import { HF_KEY, hfEntry, startGateway, startGatewaysOnPostgres, type GatewaysOnPostgres, type TestGateway } from '../helpers/gateway.ts';
import { assertBalanced, booksOf } from '../helpers/ledger.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { requireService } from '../helpers/services.ts';

const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const HI = [{ role: 'user' as const, content: 'Hi' }];
const TOKEN = 'admin-budget-token-0123456789';
/** Every mock answer: 17 prompt + 6 completion tokens at 0.20 / 0.60 USD per million = 7 micro-USD. */
const COST = 7;
const holdOf = (maxTokens: number) => Math.ceil(reservePromptTokens(countChatPromptTokens({ messages: HI })) * 0.2 + maxTokens * 0.6);

async function call(gateway: TestGateway, secret: string, model = LLAMA, maxTokens = 10): Promise<{ status: number; code?: string; message?: string }> {
  try {
    await gateway.client(secret).chat.completions.create({ model, messages: HI, max_tokens: maxTokens });
    return { status: 200 };
  } catch (error) {
    const apiError = error as APIError;
    return { status: apiError.status ?? 0, code: String(apiError.code), message: apiError.message };
  }
}

async function spentIn(gateway: TestGateway, keyId: string, period: string): Promise<number | undefined> {
  const row = await gateway.running.deps.db('budget_usage').where({ key_id: keyId, period }).first();
  return row ? Number(row.used_micro) : undefined;
}

describe('budgets per period', function () {
  this.timeout(60_000);
  let hf: MockUpstream;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY, slowMs: 300 });
  });

  after(async () => {
    await hf.close();
  });

  describe('one instance with an injected clock', () => {
    let gateway: TestGateway;
    let clock = Date.UTC(2026, 11, 31, 23, 0, 0);
    const admin = (path: string, init: RequestInit = {}) =>
      fetch(`${gateway.url}/admin${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });

    before(async () => {
      gateway = await startGateway({
        providers: { huggingface: hfEntry(hf.url) },
        config: { admin: { token: TOKEN }, rate_limit: { requests_per_window: 100_000 } },
        clock: () => clock,
      });
    });

    after(async () => {
      await gateway.close();
    });

    it('takes a monthly budget from creation to its 402 budget_exceeded, which says when it resets, and resets on the 1st', async () => {
      clock = Date.UTC(2026, 11, 31, 23, 0, 0);
      const created = await admin('/keys', { method: 'POST', body: JSON.stringify({ name: 'monthly', budget_usd: 0.00003 }) });
      assert.equal(created.status, 201);
      const key = (await created.json()) as Record<string, unknown>;
      assert.equal(key.budget_usd, 0.00003);
      assert.equal(key.budget_period, 'month');
      assert.equal(key.budget_spent_usd, 0);
      assert.equal(key.budget_resets_at, '2027-01-01T00:00:00.000Z');
      assert.equal(key.balance_usd, null, 'unmetered: the budget holds all the same');
      const secret = String(key.key);

      const outcomes = [];
      for (let i = 0; i < 8; i++) outcomes.push(await call(gateway, secret));
      const served = outcomes.filter((outcome) => outcome.status === 200).length;
      // One after another, a request fits while what was spent plus its worst case stays within the 30 micro-USD.
      let fits = 0;
      while (fits * COST + holdOf(10) <= 30) fits++;
      assert.equal(served, fits);
      assert.ok(outcomes.slice(0, served).every((outcome) => outcome.status === 200));
      const refused = outcomes.at(-1)!;
      assert.equal(refused.status, 402);
      assert.equal(refused.code, 'budget_exceeded');
      assert.match(refused.message!, /monthly budget of \$0\.000030 .*resets at 2027-01-01T00:00:00\.000Z/);

      await gateway.running.deps.writer.flush();
      await gateway.running.leases.returnIdle(0);
      assert.equal(await spentIn(gateway, String(key.id), 'm2026-12-01'), served * COST, 'the period counts exactly what was spent');
      const usage = (await (await fetch(`${gateway.baseURL}/usage`, { headers: { authorization: `Bearer ${secret}` } })).json()) as Record<string, unknown>;
      assert.equal(usage.budget_spent_usd, (served * COST) / 1e6);
      assert.equal(usage.budget_resets_at, '2027-01-01T00:00:00.000Z');
      assert.equal(usage.cost_usd, (served * COST) / 1e6);

      // A new month: no job ran, and the next request sees a fresh budget.
      clock = Date.UTC(2027, 0, 1, 0, 0, 1);
      assert.equal((await call(gateway, secret)).status, 200);
      await gateway.running.deps.writer.flush();
      await gateway.running.leases.returnIdle(0);
      assert.equal(await spentIn(gateway, String(key.id), 'm2027-01-01'), COST);
      assert.equal(await spentIn(gateway, String(key.id), 'm2026-12-01'), served * COST, 'the old month is untouched');
      const listed = (await (await admin('/keys')).json()) as { data: Record<string, unknown>[] };
      const view = listed.data.find((entry) => entry.id === key.id)!;
      assert.equal(view.budget_spent_usd, COST / 1e6);
      assert.equal(view.budget_resets_at, '2027-02-01T00:00:00.000Z');
      assert.ok(view.last_used_at, 'last_used_at is set');
    });

    it('charges a request that spans midnight to the day it started in', async () => {
      clock = Date.UTC(2027, 2, 10, 23, 59, 59);
      const { secret, record } = await gateway.createKey({ name: 'daily', budget_usd: 1, budget_period: 'day' });
      const slow = call(gateway, secret, 'org/slow');
      // The request has reserved against March 10 once its lease exists; then the clock crosses midnight.
      await (async () => {
        for (;;) {
          if (await gateway.running.deps.db('reservations').where({ key_id: record.id }).first()) return;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      clock = Date.UTC(2027, 2, 11, 0, 0, 1);
      assert.equal((await slow).status, 200);
      await gateway.running.deps.writer.flush();
      await gateway.running.leases.returnIdle(0);
      // org/slow is priced at the default 0.50 / 1.50: 17 × 0.5 + 6 × 1.5 = 17.5 → 18 micro-USD.
      assert.equal(await spentIn(gateway, record.id, 'd2027-03-10'), 18);
      assert.equal(await spentIn(gateway, record.id, 'd2027-03-11'), undefined);
      const view = (await (await admin('/keys')).json()) as { data: Record<string, unknown>[] };
      assert.equal(view.data.find((entry) => entry.id === record.id)!.budget_spent_usd, 0, 'the new day has spent nothing');
    });

    it('changes a budget live with PATCH /admin/keys/:id, and rejects bad values with 400', async () => {
      clock = Date.UTC(2027, 4, 5, 12, 0, 0);
      const { secret, record } = await gateway.createKey({ name: 'patched', budget_usd: 0 });
      const refused = await call(gateway, secret);
      assert.equal(refused.code, 'budget_exceeded');
      const patched = await admin(`/keys/${record.id}`, {
        method: 'PATCH',
        body: JSON.stringify({ budget_usd: 5, budget_period: 'week', tpm: 1000, rpm: 50, name: 'patched-2' }),
      });
      assert.equal(patched.status, 200);
      const view = (await patched.json()) as Record<string, unknown>;
      assert.deepEqual([view.name, view.budget_usd, view.budget_period, view.tpm, view.rpm], ['patched-2', 5, 'week', 1000, 50]);
      // Wednesday 2027-05-05: the week resets on Monday 2027-05-10.
      assert.equal(view.budget_resets_at, '2027-05-10T00:00:00.000Z');
      assert.equal((await call(gateway, secret)).status, 200, 'this instance applies the change at once');
      const cleared = (await (await admin(`/keys/${record.id}`, { method: 'PATCH', body: JSON.stringify({ budget_usd: null }) })).json()) as Record<
        string,
        unknown
      >;
      assert.deepEqual([cleared.budget_usd, cleared.budget_period, cleared.budget_spent_usd, cleared.budget_resets_at], [null, null, null, null]);
      for (const body of [{ budget_usd: -1 }, { budget_period: 'year' }, { expires_at: 'tomorrow' }, { tpm: 0 }, { unknown: 1 }]) {
        const bad = await admin(`/keys/${record.id}`, { method: 'PATCH', body: JSON.stringify(body) });
        assert.equal(bad.status, 400, JSON.stringify(body));
      }
      assert.equal((await admin('/keys/key_nope', { method: 'PATCH', body: JSON.stringify({ rpm: 5 }) })).status, 404);
      assert.equal((await admin('/keys', { method: 'POST', body: JSON.stringify({ name: 'x', budget_period: 'day' }) })).status, 400);
    });
  });

  describe('two instances on one PostgreSQL database', () => {
    let shared: GatewaysOnPostgres | undefined;
    let gateways: TestGateway[] = [];

    before(async function () {
      await requireService(this, 'postgres');
      shared = await startGatewaysOnPostgres(2, { huggingface: hfEntry(hf.url) });
      gateways = shared.gateways;
    });

    after(async () => {
      await shared?.close();
    });

    async function burst(secret: string, count: number): Promise<number[]> {
      const outcomes = await Promise.all(Array.from({ length: count }, (_, i) => call(gateways[i % 2], secret, LLAMA, 100)));
      for (const outcome of outcomes) assert.ok(outcome.status === 200 || outcome.code === 'budget_exceeded', JSON.stringify(outcome));
      for (const gateway of gateways) await gateway.running.deps.writer.flush();
      for (const gateway of gateways) await gateway.running.leases.returnIdle(0);
      return outcomes.map((outcome) => outcome.status);
    }

    it('never spends past the budget under a concurrent burst, and keeps the ledger exact on a key with credits too', async () => {
      const budgetMicro = 5 * holdOf(100);
      const { secret, record } = await gateways[0].createKey({ name: 'burst', credits_usd: 1, budget_usd: budgetMicro / 1e6, budget_period: 'day' });
      const statuses = await burst(secret, 100);
      const served = statuses.filter((status) => status === 200).length;
      const books = await booksOf(gateways[0].running.deps.db, record.id);
      assert.ok(served >= 5, `at least the 5 worst cases the budget covers are served (served ${served})`);
      assert.ok(statuses.includes(402), 'the burst outruns the budget');
      assert.ok(books.usageCost <= budgetMicro, `spent ${books.usageCost} ≤ budget ${budgetMicro}`);
      assert.equal(books.usageCost, served * COST);
      assert.equal(books.usageRows, 100);
      assert.equal(books.openHolds, 0);
      assertBalanced(books, assert);
      const period = await gateways[0].running.deps.db('budget_usage').where({ key_id: record.id });
      assert.equal(period.length, 1);
      assert.equal(Number(period[0].used_micro), books.usageCost, 'the period counts exactly the spend once leases are back');
    });

    it('never spends past the budget of an unmetered key, and writes no credit ledger entries for it', async () => {
      const budgetMicro = 3 * holdOf(100) + 5;
      const { secret, record } = await gateways[1].createKey({ name: 'unmetered', budget_usd: budgetMicro / 1e6 });
      const statuses = await burst(secret, 60);
      const books = await booksOf(gateways[0].running.deps.db, record.id);
      const served = statuses.filter((status) => status === 200).length;
      assert.ok(served >= 3 && statuses.includes(402), `served ${served}`);
      assert.ok(books.usageCost <= budgetMicro, `spent ${books.usageCost} ≤ budget ${budgetMicro}`);
      assert.equal(books.usageCost, served * COST);
      assert.equal(books.ledgerCharges, 0);
      assert.equal(books.openHolds, 0);
      const key = await gateways[0].running.deps.db('api_keys').where({ id: record.id }).first();
      assert.equal(key.balance_micro, null, 'the key stays unmetered');
    });
  });
});
