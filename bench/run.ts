/**
 * `npm run bench`: Switchyard beside its peers in one run, against one mock upstream on loopback — a bare
 * node:http + undici passthrough (the floor any proxy pays), Express 5 + http-proxy-middleware, Express 5 +
 * express.json + undici, Portkey's OSS gateway (installed into bench/.peers/portkey on first run), and Switchyard
 * (compiled, as `npm start` runs it) with a metered key on SQLite; `--pg --redis` adds Switchyard on PostgreSQL +
 * Redis, `--tsx` Switchyard under the tsx loader. autocannon drives JSON at concurrency 1/16/64 and SSE at 16
 * (targets alternate within each repetition), a precise driver measures added latency and time to first byte,
 * /proc gives CPU per request and peak RSS, and 1,000 slow streams are held open through each. `--quick` runs
 * one short repetition. Prints the tables and writes bench/results/latest.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { buildServer, isBuildFresh } from '../scripts/build-server.mjs';
import { compileServers } from './compile.ts';
import { drive, percentile } from './driver.ts';
import { ensurePortkey, portkeyHeaders, PORTKEY_VERSION } from './peers/portkey.ts';
import { cpuMs, sampleRss, startService, type Service } from './processes.ts';
import { slowStreams } from './slow-streams.ts';
import { printReport, type Report, type ScenarioResult } from './report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PEERS = path.join(ROOT, 'bench', '.peers');
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    pg: { type: 'boolean' },
    redis: { type: 'boolean' },
    tsx: { type: 'boolean' },
    /** Adds Switchyard with a routing pool that no benchmark model matches: what routing costs a request it does not apply to. */
    routing: { type: 'boolean' },
    'no-portkey': { type: 'boolean' },
    /** Comma-separated target names to start (default: all that apply), e.g. `--only passthrough,switchyard,switchyard-tsx`. */
    only: { type: 'string' },
    /** Writes a V8 CPU profile of each Switchyard process into bench/results/profiles/ when it stops. */
    'cpu-prof': { type: 'boolean' },
    duration: { type: 'string' },
    reps: { type: 'string' },
    chunks: { type: 'string', default: '50' },
    'slow-streams': { type: 'string', default: '1000' },
    'model-ms': { type: 'string', default: '20' },
    'model-chunk-ms': { type: 'string', default: '2' },
  },
});
const QUICK = Boolean(args.quick);
const DURATION = Number(args.duration ?? (QUICK ? 1 : 3));
const REPS = Number(args.reps ?? (QUICK ? 1 : 3));
const MODEL_MS = Number(args['model-ms']);
const MODEL_CHUNK_MS = Number(args['model-chunk-ms']);
const SSE_MODEL = `bench-sse-${args.chunks}-0`;
/** Requests of the precise driver: JSON at c1, SSE at c1, SSE at c16. */
const PRECISE = QUICK ? [300, 100, 300] : [2000, 500, 2000];
const ONLY = args.only ? new Set(args.only.split(',').map((name) => name.trim())) : undefined;
const wanted = (name: string) => !ONLY || ONLY.has(name);
const PROFILE = args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.join(ROOT, 'bench', 'results', 'profiles')] : [];

interface Target {
  name: string;
  service: Service | undefined;
  url: string;
  headers: Record<string, string>;
}

const body = (model: string, stream = false) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 64, ...(stream ? { stream: true } : {}) });

/** Writes a gateway config for the benchmark and creates a metered key with the CLI, as a user would. */
function prepareGateway(
  dir: string,
  name: string,
  upstream: string,
  variant: { pgUrl?: string; redis?: boolean; unmatchedPool?: boolean },
): { config: string; key: string } {
  const config = path.join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    [
      'server: { host: 127.0.0.1, port: 0 }',
      variant.pgUrl ? `database: { client: pg, connection: "${variant.pgUrl}" }` : `database: { connection: ./${name}.sqlite }`,
      `rate_limit: { store: ${variant.redis ? 'redis' : 'memory'}, prefix: "switchyard-bench:${process.pid}:", requests_per_window: 100000000 }`,
      'logging: { level: info }',
      `plugins_dir: ${path.join(ROOT, 'plugins')}`,
      'providers:',
      `  bench: { plugin: openai, base_url: "${upstream}/v1", api_key: sk-bench, models: ["bench*"], retries: { attempts: 0 } }`,
      ...(variant.unmatchedPool
        ? [
            `  pool-a: { plugin: openai, base_url: "${upstream}/v1", api_key: sk-bench, models: [] }`,
            `  pool-b: { plugin: openai, base_url: "${upstream}/v1", api_key: sk-bench, models: [] }`,
            'routing:',
            '  - { models: ["pooled/*"], targets: [pool-a, pool-b], strategy: least-busy }',
          ]
        : []),
      'pricing: { default: { input: 0.5, output: 1.5 } }',
      '',
    ].join('\n'),
  );
  const created = spawnSync(
    process.execPath,
    [path.join(ROOT, 'bin/switchyard.mjs'), 'keys', 'create', '--name', 'bench', '--credits', '1000000', '--json', '--config', config],
    { encoding: 'utf8' },
  );
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
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
    peakRssMiB: rss?.stop(),
    cpuUsPerRequest,
  };
}

