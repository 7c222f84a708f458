/**
 * Cooldowns in a routing pool, with the gateway's clock moved by the test: each failure kind cools its target while
 * no client request fails, the cooled target gets no traffic until its cooldown ends and gets it again after; a
 * 429 cools for its Retry-After, a 401/403 at once (logged loudly, never with the key); a new cooldown never
 * shortens a running one; all cooling → the soonest back is tried; retries go to another target and never after a
 * stream's first byte. `/admin/providers` and `/metrics` show it all.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli/program.ts';
import { logFile } from '../helpers/gateway.ts';
import { DEPLOYMENT_KEY, startDeployments, type DeploymentMode, type MockDeployment } from '../helpers/mock-deployment.ts';
import { ADMIN_TOKEN, POOL_MODEL, providersView, startPool, tally, type PoolGateway } from '../helpers/pool.ts';

describe('routing cooldowns', function () {
  this.timeout(30_000);
  let deployments: MockDeployment[] = [];
  let pool: PoolGateway | undefined;

  afterEach(async () => {
    await pool?.close();
    pool = undefined;
    for (const deployment of deployments) await deployment.close();
    deployments = [];
  });

  async function askMany(count: number): Promise<string[]> {
    const served: string[] = [];
    for (let i = 0; i < count; i++) served.push(await pool!.ask());
    return served;
  }

  const failureKinds: (DeploymentMode | 'refused')[] = ['500', '503', 'reset', 'hang', 'refused'];
  for (const kind of failureKinds) {
    it(`cools a target after 3 consecutive failures (${kind}), fails no request, and sends it traffic again after duration_ms`, async () => {
      deployments = await startDeployments('a', 'b');
      const [a] = deployments;
      pool = await startPool(deployments, { cooldown: { failures: 3, duration_ms: 30_000 }, entries: { a: { timeout_ms: 150 } } });
      if (kind === 'refused') await a.refuse();
      else a.mode = kind as DeploymentMode;
      // a and b alternate; every request a fails is retried on b, so the client always gets an answer.
      const served = await askMany(6);
      assert.deepEqual(tally(served), { b: 6 });
      const view = await providersView(pool.gateway);
      assert.equal(view.a.state, 'cooling');
      assert.equal(view.a.reason, 'failures');
      assert.equal(view.b.state, 'ok');
      assert.equal(view.a.errors_5m, 3);

      const receivedWhileCooling = a.received;
      assert.deepEqual(tally(await askMany(5)), { b: 5 });
      assert.equal(a.received, receivedWhileCooling, 'no traffic while cooling');

      if (kind === 'refused') await a.restore();
      else a.mode = 'ok';
      pool.advance(29_999);
      assert.deepEqual(tally(await askMany(2)), { b: 2 });
      pool.advance(2);
      assert.deepEqual(tally(await askMany(4)), { a: 2, b: 2 });
      assert.equal((await providersView(pool.gateway)).a.state, 'ok');
    });
  }

  it('cools a target for the Retry-After of its 429', async () => {
    deployments = await startDeployments('a', 'b');
    const [a] = deployments;
    pool = await startPool(deployments);
    a.mode = '429';
    a.retryAfterS = 7;
    assert.deepEqual(tally(await askMany(2)), { b: 2 });
    const view = (await providersView(pool.gateway)).a;
    assert.equal(view.reason, 'rate_limited');
    assert.equal(view.until, new Date(pool.now() + 7000).toISOString());
    a.mode = 'ok';
    pool.advance(6_900);
    assert.deepEqual(tally(await askMany(2)), { b: 2 });
    pool.advance(200);
    assert.deepEqual(tally(await askMany(2)), { a: 1, b: 1 });
  });

  for (const status of ['401', '403'] as const) {
    it(`cools a target at once for auth_duration_ms on an upstream ${status}, and logs it loudly without the key`, async () => {
      deployments = await startDeployments('a', 'b');
      const [a] = deployments;
      pool = await startPool(deployments, { cooldown: { failures: 5, auth_duration_ms: 120_000 } });
      a.mode = status;
      assert.deepEqual(tally(await askMany(4)), { b: 4 });
      assert.equal(a.received, 1, 'one rejection was enough');
      const view = (await providersView(pool.gateway)).a;
      assert.equal(view.state, 'cooling');
      assert.equal(view.reason, 'auth');
      pool.advance(119_000);
      await askMany(2);
      assert.equal(a.received, 1);
      const log = readFileSync(logFile(), 'utf8');
      const line = log
        .split('\n')
        .reverse()
        .find((text) => text.includes('rejected its credentials') && text.includes('"provider":"a"'));
      assert.ok(line, 'an error line names the entry');
      assert.match(line, /"level":"error"/);
      assert.equal(log.includes(DEPLOYMENT_KEY), false, 'the provider key never reaches the log');
    });
  }

  it('never shortens a running cooldown: a 429 on a target cooling for its key keeps the later deadline', async () => {
    deployments = await startDeployments('a', 'b');
    const [a] = deployments;
    pool = await startPool(deployments, { cooldown: { auth_duration_ms: 300_000 } });
    a.mode = '401';
    await askMany(2);
    const before = (await providersView(pool.gateway)).a;
    assert.equal(before.reason, 'auth');
    // The body `provider` field bypasses the rule and reaches the cooling entry directly.
    a.mode = '429';
    a.retryAfterS = 5;
    await assert.rejects(pool.ask('Hi', { provider: 'a' }), { status: 429 });
    assert.equal(a.received, 2);
    const after = (await providersView(pool.gateway)).a;
    assert.deepEqual([after.until, after.reason], [before.until, 'auth']);
  });

  it('tries the target whose cooldown ends first when every target is cooling', async () => {
    deployments = await startDeployments('a', 'b', 'c');
    const [a, b, c] = deployments;
    pool = await startPool(deployments);
    a.mode = b.mode = c.mode = '429';
    [a.retryAfterS, b.retryAfterS, c.retryAfterS] = [60, 20, 40];
    await assert.rejects(pool.ask(), (error: { status: number; code?: string }) => error.status === 429 && error.code === 'upstream_rate_limited');
    const view = await providersView(pool.gateway);
    assert.deepEqual([view.a.state, view.b.state, view.c.state], ['cooling', 'cooling', 'cooling']);
    a.mode = b.mode = c.mode = 'ok';
    assert.deepEqual(await askMany(3), ['b', 'b', 'b']);
    assert.deepEqual([a.received, c.received], [1, 1]);
  });

  it('moves a retry to another healthy target, never the one that just failed, even with retries configured', async () => {
    deployments = await startDeployments('a', 'b', 'c');
    const [a, b, c] = deployments;
    const retries = { retries: { attempts: 3, base_ms: 1, max_ms: 5 } };
    pool = await startPool(deployments, { entries: { a: retries, b: retries, c: retries } });
    a.mode = '503';
    assert.equal(await pool.ask(), 'b');
    assert.deepEqual([a.received, b.received, c.received], [1, 1, 0]);
    b.mode = '503';
    // The second pick is b: it fails, then a (not cooling yet, one failure) fails again, then c answers.
    assert.equal(await pool.ask(), 'c');
    assert.deepEqual([a.received, b.received, c.received], [2, 2, 1]);
  });

  it('never replays a stream that failed after its first byte: it ends with an error event', async () => {
    deployments = await startDeployments('a', 'b');
    const [a, b] = deployments;
    pool = await startPool(deployments);
    a.mode = 'cut-after-first-event';
    const response = await fetch(`${pool.gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pool.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: POOL_MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: true }),
    });
    assert.equal(response.status, 200);
    const text = await response.text();
    const events = text.split('\n\n').filter(Boolean);
    assert.match(events[0], /"content":"a:"/);
    assert.match(events.at(-1)!, /^data: \{"error":\{/);
    assert.equal(b.received, 0, 'not replayed on b');
    assert.equal(a.received, 1);
  });

  it('lists every entry in /admin/providers and /metrics, without the key', async () => {
    deployments = await startDeployments('a', 'b', 'keyless');
    const [a] = deployments;
    pool = await startPool(deployments, { entries: { keyless: { api_key: '' } }, rule: { targets: ['a', 'b'] } });
    await askMany(4);
    a.mode = '401';
    await askMany(2);
    const unauthorised = await fetch(`${pool.gateway.url}/admin/providers`);
    assert.equal(unauthorised.status, 401);
    const response = await fetch(`${pool.gateway.url}/admin/providers`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const text = await response.text();
    assert.equal(text.includes(DEPLOYMENT_KEY), false);
    const view = await providersView(pool.gateway);
    assert.deepEqual(Object.keys(view), ['a', 'b', 'keyless']);
    const { until, p50_latency_ms: latency, ...a1 } = view.a;
    assert.deepEqual(a1, {
      name: 'a',
      plugin: 'openai-compatible',
      models: ['a-only/*'],
      key_configured: true,
      state: 'cooling',
      reason: 'auth',
      in_flight: 0,
      requests_5m: 3,
      errors_5m: 1,
      p50_ttft_ms: null,
    });
    assert.match(String(until), /^\d{4}-\d\d-\d\dT/);
    assert.equal(typeof latency, 'number');
    assert.equal(view.b.requests_5m, 4, 'a, b, a, b, then a fails over to b, then b alone');
    assert.equal(view.b.state, 'ok');
    assert.equal(view.b.until, null);
    assert.equal(view.keyless.key_configured, false);
    assert.equal(view.keyless.requests_5m, 0);

    const stream = await pool.client.chat.completions.create({ model: POOL_MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: true });
    for await (const _chunk of stream);
    assert.equal(typeof (await providersView(pool.gateway)).b.p50_ttft_ms, 'number');

    const metrics = await (await fetch(`${pool.gateway.url}/metrics`)).text();
    assert.match(metrics, /switchyard_provider_cooling\{provider="a"\} 1/);
    assert.match(metrics, /switchyard_provider_cooling\{provider="b"\} 0/);
    assert.match(metrics, /switchyard_provider_requests_5m\{provider="b"\} 5/);
    assert.match(metrics, /switchyard_provider_in_flight\{provider="keyless"\} 0/);
    assert.match(metrics, /switchyard_provider_cooling_until_seconds\{provider="a"\} \d+/);
    assert.match(metrics, /switchyard_provider_ttft_p50_seconds\{provider="b"\} [\d.e-]+/);
    const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-cli-'));
    try {
      const configPath = path.join(dir, 'gateway.yaml');
      writeFileSync(configPath, `admin:\n  token: ${ADMIN_TOKEN}\ndatabase:\n  connection: ./cli.sqlite\nproviders: {}\n`);
      const out: string[] = [];
      assert.equal(await runCli(['providers', '--url', pool.gateway.url, '--config', configPath], (line) => out.push(line)), 0);
      const lines = out.join('\n').split('\n');
      assert.match(lines[0], /^NAME\s+PLUGIN\s+MODELS\s+KEY\s+STATE\s+UNTIL\s+REASON\s+IN_FLIGHT\s+REQ_5M\s+ERR_5M\s+P50_MS\s+TTFT_P50_MS$/);
      const cooling = lines.find((line) => line.startsWith('a '))!;
      assert.match(
        cooling,
        new RegExp(
          `^a\\s+openai-compatible\\s+a-only/\\*\\s+set\\s+cooling\\s+${String(view.a.until).replace(/\./g, '\\.')} \\(in \\d+s\\)\\s+auth\\s+0\\s+3\\s+1\\s`,
        ),
      );
      assert.match(
        lines.find((line) => line.startsWith('keyless '))!,
        /^keyless\s+openai-compatible\s+keyless-only\/\*\s+missing\s+ok\s+-\s+-\s+0\s+0\s+0\s+-\s+-$/,
      );
      const json: string[] = [];
      assert.equal(await runCli(['providers', '--json', '--url', pool.gateway.url, '--config', configPath], (line) => json.push(line)), 0);
      assert.equal((JSON.parse(json[0]) as { name: string; state: string }[]).find((entry) => entry.name === 'a')?.state, 'cooling');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // Five minutes later the window is empty.
    pool.advance(5 * 60_000 + 1);
    assert.equal((await providersView(pool.gateway)).b.requests_5m, 0);
  });
});
