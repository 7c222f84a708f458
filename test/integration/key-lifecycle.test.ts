/**
 * Key lifecycle: tokens per minute shared by two instances through Redis under a concurrent burst, expiry (a date
 * means through that day, UTC), and a `keys update` made on one instance applied by another within 10 seconds.
 */
import assert from 'node:assert/strict';
import { createKey, updateKey } from '../../src/db/keys-repo.ts';
import { countChatPromptTokens } from '../../src/metering/tokens.ts';
import { HF_KEY, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { MOCK_USAGE, startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { REDIS_URL, redisPrefix, requireService } from '../helpers/services.ts';

const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const HI = [{ role: 'user' as const, content: 'Hi' }];
const REAL_TOKENS = MOCK_USAGE.total_tokens;

function chat(gateway: TestGateway, secret: string, maxTokens = 50): Promise<Response> {
  return fetch(`${gateway.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: LLAMA, messages: HI, max_tokens: maxTokens }),
  });
}

/** Waits out the last seconds of a minute, so a burst falls in one tokens-per-minute window. */
async function awayFromMinuteEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 8000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

describe('key lifecycle', function () {
  this.timeout(60_000);
  let hf: MockUpstream;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY, slowMs: 200 });
  });

  after(async () => {
    await hf.close();
  });

  describe('tokens per minute on two instances sharing Redis', () => {
    let gateways: TestGateway[] = [];
    let redis: ReturnType<typeof redisPrefix> | undefined;

    before(async function () {
      await requireService(this, 'redis');
      redis = redisPrefix();
      const limits = { store: 'redis', redis_url: REDIS_URL, prefix: redis.prefix, requests_per_window: 100_000 };
      const first = await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: { rate_limit: limits } });
      gateways = [
        first,
        await startGateway({
          providers: { huggingface: hfEntry(hf.url) },
          config: { database: { connection: first.config.database.connection }, rate_limit: limits },
        }),
      ];
    });

    after(async () => {
      for (const gateway of gateways.reverse()) await gateway.close();
      await redis?.drop();
    });

    it('counts holds when calls start and real tokens when they end, never past the limit, with 429 and Retry-After', async () => {
      const tpm = 300;
      const hold = countChatPromptTokens({ messages: HI }) + 50;
      const { secret } = await createKey(gateways[0].running.deps.db, { name: 'tpm', tpm });
      await awayFromMinuteEnd();
      const responses = await Promise.all(Array.from({ length: 16 }, (_, i) => chat(gateways[i % 2], secret)));
      const served = responses.filter((response) => response.status === 200).length;
      const refused = responses.filter((response) => response.status === 429);
      // Holds of calls in flight at once never exceed the limit: at most floor(tpm / hold) run together.
      assert.ok(served >= Math.floor(tpm / hold), `at least ${Math.floor(tpm / hold)} served (${served})`);
      assert.ok(served * REAL_TOKENS <= tpm, `${served} calls × ${REAL_TOKENS} tokens stay within ${tpm}`);
      assert.ok(refused.length > 0, 'the burst outruns the limit');
      for (const response of refused) {
        const body = (await response.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, 'rate_limit_exceeded');
        assert.match(body.error.message, /tokens per minute/);
        const retryAfter = Number(response.headers.get('retry-after'));
        assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      }
      // Once every call ended, the window holds exactly the real tokens, whichever instance served them.
      const window = `${redis!.prefix}tpm:`;
      const { createClient } = await import('redis');
      const client = createClient({ url: REDIS_URL });
      await client.connect();
      try {
        const deadline = Date.now() + 5000;
        let counted = 0;
        while (Date.now() < deadline) {
          const keys = await client.keys(`${window}*`);
          counted = (await Promise.all(keys.map((key) => client.get(key)))).reduce((sum, value) => sum + Number(value), 0);
          if (counted === served * REAL_TOKENS) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.equal(counted, served * REAL_TOKENS);
      } finally {
        await client.quit();
      }
    });

    it('refuses a call whose hold alone is over the limit, saying to lower max_tokens', async () => {
      const { secret } = await createKey(gateways[0].running.deps.db, { name: 'tiny', tpm: 20 });
      const response = await chat(gateways[1], secret, 100);
      assert.equal(response.status, 429);
      assert.match(((await response.json()) as { error: { message: string } }).error.message, /lower max_tokens/);
    });
  });

  it('keeps tokens per minute in memory without Redis, under concurrency', async () => {
    const gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: { rate_limit: { requests_per_window: 100_000 } } });
    try {
      const tpm = 200;
      const { secret } = await gateway.createKey({ name: 'memory tpm', tpm });
      await awayFromMinuteEnd();
      // org/slow answers after 200 ms: the holds of calls in flight decide who is refused.
      const body = JSON.stringify({ model: 'org/slow', messages: HI, max_tokens: 50 });
      const responses = await Promise.all(
        Array.from({ length: 8 }, () =>
          fetch(`${gateway.baseURL}/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
            body,
          }),
        ),
      );
      const served = responses.filter((response) => response.status === 200).length;
      assert.equal(served, Math.floor(tpm / (countChatPromptTokens({ messages: HI }) + 50)), 'as many as the holds fit, all at once');
      assert.ok(responses.filter((response) => response.status === 429).every((response) => Number(response.headers.get('retry-after')) >= 1));
      // Without max_tokens the hold is the gateway's default, and the upstream is told the same cap.
      const roomy = await gateway.createKey({ name: 'roomy tpm', tpm: 100_000 });
      await gateway.client(roomy.secret).chat.completions.create({ model: LLAMA, messages: HI });
      assert.equal(hf.requests.at(-1)!.body!.max_tokens, gateway.config.metering.default_max_tokens);
    } finally {
      await gateway.close();
    }
  });

  describe('expiry and live updates on two instances sharing a database', () => {
    let gateways: TestGateway[] = [];
    let clock = Date.UTC(2027, 0, 31, 23, 59, 0);

    before(async () => {
      const first = await startGateway({ providers: { huggingface: hfEntry(hf.url) }, clock: () => clock });
      const shared = { database: { connection: first.config.database.connection } };
      gateways = [first, await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: shared, clock: () => clock })];
    });

    after(async () => {
      for (const gateway of gateways.reverse()) await gateway.close();
    });

    it('works through the expiry date (UTC), then answers 401 invalid_api_key saying it expired', async () => {
      clock = Date.UTC(2027, 0, 31, 23, 59, 0);
      const { secret, record } = await createKey(gateways[0].running.deps.db, { name: 'intern', expires_at: '2027-01-31' });
      assert.equal(record.expiresAt, Date.UTC(2027, 1, 1));
      assert.equal((await chat(gateways[0], secret)).status, 200);
      clock = Date.UTC(2027, 1, 1, 0, 0, 0);
      const refused = await chat(gateways[1], secret);
      assert.equal(refused.status, 401);
      const body = (await refused.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'invalid_api_key');
      assert.match(body.error.message, /expired at 2027-02-01T00:00:00\.000Z/);
      // `30d` counts from now.
      const { record: month } = await createKey(gateways[0].running.deps.db, { name: 'month', expires_at: '30d' }, clock);
      assert.equal(month.expiresAt, clock + 30 * 86_400_000);
    });

    it('applies an update made elsewhere within 10 seconds on another instance', async () => {
      clock = Date.UTC(2027, 5, 1);
      const { secret, record } = await createKey(gateways[0].running.deps.db, { name: 'live' });
      assert.equal((await chat(gateways[1], secret)).status, 200, 'instance 2 has the key cached as it was');
      const changed = Date.now();
      await updateKey(gateways[0].running.deps.db, record.id, { expires_at: '2027-05-31', models: ['other/*'] }, clock);
      let status = 0;
      while (Date.now() - changed < 10_000) {
        const response = await chat(gateways[1], secret);
        status = response.status;
        await response.arrayBuffer();
        if (status === 401) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(status, 401, 'the second instance refuses the expired key');
      assert.ok(Date.now() - changed <= 10_000, `applied after ${Date.now() - changed} ms`);
    });
  });
});