async function precise(target: Target, model: string, stream: boolean, concurrency: number, requests: number) {
  const timings = await drive({ url: target.url, path: '/v1/chat/completions', body: body(model, stream), headers: target.headers, concurrency, requests });
  return { p50: percentile(timings.latencies, 50), p99: percentile(timings.latencies, 99), ttftP50: percentile(timings.ttfts, 50), errors: timings.errors };
}

/** A port nobody listens on now, for a server that takes its port on the command line. */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts every target beside the mock; a peer that cannot run is recorded with the reason instead. */
async function startTargets(dir: string, services: Service[], unavailable: Record<string, string>): Promise<{ mock: Service; targets: Target[] }> {
  const scripts = await compileServers(path.join(ROOT, 'bench'), path.join(PEERS, 'build'), [
    'mock-upstream.ts',
    'passthrough.ts',
    'peers/express-proxy.ts',
    'peers/express-json.ts',
  ]);
  const start = async (name: string, nodeArgs: string[], options: Parameters<typeof startService>[2] = {}) => {
    const service = await startService(name, nodeArgs, options);
    services.push(service);
    return service;
  };
  const mock = await start('mock', [scripts['mock-upstream']]);
  const targets: Target[] = [];
  const plain = async (name: string, script: string) => {
    if (!wanted(name)) return;
    const service = await start(name, [script, mock.url]);
    targets.push({ name, service, url: service.url, headers: {} });
  };
  await plain('passthrough', scripts.passthrough);
  await plain('express-proxy', scripts['express-proxy']);
  await plain('express-json', scripts['express-json']);

  if (!args['no-portkey'] && wanted('portkey')) {
    const portkey = ensurePortkey(path.join(PEERS, 'portkey'));
    if ('unavailable' in portkey) unavailable.portkey = portkey.unavailable;
    else {
      try {
        const service = await start('portkey', [portkey.entry, `--port=${await freePort()}`, '--headless'], {
          env: { NODE_ENV: 'production' },
          ready: /http:\/\/localhost:(\d+)/,
        });
        targets.push({ name: 'portkey', service, url: service.url, headers: portkeyHeaders(mock.url) });
      } catch (error) {
        unavailable.portkey = (error as Error).message;
      }
    }
  }

  // Switchyard as `npm start` runs it: the bin on a current dist/ build.
  if (!isBuildFresh()) {
    const failure = buildServer();
    if (failure) throw new Error(`the gateway does not build: ${failure}`);
  }
  if (wanted('switchyard')) {
    const sqlite = prepareGateway(dir, 'switchyard', mock.url, {});
    const gateway = await start('switchyard', [...PROFILE, path.join(ROOT, 'bin/switchyard.mjs'), 'serve', '--config', sqlite.config]);
    targets.push({ name: 'switchyard', service: gateway, url: gateway.url, headers: { authorization: `Bearer ${sqlite.key}` } });
  }
  if ((args.pg || args.redis) && wanted('switchyard-pg-redis')) {
    const pgDatabase = args.pg ? await createPgDatabase() : undefined;
    if (pgDatabase) cleanups.push(() => dropPgDatabase(pgDatabase));
    const variant = prepareGateway(dir, 'switchyard-pg-redis', mock.url, { pgUrl: pgDatabase && pgUrl(pgDatabase), redis: args.redis });
    const shared = await start('switchyard-pg-redis', [...PROFILE, path.join(ROOT, 'bin/switchyard.mjs'), 'serve', '--config', variant.config]);
    targets.push({ name: 'switchyard-pg-redis', service: shared, url: shared.url, headers: { authorization: `Bearer ${variant.key}` } });
  }
  if (args.routing && wanted('switchyard-routing')) {
    // Routing rules exist but none matches the benchmark's models: the cost of routing for requests outside every pool.
    const pooled = prepareGateway(dir, 'switchyard-routing', mock.url, { unmatchedPool: true });
    const routed = await start('switchyard-routing', [...PROFILE, path.join(ROOT, 'bin/switchyard.mjs'), 'serve', '--config', pooled.config]);
    targets.push({ name: 'switchyard-routing', service: routed, url: routed.url, headers: { authorization: `Bearer ${pooled.key}` } });
  }
  if (args.tsx && wanted('switchyard-tsx')) {
    // The same gateway from its TypeScript sources under the tsx loader, as `npm start` ran it before the build.
    const own = prepareGateway(dir, 'switchyard-tsx', mock.url, {});
    const tsx = await start('switchyard-tsx', [...PROFILE, '--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--config', own.config]);
    targets.push({ name: 'switchyard-tsx', service: tsx, url: tsx.url, headers: { authorization: `Bearer ${own.key}` } });
  }
  return { mock, targets };
}

