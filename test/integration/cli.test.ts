/** The `switchyard` CLI: keys, credits, usage, migrate; help, version, and one-line usage errors with exit code 2. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli/program.ts';
import { listeningUrls } from '../../src/cli/serve-command.ts';
import { DEFAULT_MICRO, LLAMA_MICRO } from '../helpers/costs.ts';
import { HF_KEY, ROOT, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

interface Run {
  code: number;
  out: string;
  err: string;
}

describe('switchyard CLI', () => {
  let dir: string;
  let configPath: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-cli-'));
    configPath = path.join(dir, 'gateway.yaml');
    writeFileSync(configPath, `database:\n  connection: ./cli.sqlite\nlogging:\n  level: silent\nplugins_dir: ${path.join(ROOT, 'plugins')}\nproviders: {}\n`);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the CLI in this process with exactly these arguments. */
  async function runOwn(args: string[]): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(
      args,
      (line) => out.push(line),
      (line) => err.push(line),
    );
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  /** Runs the CLI against this suite's config file. */
  const cli = (...args: string[]): Promise<Run> => runOwn([...args, '--config', configPath]);

  it('creates a key, prints it once as JSON, and lists keys without the secret', async () => {
    const created = await cli('keys', 'create', '--name', 'ci', '--credits', '5', '--rpm', '10', '--models', 'meta-llama/*,gpt-*', '--json');
    assert.equal(created.code, 0, created.err);
    const key = JSON.parse(created.out) as Record<string, unknown>;
    assert.match(String(key.key), /^sk-sy-/);
    assert.equal(key.name, 'ci');
    assert.equal(key.balance_usd, 5);
    assert.deepEqual(key.models, ['meta-llama/*', 'gpt-*']);
    const listed = await cli('keys', 'list', '--json');
    const keys = JSON.parse(listed.out) as Record<string, unknown>[];
    assert.equal(typeof keys[0].id, 'string');
    assert.equal(listed.out.includes(String(key.key)), false);
    const table = await cli('keys', 'list');
    assert.match(table.out, /ID\s+NAME\s+PREFIX/);
    assert.match(table.out, new RegExp(String(key.id)));
  });

  it('tops up and revokes by id', async () => {
    const { out } = await cli('keys', 'create', '--name', 'topup', '--json');
    const { id } = JSON.parse(out) as { id: string };
    const added = await cli('credits', 'add', id, '2.25');
    assert.equal(added.code, 0, added.err);
    assert.match(added.out, /balance is now \$2\.250000/);
    const revoked = await cli('keys', 'revoke', id);
    assert.equal(revoked.code, 0);
    const keys = JSON.parse((await cli('keys', 'list', '--json')).out) as { id: string; revoked: boolean; balance_usd: number }[];
    const key = keys.find((entry) => entry.id === id)!;
    assert.equal(key.revoked, true);
    assert.equal(key.balance_usd, 2.25);
  });

  // Usage errors: one line naming the mistake (and the nearest valid spelling), exit code 2.
  const usageErrors: [string, string[], RegExp][] = [
    ['negative credits', ['credits', 'add', 'key_nope', '-5'], /value '-5' is invalid for argument 'usd'\. It must be greater than 0 USD\./],
    ['non-numeric credits', ['credits', 'add', 'key_nope', 'five'], /value 'five' is invalid for argument 'usd'\. It must be an amount in USD/],
    ['zero credits', ['credits', 'add', 'key_nope', '0'], /It must be greater than 0 USD/],
    ['credits below one micro-dollar', ['keys', 'create', '--name', 'x', '--credits', '0.0000001'], /below one micro-dollar/],
    ['credits finer than a micro-dollar', ['credits', 'add', 'key_nope', '1.0000001'], /more than 6 decimals/],
    [
      'a negative --credits',
      ['keys', 'create', '--name', 'x', '--credits', '-5'],
      /option '--credits <usd>' argument '-5' is invalid\. It must be zero or more USD\./,
    ],
    ['a missing name', ['keys', 'create'], /required option '--name <name>' not specified/],
    ['non-numeric --credits', ['keys', 'create', '--name', 'x', '--credits', 'abc'], /'--credits <usd>' argument 'abc' is invalid/],
    ['a fractional --rpm', ['keys', 'create', '--name', 'x', '--rpm', '1.5'], /'--rpm <requests>' argument '1\.5' is invalid\. It must be a whole number\./],
    ['a typo in an option', ['keys', 'list', '--jsno'], /^error: unknown option '--jsno' \(did you mean --json\?\)$/],
    ['a typo in a command', ['kyes', 'list'], /^error: unknown command 'kyes' \(did you mean keys\?\)$/],
    ['a typo in a subcommand', ['keys', 'lsit'], /^error: unknown command 'lsit' \(did you mean list\?\)$/],
    ['a bad --since', ['usage', '--since', 'yesterday'], /'--since <iso>' argument 'yesterday' is invalid\. It must be an ISO date/],
    ['a bad --group-by', ['usage', '--group-by', 'planet'], /'--group-by <what>' argument 'planet' is invalid\. It must be one of model, day, key\.$/],
    ['a typo in --group-by', ['usage', '--group-by', 'modle'], /It must be one of model, day, key \(did you mean 'model'\?\)\.$/],
    ['a bad --port', ['serve', '--port', '70000'], /'--port <number>' argument '70000' is invalid\. It must be between 0 and 65535\./],
  ];
  for (const [label, args, message] of usageErrors) {
    it(`refuses ${label} in one line with exit code 2`, async () => {
      const run = await cli(...args);
      assert.equal(run.code, 2);
      assert.equal(run.err.split('\n').length, 1, run.err);
      assert.match(run.err, message);
    });
  }

  it('refuses an unknown key id with exit code 1', async () => {
    for (const args of [
      ['keys', 'revoke', 'key_nope'],
      ['credits', 'add', 'key_nope', '5'],
    ]) {
      const run = await cli(...args);
      assert.equal(run.code, 1);
      assert.equal(run.err, "error: no key with ID 'key_nope' (see `switchyard keys list`)");
    }
  });

  it('refuses a second revoke and a top-up of a revoked key, leaving its balance as it was', async () => {
    const { id } = JSON.parse((await cli('keys', 'create', '--name', 'gone', '--credits', '1', '--json')).out) as { id: string };
    assert.equal((await cli('keys', 'revoke', id)).code, 0);
    const again = await cli('keys', 'revoke', id);
    assert.equal(again.code, 1);
    assert.match(again.err, /is revoked: it was revoked before, nothing to do/);
    const topUp = await cli('credits', 'add', id, '5');
    assert.equal(topUp.code, 1);
    assert.match(topUp.err, /is revoked: credits cannot be added to it/);
    const keys = JSON.parse((await cli('keys', 'list', '--json')).out) as { id: string; balance_usd: number }[];
    assert.equal(keys.find((key) => key.id === id)!.balance_usd, 1);
  });

  it('prints --version from package.json, the help of a command group, and per-command help with units and examples', async () => {
    const version = await cli('--version');
    assert.equal(version.code, 0);
    assert.equal(version.out, (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const keys = await runOwn(['keys']);
    assert.equal(keys.code, 0);
    assert.match(keys.out, /Usage: switchyard keys \[options\] \[command\]/);
    assert.match(keys.out, /create \[options\]/);
    const create = await runOwn(['keys', 'create', '--help']);
    assert.equal(create.code, 0);
    assert.match(create.out, /--credits <usd>\s+prepaid balance in USD, at least 0\.000001/);
    assert.match(create.out, /Examples:\n {2}\$ switchyard keys create --name alice/);
  });

  it('names the migrations it applies, says when none are pending, and warns when it creates a database', async () => {
    const other = mkdtempSync(path.join(tmpdir(), 'switchyard-cli-new-'));
    try {
      const file = path.join(other, 'gateway.yaml');
      writeFileSync(file, 'database:\n  connection: ./fresh.sqlite\nproviders: {}\n');
      const first = await runOwn(['migrate', '--config', file]);
      assert.equal(first.code, 0, first.err);
      assert.equal(
        first.err,
        `warning: no database at ${path.join(other, 'fresh.sqlite')}; creating a new, empty one (is --config ${file} the file you meant?)`,
      );
      assert.match(
        first.out,
        new RegExp(
          `^Applied \\d+ migration\\(s\\) to ${path.join(other, 'fresh.sqlite').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 20261127000000_initial\\.ts, `,
        ),
      );
      const second = await runOwn(['migrate', '--config', file]);
      assert.equal(second.err, '');
      assert.equal(second.out, `No pending migrations: ${path.join(other, 'fresh.sqlite')} is up to date.`);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('answers `keys list` without loading the server (start-up stays cheap)', function () {
    this.timeout(60_000);
    const script = `
      import { register } from 'tsx/esm/api';
      const loaded = [];
      register({ onImport: (url) => loaded.push(url) });
      const { runCli } = await import('./src/cli/program.ts');
      const code = await runCli(['keys', 'list', '--json', '--config', ${JSON.stringify(configPath)}], () => {}, console.error);
      console.log(JSON.stringify({ code, loaded: loaded.filter((url) => url.includes('/src/')).map((url) => url.split('/src/')[1]) }));
      process.exit();`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const { code, loaded } = JSON.parse(result.stdout) as { code: number; loaded: string[] };
    assert.equal(code, 0, result.stderr);
    assert.ok(loaded.includes('cli/commands.ts'), loaded.join(' '));
    for (const module of ['start-gateway.ts', 'express-app.ts', 'proxy/handler.ts', 'plugins/loader.ts', 'metering/meter.ts']) {
      assert.equal(loaded.includes(module), false, `keys list loaded ${module}`);
    }
  });

  it("names every address serve really listens on: each interface's for 0.0.0.0, the one given otherwise", () => {
    const all = listeningUrls({ address: '0.0.0.0', family: 'IPv4', port: 8123 });
    assert.ok(all.includes('http://127.0.0.1:8123'), all.join(' '));
    assert.equal(
      all.some((url) => url.includes('0.0.0.0')),
      false,
    );
    assert.deepEqual(listeningUrls({ address: '127.0.0.1', family: 'IPv4', port: 9 }), ['http://127.0.0.1:9']);
    assert.deepEqual(listeningUrls({ address: '::1', family: 'IPv6', port: 9 }), ['http://[::1]:9']);
  });

  describe('usage against a running gateway', () => {
    let hf: MockUpstream;
    let gateway: TestGateway;

    before(async () => {
      hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
      gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: { database: { connection: path.join(dir, 'cli.sqlite') } } });
    });

    after(async () => {
      await gateway.close();
      await hf.close();
    });

    it('shows spend per request and per group while the server runs on the same database', async () => {
      const created = JSON.parse((await cli('keys', 'create', '--name', 'spender', '--credits', '1', '--json')).out) as { id: string; key: string };
      const client = gateway.client(created.key);
      await client.chat.completions.create({ model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: 'Hi' }] });
      await client.chat.completions.create({ model: 'deepseek-ai/DeepSeek-R1', messages: [{ role: 'user', content: 'Hi' }] });
      await gateway.running.deps.writer.flush();
      const rows = JSON.parse((await cli('usage', '--key', created.id, '--json')).out) as { model: string; cost_usd: number }[];
      assert.equal(rows.length, 2);
      assert.deepEqual(
        rows.map((row) => row.cost_usd),
        [DEFAULT_MICRO / 1e6, LLAMA_MICRO / 1e6],
        'newest first',
      );
      const groups = JSON.parse((await cli('usage', '--key', created.id, '--group-by', 'model', '--json')).out) as { group: string; requests: number }[];
      assert.deepEqual(groups.map((group) => [group.group, group.requests]).sort(), [
        ['deepseek-ai/DeepSeek-R1', 1],
        ['meta-llama/Llama-3.1-8B-Instruct', 1],
      ]);
      const days = JSON.parse((await cli('usage', '--group-by', 'day', '--json')).out) as { group: string }[];
      assert.match(days[0].group, /^\d{4}-\d{2}-\d{2}$/);
      const table = await cli('usage', '--key', created.id);
      const spentMicro = LLAMA_MICRO + DEFAULT_MICRO;
      assert.ok(table.out.includes(`2 requests, $${(spentMicro / 1e6).toFixed(6)} in all.`), table.out);
      // Each row names its endpoint, so a Claude Code call (messages) stands apart from chat without --json.
      assert.match(table.out.split('\n')[0], /\bENDPOINT\b/);
      assert.equal(table.out.split('\n').filter((line) => /\bchat\b/.test(line)).length, 2, table.out);
      const keys = JSON.parse((await cli('keys', 'list', '--json')).out) as { id: string; balance_usd: number }[];
      assert.equal(keys.find((key) => key.id === created.id)!.balance_usd, (1e6 - spentMicro) / 1e6);
    });
  });

  it('runs as `npx switchyard` from the project root (the package bin)', function () {
    this.timeout(60_000);
    const result = spawnSync('npx', ['switchyard', 'migrate', '--config', configPath], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^(No pending migrations|Applied \d+ migration)/);
  });
});
