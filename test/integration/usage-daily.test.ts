/**
 * Daily aggregates: after a burst of successes, streams, upstream failures, refusals and unknown models, on SQLite
 * and on PostgreSQL (two instances), `usage_daily` equals the sum of the usage rows, column by column.
 */
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import type { APIError } from 'openai';
import { utcDay } from '../../src/db/usage-daily.ts';
import { HF_KEY, hfEntry, startGateway, startGatewaysOnPostgres, type GatewaysOnPostgres, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { requireService } from '../helpers/services.ts';

const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const HI = [{ role: 'user' as const, content: 'Hi' }];

interface Sums {
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micro: number;
  latency_ms_sum: number;
  ttft_ms_sum: number;
  ttft_count: number;
}

/** The usage rows summed in JavaScript, keyed as `usage_daily` is. */
async function sumsOfRows(db: Knex): Promise<Map<string, Sums>> {
  const sums = new Map<string, Sums>();
  for (const row of await db('usage').select()) {
    const id = [utcDay(Number(row.created_at)), row.key_id ?? '', row.model ?? '', row.provider ?? ''].join('|');
    const sum = sums.get(id) ?? {
      requests: 0,
      errors: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      cost_micro: 0,
      latency_ms_sum: 0,
      ttft_ms_sum: 0,
      ttft_count: 0,
    };
    sum.requests++;
    sum.errors += row.status >= 400 ? 1 : 0;
    sum.prompt_tokens += row.prompt_tokens;
    sum.completion_tokens += row.completion_tokens;
    sum.cost_micro += Number(row.cost_micro);
    sum.latency_ms_sum += row.latency_ms;
    sum.ttft_ms_sum += row.ttft_ms ?? 0;
    sum.ttft_count += row.ttft_ms === null ? 0 : 1;
    sums.set(id, sum);
  }
  return sums;
}

async function aggregates(db: Knex): Promise<Map<string, Sums>> {
  const found = new Map<string, Sums>();
  for (const { day, key_id: keyId, model, provider, ...sums } of await db('usage_daily').select()) {
    found.set(
      [day, keyId, model, provider].join('|'),
      Object.fromEntries(Object.entries(sums).map(([name, value]) => [name, Number(value)])) as unknown as Sums,
    );
  }
  return found;
}

/** Successes, streams, a 502 from the upstream, 404 unknown models and 402s past a small balance, all at once. */
async function mixedBurst(gateways: TestGateway[], secrets: string[]): Promise<number[]> {
  const calls = Array.from({ length: 60 }, (_, i) => {
    const client = gateways[i % gateways.length].client(secrets[i % secrets.length]);
    const kind = i % 5;
    const model = kind === 2 ? 'org/html-500' : kind === 3 ? 'no-such-model' : LLAMA;
    const request =
      kind === 1
        ? client.chat.completions
            .create({ model, messages: HI, max_tokens: 50, stream: true, stream_options: { include_usage: true } })
            .then(async (stream) => {
              for await (const _chunk of stream);
            })
        : client.chat.completions.create({ model, messages: HI, max_tokens: 50 });
    return request.then(
      () => 200,
      (error: APIError) => error.status ?? 0,
    );
  });
  return Promise.all(calls);
}

function assertAggregatesMatch(rows: Map<string, Sums>, daily: Map<string, Sums>): void {
  assert.ok(rows.size > 3, `several groups (${rows.size})`);
  assert.deepEqual(daily, rows);
}

describe('daily usage aggregates', function () {
  this.timeout(60_000);
  let hf: MockUpstream;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY, chunkDelayMs: 1 });
  });

  after(async () => {
    await hf.close();
  });

  it('equal the sum of the usage rows after a burst with failures (SQLite)', async () => {
    const gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: { rate_limit: { requests_per_window: 100_000 } } });
    try {
      const rich = await gateway.createKey({ name: 'rich' });
      const poor = await gateway.createKey({ name: 'poor', credits_usd: 0.0002 });
      const statuses = await mixedBurst([gateway], [rich.secret, poor.secret]);
      for (const status of [200, 402, 404, 502]) assert.ok(statuses.includes(status), `the burst has ${status}s: ${[...new Set(statuses)]}`);
      await gateway.running.deps.writer.flush();
      const db = gateway.running.deps.db;
      assertAggregatesMatch(await sumsOfRows(db), await aggregates(db));
      const [{ n }] = await db('usage').count({ n: '*' });
      assert.equal(Number(n), 60);
    } finally {
      await gateway.close();
    }
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

    it('equal the sum of the usage rows after a burst with failures', async () => {
      const rich = await gateways[0].createKey({ name: 'rich' });
      const poor = await gateways[0].createKey({ name: 'poor', credits_usd: 0.0002 });
      const statuses = await mixedBurst(gateways, [rich.secret, poor.secret]);
      for (const status of [200, 402, 404, 502]) assert.ok(statuses.includes(status), `the burst has ${status}s: ${[...new Set(statuses)]}`);
      for (const gateway of gateways) await gateway.running.deps.writer.flush();
      const db = gateways[0].running.deps.db;
      assertAggregatesMatch(await sumsOfRows(db), await aggregates(db));
    });
  });
});