const cleanups: (() => Promise<void>)[] = [];

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));
  const services: Service[] = [];
  const unavailable: Record<string, string> = {};
  try {
    const { mock, targets } = await startTargets(dir, services, unavailable);
    const direct: Target = { name: 'direct', service: undefined, url: mock.url, headers: {} };

    for (const target of targets) {
      for (const [model, stream] of [
        ['bench-json', false],
        [SSE_MODEL, true],
      ] as const) {
        await autocannon({
          url: `${target.url}/v1/chat/completions`,
          method: 'POST',
          body: body(model, stream),
          headers: { 'content-type': 'application/json', ...target.headers },
          connections: 16,
          duration: 1,
        });
      }
    }

    // An upstream that answers at once makes the run CPU-bound: it measures what each proxy costs per request.
    // The two "model" scenarios add a model's own time, as every real upstream has.
    const scenarios: [string, string, boolean, number][] = [
      ['json c1', 'bench-json', false, 1],
      ['json c16', 'bench-json', false, 16],
      ['json c64', 'bench-json', false, 64],
      ['sse c16', SSE_MODEL, true, 16],
    ];
    if (!QUICK) {
      scenarios.push([`json c64, model ${MODEL_MS} ms`, `bench-json-${MODEL_MS}`, false, 64]);
      scenarios.push([`sse c16, ${args.chunks} chunks × ${MODEL_CHUNK_MS} ms`, `bench-sse-${args.chunks}-${MODEL_CHUNK_MS}`, true, 16]);
    }
    const report: Report = {
      machine: machine(),
      startedAt: new Date(started).toISOString(),
      quick: QUICK,
      durationS: DURATION,
      reps: REPS,
      sseModel: SSE_MODEL,
      portkeyVersion: PORTKEY_VERSION,
      targets: targets.map((target) => target.name),
      unavailable,
      services: Object.fromEntries(targets.map((target) => [target.name, { startMs: target.service!.startMs, idleRssMiB: target.service!.idleRssMiB }])),
      scenarios: {},
      precise: {},
      slowStreams: [],
    };
    for (const [label, model, stream, connections] of scenarios) {
      report.scenarios[label] = {};
      for (let rep = 0; rep < REPS; rep++) {
        // Alternating targets within each repetition spreads the machine's noise evenly over all of them.
        for (const target of targets) {
          (report.scenarios[label][target.name] ??= []).push(await cannon(target, model, stream, connections));
        }
      }
    }
    for (const target of [direct, ...targets]) {
      report.precise[target.name] = {
        jsonC1: await precise(target, 'bench-json', false, 1, PRECISE[0]),
        sseC1: await precise(target, SSE_MODEL, true, 1, PRECISE[1]),
        sseC16: await precise(target, SSE_MODEL, true, 16, PRECISE[2]),
      };
    }
    const streams = Number(args['slow-streams']);
    if (streams > 0) {
      for (const target of targets)
        report.slowStreams.push({ target: target.name, ...(await slowStreams(target.url, target.headers, target.service!.child.pid!, streams)) });
    }
    report.totalSeconds = Math.round((Date.now() - started) / 1000);
    printReport(report);
    const out = path.join(ROOT, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nresults: bench/results/latest.json (${report.totalSeconds} s)`);
  } finally {
    for (const service of services.reverse()) await service.stop();
    for (const cleanup of cleanups) await cleanup();
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
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg(),
  };
}

await main();
