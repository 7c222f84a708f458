/**
 * Upstream faults through the gateway: each one, repeated, gives the status or stream error event docs/endpoints.md documents,
 * leaves a usage row saying so, leaks no socket (counted on the mock and in this process before and after), and the
 * gateway keeps serving.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { CANARY, eventually, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { assertBalanced, booksOf } from '../helpers/ledger.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { isOpenAIError, tcpSockets } from '../helpers/raw-http.ts';
import { count } from './tally.ts';

interface Fault {
  name: string;
  model: string;
  stream: boolean;
  status: number;
  code: string;
  /** For faults after a stream's first byte: the code of the final error event (the status is then 200). */
  event?: boolean;
  retryAfter?: string;
}

const FAULTS: Fault[] = [
  { name: 'connection refused', model: 'refused/model', stream: false, status: 503, code: 'upstream_unavailable' },
  { name: 'connection refused (stream)', model: 'refused/model', stream: true, status: 503, code: 'upstream_unavailable' },
  { name: 'reset before headers', model: 'org/reset', stream: false, status: 503, code: 'upstream_unavailable' },
  { name: 'reset before headers (stream)', model: 'org/reset', stream: true, status: 503, code: 'upstream_unavailable' },
  { name: 'reset mid-stream', model: 'org/reset-midstream', stream: true, status: 200, code: 'upstream_error', event: true },
  { name: 'HTML error page', model: 'org/html-500', stream: false, status: 502, code: 'upstream_error' },
  { name: 'truncated JSON', model: 'org/truncated-json', stream: false, status: 502, code: 'upstream_error' },
  { name: 'never-ending JSON body', model: 'org/endless', stream: false, status: 504, code: 'upstream_timeout' },
  { name: 'never-ending stream (max_stream_ms)', model: 'org/endless', stream: true, status: 200, code: 'upstream_timeout', event: true },
  { name: 'stream silent between chunks', model: 'org/slow-stream', stream: true, status: 200, code: 'upstream_timeout', event: true },
  {
    name: '429 with a Retry-After beyond retries.max_ms',
    model: 'org/rate-limited',
    stream: false,
    status: 429,
    code: 'upstream_rate_limited',
    retryAfter: '7',
  },
  { name: 'slow first byte', model: 'org/slow', stream: false, status: 504, code: 'upstream_timeout' },
  { name: 'slow first byte (stream)', model: 'org/slow', stream: true, status: 504, code: 'upstream_timeout' },
];
const REPEAT = 3;

