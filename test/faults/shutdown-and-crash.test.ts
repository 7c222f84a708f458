/**
 * A real gateway process under load. SIGTERM: in-flight JSON calls and streams finish, every answered request has
 * its usage row, exit code 0. `kill -9`: the dead process's reservations are released by the next start, and
 * balance + recorded spend == credits granted.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CRASH_EXIT_CODE } from '../../src/cli/serve-command.ts';
import { createDb, type Db } from '../../src/db/knex.ts';
import { createKey } from '../../src/db/keys-repo.ts';
import { spawnGateway, writeChildConfig, type ChildGateway } from '../helpers/child-gateway.ts';
import { ROOT, eventually, hfEntry, type GatewayOptions } from '../helpers/gateway.ts';
import { assertBalanced, booksOf } from '../helpers/ledger.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { count } from './tally.ts';

interface Load {
  answered: number;
  streamsCompleted: number;
  /** Resolves once `answered` reaches the given count. */
  reached(count: number): Promise<void>;
  /** Stops the workers and resolves when they have all returned. */
  stop(): Promise<void>;
}

/** Clients sending streamed or JSON calls, each its own kind, until the gateway stops answering (or `stop()`). */
function startLoad(baseURL: string, secret: string, workers: { json: number; stream: number }, models: { json: string; stream: string }): Load {
  let stopped = false;
  const waiters: { count: number; resolve: () => void }[] = [];
  const load: Load = { answered: 0, streamsCompleted: 0, reached: (count) => new Promise((resolve) => waiters.push({ count, resolve })), stop: async () => {} };
  const call = async (stream: boolean): Promise<boolean> => {
    let response: Response;
    try {
      response = await fetch(`${baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: stream ? models.stream : models.json, messages: [{ role: 'user', content: 'Hi' }], stream, max_tokens: 50 }),
      });
    } catch {
      return false; // refused or reset before any answer: the gateway never took this request
    }
    load.answered++;
    for (const waiter of waiters.filter((w) => load.answered >= w.count)) waiter.resolve();
    const text = await response.text().catch(() => '');
    if (stream && text.endsWith('data: [DONE]\n\n')) load.streamsCompleted++;
    return true;
  };
  const worker = async (stream: boolean): Promise<void> => {
    while (!stopped) if (!(await call(stream))) return;
  };
  const running = Promise.all([...Array.from({ length: workers.json }, () => worker(false)), ...Array.from({ length: workers.stream }, () => worker(true))]);
  load.stop = async () => {
    stopped = true;
    await running;
  };
  return load;
}

describe('shutdown and crash recovery of a real gateway process', function () {
  this.timeout(180_000);
  let hf: MockUpstream;
  let dataDir: string;
  let db: Db | undefined;
  const children: ChildGateway[] = [];

  before(async () => {
    hf = await startMock({ flavor: 'hf', chunkDelayMs: 20 });
  });

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'switchyard-faults-'));
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await db?.destroy();
    db = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  after(async () => {
    await hf.close();
  });

  const options = (config: GatewayOptions['config'] = {}): GatewayOptions => ({
    providers: { huggingface: hfEntry(hf.url) },
    config: { rate_limit: { requests_per_window: 1_000_000 }, ...config },
  });

  async function start(configFile: string): Promise<ChildGateway> {
    const child = await spawnGateway(configFile);
    children.push(child);
    return child;
  }

  /** The test's own connection to the child's SQLite file (WAL: both may use it at once). */
  function openDb(): Db {
    db ??= createDb({ client: 'sqlite3', connection: path.join(dataDir, 'gateway.sqlite'), busy_timeout_ms: 5000 });
    return db;
  }

  it('SIGTERM under load: in-flight calls finish, exit code 0, one usage row per answered request', async () => {
    const configFile = writeChildConfig(options({ server: { shutdown_grace_ms: 4000 } }), dataDir, 'sigterm');
    const child = await start(configFile);
    const { secret, record } = await createKey(openDb(), { name: 'sigterm', credits_usd: 10 });
    const load = startLoad(child.baseURL, secret, { json: 8, stream: 8 }, { json: 'org/model', stream: 'org/model' });
    await load.reached(80);
    child.process.kill('SIGTERM');
    const { code } = await child.exited;
    await load.stop();
    assert.equal(code, 0, 'exit code');
    const books = await booksOf(openDb(), record.id);
    console.log(
      `      SIGTERM under load: ${load.answered} requests answered, ${books.usageRows} usage rows, ${load.answered - books.usageRows} lost, exit ${code}`,
    );
    count({ requests: load.answered, faults: 1, rowsExpected: load.answered, rowsLost: Math.max(0, load.answered - books.usageRows) });
    assert.equal(books.usageRows, load.answered, 'one usage row per answered request');
    assert.equal(books.openHolds, 0, 'every hold settled');
    assertBalanced(books, assert);
    assert.ok(load.streamsCompleted > 0, 'streams ran to their end');
  });

  it('an uncaught exception is logged and stops the process non-zero, after writing every usage row', async () => {
    // A plugin whose `crash-*` models throw outside any request's promise chain, as a buggy callback would.
    const plugins = path.join(dataDir, 'plugins');
    mkdirSync(path.join(plugins, 'crashing'), { recursive: true });
    const sdk = pathToFileURL(path.join(ROOT, 'src', 'plugin-sdk.ts')).href;
    writeFileSync(
      path.join(plugins, 'crashing', 'index.ts'),
      `import { UpstreamClient, definePlugin, forwardJson, forwardStream, z } from ${JSON.stringify(sdk)};
       export default definePlugin({ name: 'crashing', version: '1.0.0', configSchema: z.strictObject({ base_url: z.string() }),
         create({ name, config, timeoutMs }) {
           const client = new UpstreamClient({ provider: name, baseUrl: config.base_url, headers: {}, timeoutMs });
           return {
             async chat(request, call) {
               if (String(request.model).startsWith('crash-')) setImmediate(() => { throw new Error('a bug outside any request'); });
               return forwardJson(client, '/chat/completions', request, call);
             },
             chatStream: (request, call) => forwardStream(client, '/chat/completions', request, call),
           };
         } });`,
    );
    const entry = { plugin: 'crashing', base_url: hf.url, models: ['*'], retries: { attempts: 0 } };
    const configFile = writeChildConfig({ providers: { crashing: entry }, config: { plugins_dir: plugins } }, dataDir, 'crash');
    const child = await start(configFile);
    const { secret, record } = await createKey(openDb(), { name: 'crash', credits_usd: 10 });
    const send = (model: string) =>
      fetch(`${child.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 20 }),
      });
    for (let i = 0; i < 3; i++) assert.equal((await send('org/model')).status, 200);
    await send('crash-model').catch(() => undefined);
    const { code } = await child.exited;
    assert.equal(code, CRASH_EXIT_CODE);
    const books = await booksOf(openDb(), record.id);
    assert.ok(books.usageRows >= 3, `${books.usageRows} usage rows for 3 answered requests`);
    assert.equal(books.openHolds, 0, 'every hold settled');
    assertBalanced(books, assert);
  });

  it('SIGTERM cuts streams that outlive shutdown_grace_ms, and still writes their rows', async () => {
    const configFile = writeChildConfig(options({ server: { shutdown_grace_ms: 500 } }), dataDir, 'grace');
    const child = await start(configFile);
    const { secret, record } = await createKey(openDb(), { name: 'grace', credits_usd: 10 });
    const load = startLoad(child.baseURL, secret, { json: 4, stream: 3 }, { json: 'org/model', stream: 'org/endless' });
    await load.reached(30);
    child.process.kill('SIGTERM');
    const { code } = await child.exited;
    await load.stop();
    assert.equal(code, 0);
    const books = await booksOf(openDb(), record.id);
    console.log(`      SIGTERM with endless streams: ${load.answered} answered, ${books.usageRows} usage rows, ${load.answered - books.usageRows} lost`);
    count({ requests: load.answered, faults: 1, rowsExpected: load.answered, rowsLost: Math.max(0, load.answered - books.usageRows) });
    assert.equal(books.usageRows, load.answered);
    assertBalanced(books, assert);
    const cut = await openDb()('usage').where({ key_id: record.id, stream: true }).where('completion_tokens', '>', 0);
    assert.ok(cut.length > 0 && cut.every((row) => row.cost_micro > 0), 'the cut streams are billed for what they sent');
  });

  it('kill -9 mid-load: the next start releases the dead instance holds; balance + spend == credits granted', async () => {
    const config = options({ metering: { instance_heartbeat_ms: 200, instance_stale_ms: 1000 } });
    const configFile = writeChildConfig(config, dataDir, 'crash');
    const child = await start(configFile);
    const { secret, record } = await createKey(openDb(), { name: 'crash', credits_usd: 1 });
    const load = startLoad(child.baseURL, secret, { json: 4, stream: 4 }, { json: 'org/model', stream: 'org/endless' });
    await load.reached(20);
    // Rows are written in batches: wait until some are in the database, so the kill lands with spend on the books
    // (on a loaded machine the first batch may still be on its way when the 20th answer arrives).
    await eventually(async () => (await booksOf(openDb(), record.id)).usageRows > 0, 10_000);
    child.process.kill('SIGKILL');
    const { signal } = await child.exited;
    await load.stop();
    assert.equal(signal, 'SIGKILL');
    const left = await booksOf(openDb(), record.id);
    assert.ok(left.openHolds > 0, 'the killed process left reservations open');
    const restarted = await start(configFile);
    await eventually(async () => (await booksOf(openDb(), record.id)).openHolds === 0, 10_000);
    // Read again: booksOf's statements are not one snapshot, and the release may have landed between them.
    const books = await booksOf(openDb(), record.id);
    console.log(
      `      kill -9 under load: ${load.answered} answered, ${left.openHolds} micro-USD held by the dead process released on restart, ` +
        `balance ${books.balanceMicro} + spend ${books.usageCost} = granted ${books.granted}`,
    );
    count({ requests: load.answered + 1, faults: 1 });
    assertBalanced(books, assert);
    assert.ok(books.balanceMicro < books.granted, 'what was served and recorded is paid for');
    const after = await fetch(`${restarted.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'org/model', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    assert.equal(after.status, 200, 'the restarted gateway serves the same key');
    restarted.process.kill('SIGTERM');
    assert.equal((await restarted.exited).code, 0);
  });
});
