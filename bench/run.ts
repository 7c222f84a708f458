/**
 * `npm run bench`: direct upstream vs a bare passthrough vs Switchyard with a metered key, driven with autocannon at
 * concurrency 1/16/64 (JSON) and 1/16 (SSE) in alternating runs, three repetitions; precise c1 latency and TTFT;
 * peak RSS; 1,000 concurrent slow streams. `--pg --redis` adds Switchyard on PostgreSQL + Redis beside SQLite +
 * memory. Prints a table and writes bench/results/latest.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { drive, percentile } from './driver.ts';
import { cpuMs, sampleRss, startService, type Service } from './processes.ts';
import { slowStreams } from './slow-streams.ts';
import { printReport, type Report, type ScenarioResult } from './report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    pg: { type: 'boolean' },
    redis: { type: 'boolean' },
    duration: { type: 'string', default: '4' },
    reps: { type: 'string', default: '3' },
    chunks: { type: 'string', default: '50' },
    'chunk-delay-ms': { type: 'string', default: '0' },
    'slow-streams': { type: 'string', default: '1000' },
    'model-ms': { type: 'string', default: '20' },
    'model-chunk-ms': { type: 'string', default: '2' },
  },
});
const MODEL_MS = Number(args['model-ms']);
const MODEL_CHUNK_MS = Number(args['model-chunk-ms']);
const DURATION = Number(args.duration);
const REPS = Number(args.reps);
const SSE_MODEL = `bench-sse-${args.chunks}-${args['chunk-delay-ms']}`;

interface Target {
  name: string;
  service: Service | undefined;
  url: string;
  headers: Record<string, string>;
}

const body = (model: string, stream = false) => JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 64, ...(stream ? { stream: true } : {}) });

/** Writes a gateway config for the benchmark and creates a metered key with the CLI, as a user would. */
function prepareGateway(dir: string, upstream: string, variant: { pgUrl?: string; redis?: boolean }): { config: string; key: string } {
  const config = path.join(dir, `gateway-${variant.pgUrl ? 'pg' : 'sqlite'}.yaml`);
  writeFileSync(
    config,
    [
      'server: { host: 127.0.0.1, port: 0 }',
      variant.pgUrl ? `database: { client: pg, connection: "${variant.pgUrl}" }` : 'database: { connection: ./bench.sqlite }',
      `rate_limit: { store: ${variant.redis ? 'redis' : 'memory'}, prefix: "switchyard-bench:${process.pid}:", requests_per_window: 100000000 }`,
      'logging: { level: info }',
      `plugins_dir: ${path.join(ROOT, 'plugins')}`,
      'providers:',
      `  bench: { plugin: openai, base_url: "${upstream}/v1", api_key: sk-bench, models: ["bench*"], retries: { attempts: 0 } }`,
      'pricing: { default: { input: 0.5, output: 1.5 } }',
      '',
    ].join('\n'),
  );
  const created = spawnSync(process.execPath, [path.join(ROOT, 'bin/switchyard.mjs'), 'keys', 'create', '--name', 'bench', '--credits', '1000000', '--json', '--config', config], { encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`keys create failed: ${created.stderr}`);
  return { config, key: (JSON.parse(created.stdout) as { key: string }).key };
}

async function cannon(target: Target, model: string, stream: boolean, connections: number): Promise<ScenarioResult> {
  const pid = target.service?.child.pid;
  const rss = pid ? sampleRss(pid) : undefined;
  const cpuBefore = pid ? cpuMs(pid) : 0;
  const result = await autocannon({
    url: `${target.url}/v1/chat/completions`,
    method: 'POST',
    body: body(model, stream),
    headers: { 'content-type': 'application/json', ...target.headers },
    connections,
    duration: DURATION,
  });
  const cpuUsPerRequest = pid && result.requests.total > 0 ? ((cpuMs(pid) - cpuBefore) * 1000) / result.requests.total : undefined;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx + result.timeouts, peakRssMiB: rss?.stop(), cpuUsPerRequest };
}

