/**
 * Routing state through Redis (`rate_limit.store: redis`): one instance's 401 cools the target for another, in-flight
 * counts add up across instances, and with Redis cut (a relay the test owns) each instance routes on its own state
 * without failing a request, and says so in its log.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { eventually, logFile } from '../helpers/gateway.ts';
import { startDeployments, type MockDeployment } from '../helpers/mock-deployment.ts';
import { POOL_MODEL, providersView, startPool, tally, type PoolGateway } from '../helpers/pool.ts';
import { redisPrefix, REDIS_URL, requireService } from '../helpers/services.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';

describe('routing state shared through Redis', function () {
  this.timeout(30_000);
  let deployments: MockDeployment[] = [];
  let pools: PoolGateway[] = [];
  let prefix: ReturnType<typeof redisPrefix> | undefined;
  let relay: TcpRelay | undefined;

  before(async function () {
    await requireService(this, 'redis');
  });

  afterEach(async () => {
    for (const pool of pools) await pool.close();
    pools = [];
    for (const deployment of deployments) await deployment.close();
    deployments = [];
    await relay?.close();
    relay = undefined;
    await prefix?.drop();
  });

  async function startInstances(count: number, redisUrl: string, rule: Record<string, unknown> = {}): Promise<PoolGateway[]> {
    prefix = redisPrefix();
    const config = { rate_limit: { store: 'redis', redis_url: redisUrl, prefix: prefix.prefix, requests_per_window: 100_000 } };
    for (let i = 0; i < count; i++) pools.push(await startPool(deployments, { config, rule, fakeClock: false }));
    return pools;
  }

  async function askMany(pool: PoolGateway, count: number): Promise<string[]> {
    const served: string[] = [];
    for (let i = 0; i < count; i++) served.push(await pool.ask());
    return served;
  }

  it("cools a target on every instance when one instance's call is refused with 401", async () => {
    deployments = await startDeployments('a', 'b');
    const [a] = deployments;
    const [one, two] = await startInstances(2, REDIS_URL);
    a.mode = '401';
    assert.equal(await one.ask(), 'b');
    assert.equal(a.received, 1);
    // The admin view pulls the shared state before answering: the other instance already knows.
    const view = (await providersView(two.gateway)).a;
    assert.deepEqual([view.state, view.reason], ['cooling', 'auth']);
    assert.deepEqual(tally(await askMany(two, 6)), { b: 6 });
    assert.equal(a.received, 1, 'the second instance never tried the rejected key');
  });

  it('adds up calls in flight across instances, so least-busy on one avoids a target busy on the other', async () => {
    deployments = await startDeployments('a', 'b');
    const [a, b] = deployments;
    const [one, two] = await startInstances(2, REDIS_URL, { strategy: 'least-busy' });
    a.holdStreams();
    const stream = await one.client.chat.completions.create({ model: POOL_MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: true });
    const reader = stream[Symbol.asyncIterator]();
    assert.equal((await reader.next()).value?.choices[0].delta.content, 'a:');
    await eventually(async () => (await providersView(two.gateway)).a.in_flight === 1);
    assert.deepEqual(tally(await askMany(two, 5)), { b: 5 });
    a.release();
    while (!(await reader.next()).done);
    await eventually(async () => (await providersView(two.gateway)).a.in_flight === 0);
    assert.equal(b.received, 5);
  });

  it('sends a call continuing a stored response to the target holding it, from any instance', async () => {
    deployments = await startDeployments('a', 'b');
    const native = { supports: { responses: true } };
    prefix = redisPrefix();
    const config = { rate_limit: { store: 'redis', redis_url: REDIS_URL, prefix: prefix.prefix, requests_per_window: 100_000 } };
    for (let i = 0; i < 2; i++) pools.push(await startPool(deployments, { config, entries: { a: native, b: native }, fakeClock: false }));
    const [one, two] = pools;
    const stored = await one.client.responses.create({ model: POOL_MODEL, input: 'Hi' });
    assert.equal(stored.id, 'resp_a_1');
    const answers: string[] = [];
    for (let i = 0; i < 4; i++)
      answers.push((await two.client.responses.create({ model: POOL_MODEL, input: 'More', previous_response_id: stored.id })).output_text);
    assert.deepEqual(answers, ['served by a', 'served by a', 'served by a', 'served by a']);
  });

  it('keeps routing on per-instance state while Redis is cut, never failing a request, and logs it', async () => {
    deployments = await startDeployments('a', 'b');
    const [a] = deployments;
    const target = new URL(REDIS_URL);
    relay = await new TcpRelay(target.hostname, Number(target.port || 6379)).start();
    const [one] = await startInstances(1, relay.rewrite(REDIS_URL));
    assert.deepEqual(tally(await askMany(one, 4)), { a: 2, b: 2 });
    relay.cut();
    a.mode = '401';
    const served = await askMany(one, 6);
    assert.deepEqual(tally(served), { b: 6 }, 'the local cooldown holds without Redis');
    assert.equal(a.received, 3);
    const view = await providersView(one.gateway);
    assert.equal(view.a.state, 'cooling');
    await eventually(() => readFileSync(logFile(), 'utf8').includes('routing state store (Redis) failed'));
    relay.restore();
  });
});
