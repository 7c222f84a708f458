/**
 * A seeded fuzzer: at least 10,000 malformed or hostile requests (bad JSON, wrong types, huge strings, deep nesting,
 * odd unicode, missing and duplicate headers, bogus keys, wrong methods and paths, raw malformed HTTP), many at once.
 * Every answer must be an OpenAI-shaped 4xx; no 5xx, no crash, and the heap back near its baseline afterwards.
 * FUZZ_SEED=<n> replays a run; FUZZ_COUNT=<n> changes its size.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { Pool } from 'undici';
import { hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { isOpenAIError, parseAnswer } from '../helpers/raw-http.ts';
import { nextCase, prng, type FuzzCase, type HttpCase, type Keys } from './fuzz-cases.ts';
import { count } from './tally.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000);
const CONCURRENCY = 48;
const WARM_UP = 500;

interface Answer {
  status: number;
  body: string;
}

function heapMb(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

async function sendHttp(pool: Pool, request: HttpCase): Promise<Answer> {
  const { statusCode, body } = await pool.request({
    path: request.path,
    method: request.method as 'GET',
    headers: request.headers.flat(),
    body: request.body,
  });
  return { status: statusCode, body: await body.text() };
}

/** Writes the bytes and reads until one whole answer has arrived (or the server closes). */
function sendRaw(port: number, bytes: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const answer = parseAnswer(received);
      resolve({ status: answer.status, body: answer.body });
    };
    const timer = setTimeout(finish, 15_000);
    socket.on('error', () => undefined);
    socket.on('close', finish);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      const length = /content-length:\s*(\d+)/i.exec(received.subarray(0, end).toString('latin1'))?.[1];
      if (end !== -1 && length !== undefined && received.length >= end + 4 + Number(length)) finish();
    });
    socket.on('connect', () => socket.write(bytes));
  });
}

/** What was wrong with an answer, or undefined when it is a proper OpenAI-shaped 4xx. */
function verdict(answer: Answer): string | undefined {
  if (answer.status === 0) return 'no answer';
  if (answer.status < 400 || answer.status > 499) return `status ${answer.status}`;
  try {
    if (!isOpenAIError(JSON.parse(answer.body))) return `not OpenAI-shaped: ${answer.body.slice(0, 200)}`;
  } catch {
    return `not JSON: ${answer.body.slice(0, 200)}`;
  }
  return undefined;
}

function describeCase(request: FuzzCase): string {
  if (request.kind === 'raw') return `raw ${JSON.stringify(request.bytes.subarray(0, 120).toString('latin1'))}`;
  return `${request.method} ${request.path.slice(0, 80)} ${JSON.stringify(request.headers).slice(0, 160)} ${request.body?.subarray(0, 120).toString() ?? ''}`;
}

describe('fuzzer: hostile requests get OpenAI-shaped 4xx, never a 5xx or a crash', function () {
  // 10,000 requests: minutes on a loaded machine; the bound only stops a hang.
  this.timeout(600_000);
  let hf: MockUpstream;
  let gateway: TestGateway;
  let keys: Keys;
  let pool: Pool;

  before(async () => {
    hf = await startMock({ flavor: 'hf' });
    gateway = await startGateway({
      providers: { huggingface: hfEntry(hf.url) },
      // A limit the fuzzer never reaches: its valid-key requests must be refused for what they carry.
      config: { rate_limit: { requests_per_window: 1_000_000 }, server: { request_body_timeout_ms: 2000, headers_timeout_ms: 2000 } },
    });
    keys = {
      valid: (await gateway.createKey({ name: 'fuzz' })).secret,
      limited: (await gateway.createKey({ name: 'fuzz-limited', models: ['allowed/*'] })).secret,
    };
    pool = new Pool(gateway.url, { connections: CONCURRENCY, pipelining: 1 });
  });

  after(async () => {
    await pool?.close();
    await gateway?.close();
    await hf?.close();
  });

  it(`answers ${COUNT} hostile requests with 4xx JSON, and the heap returns to its baseline`, async () => {
    console.log(`      fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    const rng = prng(SEED);
    const statuses = new Map<number, number>();
    const families = new Map<string, number>();
    const failures: string[] = [];
    let sent = 0;
    let raw = 0;
    let upstreamCalls = hf.requests.length;
    const run = async (until: number): Promise<void> => {
      const worker = async (): Promise<void> => {
        while (sent < until) {
          sent++;
          const request = nextCase(rng, keys);
          families.set(request.family, (families.get(request.family) ?? 0) + 1);
          if (request.kind === 'raw') raw++;
          const answer = await (request.kind === 'raw' ? sendRaw(gateway.running.port, request.bytes) : sendHttp(pool, request)).catch(
            (error: Error): Answer => ({ status: 0, body: `client error: ${error.message}` }),
          );
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const wrong = verdict(answer);
          if (wrong && failures.length < 20) failures.push(`${wrong} ← [${request.family}] ${describeCase(request)}`);
          else if (wrong) failures.push('');
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    };
    await run(WARM_UP);
    const heapBefore = heapMb();
    await run(COUNT);
    await pool.close();
    pool = new Pool(gateway.url, { connections: 4 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const heapAfter = heapMb();
    upstreamCalls = hf.requests.length - upstreamCalls;
    const fiveXX = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, n]) => sum + n, 0);
    console.log(`      fuzz: ${sent} requests (${raw} raw HTTP), families ${JSON.stringify(Object.fromEntries(families))}`);
    console.log(
      `      fuzz: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}, ${fiveXX} 5xx, ${statuses.get(0) ?? 0} unanswered`,
    );
    console.log(`      fuzz: heap ${heapBefore.toFixed(1)} MB after warm-up → ${heapAfter.toFixed(1)} MB after the run`);
    count({ requests: sent, faults: sent });
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} bad answers`);
    assert.equal(fiveXX, 0);
    assert.equal(upstreamCalls, 0, 'no hostile request reached an upstream');
    assert.ok(heapAfter - heapBefore < 16, `heap grew ${(heapAfter - heapBefore).toFixed(1)} MB`);
    // Still serving.
    const answer = await gateway.client(keys.valid).chat.completions.create({ model: 'org/model', messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(answer.choices[0].finish_reason, 'stop');
  });
});
