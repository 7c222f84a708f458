/**
 * Production runs compiled JavaScript: `switchyard serve` through the bin builds dist/ when it is stale and runs it
 * with no TypeScript loader in the process; the project's plugins load from their compiled twins, a user's own
 * .js plugin shares the gateway's SDK, a user's .ts plugin still loads (tsx on demand), and migrations recorded
 * by the compiled gateway are current for the sources.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import { createDb, migrate } from '../../src/db/knex.ts';
import { MOCK_TEXT, startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { OPENAI_KEY, ROOT, eventually, logFile, testConfigObject, type PlainObject } from '../helpers/gateway.ts';

interface Compiled {
  url: string;
  child: ChildProcess;
  output: () => string;
  logFile: string;
  config: string;
}

const BIN = path.join(ROOT, 'bin/switchyard.mjs');

/** Starts `node bin/switchyard.mjs serve`, exactly as `npm start` does, and waits for its listening line. */
async function startCompiled(dir: string, name: string, config: PlainObject): Promise<Compiled> {
  const log = path.join(path.dirname(logFile()), `compiled-${name}.log`);
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify({ ...config, logging: { level: 'info', file: log } }));
  const child = spawn(process.execPath, [BIN, 'serve', '--config', file], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', SWITCHYARD_TSX: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let seen = '';
  child.stdout!.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const match = /switchyard listening on (http:\/\/\S+)/.exec(seen);
      if (match) resolve(match[1]);
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`the compiled gateway exited with ${code}: ${seen.slice(-800)}`)));
  });
  return { url, child, output: () => seen, logFile: log, config: file };
}

async function stop(gateway: Compiled | undefined): Promise<void> {
  if (!gateway || gateway.child.exitCode !== null) return;
  const exited = once(gateway.child, 'exit');
  gateway.child.kill('SIGTERM');
  await exited;
}