async function precise(target: Target, model: string, stream: boolean, concurrency: number, requests: number) {
  const timings = await drive({ url: target.url, path: '/v1/chat/completions', body: body(model, stream), headers: target.headers, concurrency, requests });
  return { p50: percentile(timings.latencies, 50), p99: percentile(timings.latencies, 99), ttftP50: percentile(timings.ttfts, 50), errors: timings.errors };
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));
  const services: Service[] = [];
  let pgDatabase: string | undefined;
  try {
    const mock = await startService('mock', [path.join(ROOT, 'bench/mock-upstream.ts')]);
    services.push(mock);
    const passthrough = await startService('passthrough', [path.join(ROOT, 'bench/passthrough.ts'), mock.url]);
    services.push(passthrough);
    const targets: Target[] = [
      { name: 'direct', service: undefined, url: mock.url, headers: {} },
      { name: 'passthrough', service: passthrough, url: passthrough.url, headers: {} },
    ];
    const sqlite = prepareGateway(dir, mock.url, {});
    const gateway = await startService('switchyard', [path.join(ROOT, 'src/cli/main.ts'), 'serve', '--config', sqlite.config], { LOG_LEVEL: 'info' });
    services.push(gateway);
    targets.push({ name: 'switchyard', service: gateway, url: gateway.url, headers: { authorization: `Bearer ${sqlite.key}` } });
    if (args.pg || args.redis) {
      pgDatabase = args.pg ? await createPgDatabase() : undefined;
      const variant = prepareGateway(dir, mock.url, { pgUrl: pgDatabase && pgUrl(pgDatabase), redis: args.redis });
      const shared = await startService('switchyard-pg-redis', [path.join(ROOT, 'src/cli/main.ts'), 'serve', '--config', variant.config]);
      services.push(shared);
      targets.push({ name: 'switchyard-pg-redis', service: shared, url: shared.url, headers: { authorization: `Bearer ${variant.key}` } });
    }

    for (const target of targets) await autocannon({ url: `${target.url}/v1/chat/completions`, method: 'POST', body: body('bench-json'), headers: { 'content-type': 'application/json', ...target.headers }, connections: 16, duration: 1 });

    // An upstream that answers at once makes the run CPU-bound: it measures what each proxy costs per request.
    // The two "model" scenarios add a model's own time, as every real upstream has.
    const scenarios: [string, string, boolean, number][] = [
      ['json c1', 'bench-json', false, 1],
      ['json c16', 'bench-json', false, 16],
      ['json c64', 'bench-json', false, 64],
      ['sse c1', SSE_MODEL, true, 1],
      ['sse c16', SSE_MODEL, true, 16],
      [`json c64, model ${MODEL_MS} ms`, `bench-json-${MODEL_MS}`, false, 64],
      [`sse c16, ${args.chunks} chunks × ${MODEL_CHUNK_MS} ms`, `bench-sse-${args.chunks}-${MODEL_CHUNK_MS}`, true, 16],
    ];
    const report: Report = { machine: machine(), startedAt: new Date(started).toISOString(), durationS: DURATION, reps: REPS, sseModel: SSE_MODEL, scenarios: {}, precise: {}, slowStreams: [] };
    for (const [label, model, stream, connections] of scenarios) {
      report.scenarios[label] = {};
      for (let rep = 0; rep < REPS; rep++) {
        // Alternating targets within each repetition spreads the machine's noise evenly over all of them.
        for (const target of targets) {
          (report.scenarios[label][target.name] ??= []).push(await cannon(target, model, stream, connections));
        }
      }
    }
    for (const target of targets) {
      report.precise[target.name] = {
        jsonC1: await precise(target, 'bench-json', false, 1, 2000),
        sseC1: await precise(target, SSE_MODEL, true, 1, 500),
        sseC16: await precise(target, SSE_MODEL, true, 16, 2000),
      };
    }
    const streams = Number(args['slow-streams']);
    if (streams > 0) {
      for (const target of targets.filter((candidate) => candidate.name.startsWith('switchyard'))) {
        report.slowStreams.push({ target: target.name, ...(await slowStreams(target.url, target.headers, target.service!.child.pid!, streams)) });
      }
    }
    report.totalSeconds = Math.round((Date.now() - started) / 1000);
    printReport(report);
    const out = path.join(ROOT, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nresults: bench/results/latest.json (${report.totalSeconds} s)`);
  } finally {
    for (const service of services.reverse()) await service.stop();
    if (pgDatabase) await dropPgDatabase(pgDatabase);
    rmSync(dir, { recursive: true, force: true });
  }
}

const PG_ADMIN = process.env.DATABASE_URL_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

function pgUrl(database: string): string {
  const url = new URL(PG_ADMIN);
  url.pathname = `/${database}`;
  return url.toString();
}

async function createPgDatabase(): Promise<string> {
  const name = `switchyard_bench_${process.pid}`;
  const client = new pg.Client({ connectionString: PG_ADMIN });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${name}`);
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return name;
}

async function dropPgDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await client.end();
}

function machine(): Report['machine'] {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.type()} ${os.release()}` };
}

await main();