async function deadPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('upstream faults through the gateway', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let secret: string;
  let requests = 0;
  let injected = 0;
  let rowsChecked = 0;
  let rowsFound = 0;

  before(async () => {
    hf = await startMock({ flavor: 'hf', slowMs: 1500, throttledFailures: 1 });
    gateway = await startGateway({
      providers: {
        refused: hfEntry(`http://127.0.0.1:${await deadPort()}/v1`, { models: ['refused/*'] }),
        retrying: hfEntry(hf.url, { models: ['retrying/*'], retries: { attempts: 2, base_ms: 5, max_ms: 3000 } }),
        huggingface: hfEntry(hf.url, { timeout_ms: 400, max_stream_ms: 800 }),
      },
      // Every test here sends many calls with one key; the per-key limit is not what is under test.
      config: { rate_limit: { requests_per_window: 1_000_000 } },
    });
    secret = (await gateway.createKey({ credits_usd: 5 })).secret;
  });

  after(async () => {
    console.log(`      upstream faults: ${requests} requests, ${injected} faults injected, ${rowsChecked - rowsFound} rows lost`);
    count({ requests, faults: injected, rowsExpected: rowsChecked, rowsLost: rowsChecked - rowsFound });
    await gateway.close();
    await hf.close();
  });

  const send = (model: string, stream: boolean) =>
    fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: `Hi ${CANARY}` }], stream, max_tokens: 50 }),
    });

  const rowOf = async (requestId: string) => {
    await gateway.running.deps.writer.flush();
    const row = await gateway.running.deps.db('usage').where({ request_id: requestId }).first();
    rowsChecked++;
    if (row) rowsFound++;
    return row;
  };

  async function stillServes(): Promise<void> {
    const response = await send('org/model', false);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    requests++;
  }

  for (const fault of FAULTS) {
    it(`${fault.name} → ${fault.event ? `200, then an error event ${fault.code}` : `${fault.status} ${fault.code}`}; a row each, no leaked socket`, async () => {
      // Warm the pools first, so the baseline counts the keep-alive connections every test holds.
      await stillServes();
      const socketsBefore = tcpSockets();
      for (let i = 0; i < REPEAT; i++) {
        const response = await send(fault.model, fault.stream);
        requests++;
        injected++;
        assert.equal(response.status, fault.status);
        const text = await response.text();
        const error = fault.event ? lastErrorEvent(text) : JSON.parse(text);
        assert.ok(isOpenAIError(error), `OpenAI-shaped error: ${text.slice(-300)}`);
        assert.equal(error.error.code, fault.code);
        if (fault.retryAfter) assert.equal(response.headers.get('retry-after'), fault.retryAfter);
        const row = await rowOf(response.headers.get('x-request-id')!);
        assert.ok(row, 'a usage row');
        assert.equal(row.status, fault.status);
        assert.equal(row.error_code, fault.code);
      }
      await stillServes();
      // Keep-alive may hold a connection or two open; a leak would leave one per repeated fault.
      await eventually(() => hf.openSockets <= 2, 10_000).catch(() => assert.fail(`the mock still has ${hf.openSockets} sockets open`));
      await eventually(() => tcpSockets() <= socketsBefore + 2, 10_000).catch(() => assert.fail(`TCP sockets ${socketsBefore} → ${tcpSockets()}`));
    });
  }

  it('honours a short Retry-After: waits it out, retries, and serves', async () => {
    const response = await send('retrying/throttled', false);
    requests++;
    injected++;
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    const tries = hf.requests.filter((request) => request.body?.model === 'retrying/throttled');
    assert.equal(tries.length, 2);
    // Timers may fire a millisecond early and the two clocks read apart: allow that much, not a skipped wait.
    assert.ok(tries[1].at - tries[0].at >= 990, `the retry came ${tries[1].at - tries[0].at} ms after a Retry-After of 1 s`);
    const row = await rowOf(response.headers.get('x-request-id')!);
    assert.equal(row.attempts, 2);
    assert.equal(row.status, 200);
  });

  it('serves a slow first byte that stays within the timeout', async () => {
    const response = await send('retrying/slow', true);
    requests++;
    assert.equal(response.status, 200);
    assert.match(await response.text(), /data: \[DONE\]\n\n$/);
  });

  it('bills what a stream delivered before it failed, and keeps the books balanced', async () => {
    const { secret: own, record } = await gateway.createKey({ credits_usd: 1 });
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${own}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'org/reset-midstream', messages: [{ role: 'user', content: 'Hi' }], stream: true }),
    });
    await response.text();
    requests++;
    injected++;
    const row = await rowOf(response.headers.get('x-request-id')!);
    assert.ok(row.completion_tokens > 0 && row.cost_micro > 0, 'the streamed part is charged');
    assertBalanced(await booksOf(gateway.running.deps.db, record.id), assert);
  });
});

/** The stream's error event (it may be followed by `data: [DONE]`). */
function lastErrorEvent(text: string): { error: { code: string } } {
  const events = text
    .trim()
    .split('\n\n')
    .map((event) => event.replace(/^data: /, ''));
  const error = events.reverse().find((event) => event.startsWith('{"error"'));
  assert.ok(error, `an error event in ${text.slice(-300)}`);
  return JSON.parse(error) as { error: { code: string } };
}
