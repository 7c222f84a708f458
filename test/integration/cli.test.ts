/** The `switchyard` CLI (SPEC §1): keys, credits, usage, migrate, and clear messages with a non-zero exit on bad input. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.ts';
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

  async function cli(...args: string[]): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli([...args, '--config', configPath], (line) => out.push(line), (line) => err.push(line));
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

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

  const bad: [string, string[], RegExp][] = [
    ['an unknown key id (revoke)', ['keys', 'revoke', 'key_nope'], /no key with ID 'key_nope'/],
    ['an unknown key id (credits)', ['credits', 'add', 'key_nope', '5'], /no key with ID 'key_nope'/],
    ['negative credits', ['credits', 'add', 'key_nope', '-5'], /greater than 0, got '-5'/],
    ['non-numeric credits', ['credits', 'add', 'key_nope', 'five'], /must be a number, got 'five'/],
    ['zero credits', ['credits', 'add', 'key_nope', '0'], /greater than 0/],
    ['a missing name', ['keys', 'create'], /--name is required/],
    ['non-numeric --credits', ['keys', 'create', '--name', 'x', '--credits', 'abc'], /--credits must be a number/],
    ['a fractional --rpm', ['keys', 'create', '--name', 'x', '--rpm', '1.5'], /--rpm must be a whole number/],
    ['an unknown option', ['keys', 'list', '--colour'], /Unknown option '--colour'/],
    ['an unknown command', ['keys', 'explode'], /unknown command 'keys explode'/],
    ['a bad --since', ['usage', '--since', 'yesterday'], /--since must be an ISO date/],
    ['a bad --group-by', ['usage', '--group-by', 'planet'], /--group-by must be model, day or key/],
  ];
  for (const [label, args, message] of bad) {
    it(`refuses ${label} with a clear message and a non-zero exit`, async () => {
      const run = await cli(...args);
      assert.notEqual(run.code, 0);
      assert.match(run.err, message);
    });
  }

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
      assert.deepEqual(rows.map((row) => row.cost_usd), [0.000018, 0.000007], 'newest first');
      const groups = JSON.parse((await cli('usage', '--key', created.id, '--group-by', 'model', '--json')).out) as { group: string; requests: number }[];
      assert.deepEqual(groups.map((group) => [group.group, group.requests]).sort(), [['deepseek-ai/DeepSeek-R1', 1], ['meta-llama/Llama-3.1-8B-Instruct', 1]]);
      const days = JSON.parse((await cli('usage', '--group-by', 'day', '--json')).out) as { group: string }[];
      assert.match(days[0].group, /^\d{4}-\d{2}-\d{2}$/);
      const table = await cli('usage', '--key', created.id);
      assert.match(table.out, /2 requests, \$0\.000025 in all\./);
      const keys = JSON.parse((await cli('keys', 'list', '--json')).out) as { id: string; balance_usd: number }[];
      assert.equal(keys.find((key) => key.id === created.id)!.balance_usd, 1 - 0.000025);
    });
  });

  it('runs as `npx switchyard` from the project root (the package bin)', () => {
    const result = spawnSync('npx', ['switchyard', 'migrate', '--config', configPath], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Migrations are up to date/);
  });
});