function createKey(config: string): string {
  const created = spawnSync(process.execPath, [BIN, 'keys', 'create', '--name', 'compiled', '--credits', '5', '--json', '--config', config], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(created.status, 0, created.stderr);
  return (JSON.parse(created.stdout) as { key: string }).key;
}

/**
 * The first line of a gateway's JSON log with this message. The file is written in batches, so the line may land a
 * moment after the banner on stderr that told the test the gateway is up: wait for it.
 */
async function logLine(file: string, message: string): Promise<Record<string, unknown>> {
  const found = (): string | undefined => {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    return text.split('\n').find((candidate) => candidate.includes(`"message":"${message}"`));
  };
  const line = await eventually(found, 10_000).catch(() => assert.fail(`no '${message}' line in ${file}`));
  return JSON.parse(line) as Record<string, unknown>;
}

/**
 * A user's plugin outside the project: it imports the SDK from the project's .ts sources, answers chat with what
 * it sees of the process (its Node flags, whether a .ts file can be imported at all), and refuses the model
 * `probe-refuse` with an SDK error the gateway must recognise as its own class.
 */
function writeProbePlugin(pluginsDir: string, folder: string, file: 'index.js' | 'index.ts'): void {
  const dir = path.join(pluginsDir, folder);
  mkdirSync(dir, { recursive: true });
  // An ES module plugin outside the project says so, as any ESM package does.
  writeFileSync(path.join(pluginsDir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(path.join(dir, 'typed.ts'), 'export const typed: number = 1;\n');
  const sdk = pathToFileURL(path.join(ROOT, 'src/plugin-sdk.ts')).href;
  const typed = file === 'index.ts' ? ': Record<string, unknown>' : '';
  writeFileSync(
    path.join(dir, file),
    `import { definePlugin, UpstreamRequestError, z } from '${sdk}';
async function canImportTypeScript() {
  try {
    await import(new URL('./typed.ts', import.meta.url).href);
    return true;
  } catch {
    return false;
  }
}
export default definePlugin({
  name: '${folder}',
  version: '1.0.0',
  configSchema: z.object({}),
  create: () => ({
    async chat(request${typed}) {
      if (request.model === 'probe-refuse') throw new UpstreamRequestError(400, 'the probe refuses', 'probe_refused', null);
      const seen = { execArgv: process.execArgv, typescript: await canImportTypeScript() };
      return { body: { id: 'chatcmpl-probe', object: 'chat.completion', created: 1, model: String(request.model), choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify(seen) }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } } };
    },
    async chatStream() {
      throw new UpstreamRequestError(400, 'no streams', 'probe_no_streams', null);
    },
  }),
});
`,
  );
}

describe('the compiled gateway (npm start)', function () {
  // The first start may compile dist/ (a few seconds, longer on a busy machine).
  this.timeout(120_000);
  let dir: string;
  let mock: MockUpstream;
  let gateway: Compiled | undefined;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-compiled-'));
    mock = await startMock({ flavor: 'openai' });
  });

  afterEach(async () => {
    await stop(gateway);
    gateway = undefined;
  });

  after(async () => {
    await mock.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs dist/ with the compiled openai plugin and compiled migrations, recorded under their source names', async () => {
    const base = testConfigObject(
      { providers: { openai: { plugin: 'openai', base_url: mock.url, api_key: OPENAI_KEY, models: ['gpt-*'], retries: { attempts: 0 } } } },
      dir,
    );
    gateway = await startCompiled(dir, 'bundled', base);
    assert.equal((await logLine(gateway.logFile, 'listening')).compiled, true);
    assert.equal((await logLine(gateway.logFile, 'plugin loaded')).file, path.join(ROOT, 'dist/plugins/openai/index.js'));
    assert.deepEqual(readFileSync(`/proc/${gateway.child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(1), [
      BIN,
      'serve',
      '--config',
      gateway.config,
    ]);

    const client = new OpenAI({ apiKey: createKey(gateway.config), baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] });
    assert.equal(answer.choices[0].message.content, MOCK_TEXT);

    // The sources (tsx) find the compiled gateway's migrations already applied: nothing runs twice.
    const db = createDb({ client: 'sqlite3', connection: path.join(dir, 'gateway.sqlite') });
    try {
      await migrate(db);
      const names = (await db('knex_migrations').select('name')).map((row: { name: string }) => row.name);
      assert.ok(names.length > 0 && names.every((name) => name.endsWith('.ts')), names.join(', '));
      assert.equal(new Set(names).size, names.length);
    } finally {
      await db.destroy();
    }
  });

  it("loads a user's own .js plugin with no TypeScript loader in the process, sharing the gateway's SDK classes", async () => {
    const pluginsDir = path.join(dir, 'js-plugins');
    writeProbePlugin(pluginsDir, 'probe', 'index.js');
    const config = testConfigObject({ providers: { probe: { plugin: 'probe', models: ['probe-*'], retries: { attempts: 0 } } } }, path.join(dir, 'js'));
    gateway = await startCompiled(dir, 'js-plugin', { ...config, plugins_dir: pluginsDir });
    const client = new OpenAI({ apiKey: createKey(gateway.config), baseURL: `${gateway.url}/v1`, maxRetries: 0 });

    const answer = await client.chat.completions.create({ model: 'probe-1', messages: [{ role: 'user', content: 'Hello' }] });
    assert.deepEqual(JSON.parse(answer.choices[0].message.content!), { execArgv: [], typescript: false });
    const refused = await client.chat.completions
      .create({ model: 'probe-refuse', messages: [{ role: 'user', content: 'Hello' }] })
      .catch((error: unknown) => error);
    assert.ok(refused instanceof OpenAI.APIError);
    assert.equal(refused.status, 400);
    assert.equal(refused.code, 'probe_refused');
  });

  it("still loads a user's own .ts plugin, through tsx registered on demand", async () => {
    const pluginsDir = path.join(dir, 'ts-plugins');
    writeProbePlugin(pluginsDir, 'typed', 'index.ts');
    const config = testConfigObject({ providers: { typed: { plugin: 'typed', models: ['probe-*'], retries: { attempts: 0 } } } }, path.join(dir, 'ts'));
    gateway = await startCompiled(dir, 'ts-plugin', { ...config, plugins_dir: pluginsDir });
    assert.equal((await logLine(gateway.logFile, 'listening')).compiled, true);
    const client = new OpenAI({ apiKey: createKey(gateway.config), baseURL: `${gateway.url}/v1`, maxRetries: 0 });

    const answer = await client.chat.completions.create({ model: 'probe-1', messages: [{ role: 'user', content: 'Hello' }] });
    assert.equal((JSON.parse(answer.choices[0].message.content!) as { typescript: boolean }).typescript, true);
    const refused = await client.chat.completions
      .create({ model: 'probe-refuse', messages: [{ role: 'user', content: 'Hello' }] })
      .catch((error: unknown) => error);
    assert.ok(refused instanceof OpenAI.APIError);
    assert.equal(refused.code, 'probe_refused');
  });
});
