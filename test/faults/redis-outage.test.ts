/**
 * Redis lost and back, through a relay the test owns: with `rate_limit.on_store_error: allow` calls pass unlimited
 * (logged loudly), with `deny` they get 503; either way the process keeps serving, and once Redis is back the
 * limits count again without a restart.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { eventually, hfEntry, logFile, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { isOpenAIError } from '../helpers/raw-http.ts';
import { redisPrefix, REDIS_URL, requireService } from '../helpers/services.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';
import { count } from './tally.ts';

interface Answer {
  status: number;
  limited: boolean;
  code?: string;
}

describe('Redis outages (rate_limit.store: redis)', function () {
  this.timeout(180_000);
  let hf: MockUpstream;
  let relay: TcpRelay | undefined;
  const gateways = new Map<'allow' | 'deny', TestGateway>();
  const prefixes: ReturnType<typeof redisPrefix>[] = [];

  before(async function () {
    await requireService(this, 'redis');
    hf = await startMock({ flavor: 'hf' });
    const target = new URL(REDIS_URL);
    relay = await new TcpRelay(target.hostname, Number(target.port || 6379)).start();
    for (const policy of ['allow', 'deny'] as const) {
      const prefix = redisPrefix();
      prefixes.push(prefix);
      const rateLimit = { store: 'redis', redis_url: relay.rewrite(REDIS_URL), prefix: prefix.prefix, on_store_error: policy, requests_per_window: 1000 };
      gateways.set(policy, await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: { rate_limit: rateLimit } }));
    }
  });

  after(async () => {
    for (const gateway of gateways.values()) await gateway.close();
    await relay?.close();
    await hf?.close();
    for (const prefix of prefixes) await prefix.drop();
  });

  async function call(gateway: TestGateway, secret: string): Promise<Answer> {
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'org/model', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    const body = (await response.json()) as { error?: { code: string } };
    if (response.status !== 200) assert.ok(isOpenAIError(body), JSON.stringify(body));
    // The RateLimit header is only set when the store answered: its absence means the call went uncounted.
    return { status: response.status, limited: response.headers.has('ratelimit'), code: body.error?.code };
  }

  /** Calls until the store counts again (a call carries RateLimit headers), using a key of its own. */
  async function recovered(gateway: TestGateway): Promise<void> {
    const { secret } = await gateway.createKey({ name: 'probe' });
    await eventually(async () => (await call(gateway, secret)).limited, 15_000);
  }

  it('allow: calls pass uncounted while Redis is down, logged loudly; after it returns the limit counts again', async () => {
    const gateway = gateways.get('allow')!;
    const { secret } = await gateway.createKey({ name: 'allow', rpm: 3 });
    assert.deepEqual(await call(gateway, secret), { status: 200, limited: true, code: undefined });
    relay!.cut();
    const down = [await call(gateway, secret), await call(gateway, secret), await call(gateway, secret), await call(gateway, secret)];
    assert.ok(
      down.every(({ status, limited }) => status === 200 && !limited),
      JSON.stringify(down),
    );
    // The log file is written asynchronously: wait for the line instead of reading before it is flushed.
    const logged = /"message":"rate limit store failed".*"policy":"allowing requests"|"policy":"allowing requests".*"message":"rate limit store failed"/;
    await eventually(() => logged.test(readFileSync(logFile(), 'utf8')), 10_000).catch(() => assert.fail('no "rate limit store failed" line in the log'));
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.match(metrics, /switchyard_rate_limit_store_errors_total [1-9]/);
    relay!.restore();
    await recovered(gateway);
    // One call was counted before the outage: two more fit in rpm 3, the next is refused.
    const back = [await call(gateway, secret), await call(gateway, secret), await call(gateway, secret)];
    assert.deepEqual(
      back.map(({ status }) => status),
      [200, 200, 429],
      JSON.stringify(back),
    );
    count({ requests: 8, faults: 1 });
    console.log(`      Redis outage (allow): ${down.length} calls passed uncounted while down, limit enforced again after recovery`);
  });

  it('deny: calls get 503 while Redis is down; after it returns the limit counts again', async () => {
    const gateway = gateways.get('deny')!;
    const { secret } = await gateway.createKey({ name: 'deny', rpm: 3 });
    assert.equal((await call(gateway, secret)).status, 200);
    relay!.cut();
    const down = [await call(gateway, secret), await call(gateway, secret), await call(gateway, secret)];
    assert.ok(
      down.every(({ status, code }) => status === 503 && code === 'service_unavailable'),
      JSON.stringify(down),
    );
    const health = await fetch(`${gateway.url}/health`);
    assert.equal(health.status, 503);
    assert.equal(((await health.json()) as { checks: { redis: string } }).checks.redis, 'unavailable');
    relay!.restore();
    await recovered(gateway);
    const back = [await call(gateway, secret), await call(gateway, secret), await call(gateway, secret)];
    assert.deepEqual(
      back.map(({ status }) => status),
      [200, 200, 429],
      JSON.stringify(back),
    );
    count({ requests: 7, faults: 1 });
    console.log(`      Redis outage (deny): ${down.length} calls refused with 503 while down, ${relay!.faults} connections cut or refused in all`);
  });
});
