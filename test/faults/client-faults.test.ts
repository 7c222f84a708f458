/**
 * Client faults: a client that hangs up mid-stream (the upstream is cancelled within a second and what streamed is
 * billed), one that never reads a long stream (cut off after `server.request_timeout_ms`, memory bounded), and
 * slowloris clients that trickle their headers or body (cut off by `server.headers_timeout_ms` /
 * `server.request_body_timeout_ms`).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { CANARY, eventually, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { assertBalanced, booksOf } from '../helpers/ledger.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { isOpenAIError, parseAnswer, tcpSockets } from '../helpers/raw-http.ts';
import { count } from './tally.ts';

const STALL_MS = 1000;
const HEADERS_TIMEOUT_MS = 500;
const BODY_TIMEOUT_MS = 800;

function heapMb(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** Opens a socket, sends `head`, then one more `piece` every `everyMs` until the server closes; returns what it answered. */
async function trickle(port: number, head: string, piece: string, everyMs: number): Promise<{ text: Buffer; ms: number }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const started = Date.now();
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', () => undefined);
  socket.write(head);
  const timer = setInterval(() => socket.writable && socket.write(piece), everyMs);
  await once(socket, 'close');
  clearInterval(timer);
  return { text: Buffer.concat(chunks), ms: Date.now() - started };
}

describe('client faults', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let secret: string;
  let keyId: string;
  let port: number;
  let injected = 0;
  let socketsBefore = 0;

  before(async () => {
    hf = await startMock({ flavor: 'hf', chunkDelayMs: 5 });
    gateway = await startGateway({
      providers: { huggingface: hfEntry(hf.url) },
      config: { server: { request_timeout_ms: STALL_MS, headers_timeout_ms: HEADERS_TIMEOUT_MS, request_body_timeout_ms: BODY_TIMEOUT_MS } },
    });
    ({
      secret,
      record: { id: keyId },
    } = await gateway.createKey({ credits_usd: 5 }));
    port = gateway.running.port;
    socketsBefore = tcpSockets();
  });

  after(async () => {
    console.log(`      client faults: ${injected} faults injected`);
    count({ requests: injected + 4, faults: injected });
    try {
      // Checked once every fault above has run: the SDK and fetch keep a few keep-alive connections, a leak would
      // leave dozens (50 slowloris clients alone).
      await eventually(() => tcpSockets() <= socketsBefore + 6, 10_000).catch(() => assert.fail(`sockets left behind: ${socketsBefore} → ${tcpSockets()}`));
      assert.ok(hf.openSockets <= 2, `the mock has ${hf.openSockets} sockets open`);
    } finally {
      await gateway.close();
      await hf.close();
    }
  });

  const rowOf = async (requestId: string) => {
    await gateway.running.deps.writer.flush();
    return gateway.running.deps.db('usage').where({ request_id: requestId }).first();
  };

  async function stillServes(): Promise<void> {
    const answer = await gateway.client(secret).chat.completions.create({ model: 'org/model', messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(answer.choices[0].finish_reason, 'stop');
  }

  it('a client that hangs up mid-stream: the upstream is cancelled at once and the streamed part is billed', async () => {
    const abort = new AbortController();
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'org/endless', messages: [{ role: 'user', content: `Hi ${CANARY}` }], stream: true }),
      signal: abort.signal,
    });
    const reader = response.body!.getReader();
    let text = '';
    while ((text.match(/word/g) ?? []).length < 5) text += new TextDecoder().decode((await reader.read()).value);
    const upstreamAborted = hf.nextAbort();
    const abortedAt = Date.now();
    abort.abort();
    injected++;
    await upstreamAborted;
    const ms = Date.now() - abortedAt;
    // At once on an idle machine (a few ms); the bound is generous so a loaded CI machine does not fail it.
    assert.ok(ms < 5000, `the upstream was cancelled ${ms} ms after the client left`);
    const row = await rowOf(response.headers.get('x-request-id')!);
    assert.equal(row.error_code, 'client_closed_request');
    assert.ok(row.completion_tokens >= 5, `the streamed words are counted (${row.completion_tokens})`);
    assert.ok(row.cost_micro > 0, 'and charged');
    assert.ok(row.estimated, 'counted by the gateway: the upstream never sent its usage');
    assertBalanced(await booksOf(gateway.running.deps.db, keyId), assert);
    await stillServes();
  });

  it('a client that never reads a long stream is cut off after request_timeout_ms, and memory stays bounded', async () => {
    const heapBefore = heapMb();
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const body = JSON.stringify({ model: 'org/firehose', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    const upstreamAborted = hf.nextAbort();
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    // Reads nothing: the kernel buffers fill, then the gateway's, then it must stop pulling from the upstream.
    socket.pause();
    const started = Date.now();
    injected++;
    await upstreamAborted;
    const ms = Date.now() - started;
    const sent = hf.firehoseBytes;
    const heapGrowth = heapMb() - heapBefore;
    console.log(`      never-reading client: cut after ${ms} ms, upstream sent ${(sent / 1e6).toFixed(1)} MB, heap +${heapGrowth.toFixed(1)} MB`);
    assert.ok(ms >= STALL_MS, `cut after ${ms} ms, not before the ${STALL_MS} ms stall allowance`);
    assert.ok(ms < STALL_MS + 10_000, `cut after ${ms} ms`);
    assert.ok(sent < 64 * 1024 * 1024, `the upstream was not drained into memory (${sent} bytes)`);
    assert.ok(heapGrowth < 32, `heap grew ${heapGrowth.toFixed(1)} MB`);
    socket.resume();
    socket.on('error', () => undefined);
    await once(socket, 'close');
    await gateway.running.deps.writer.flush();
    const row = await gateway.running.deps.db('usage').where({ model: 'org/firehose' }).first();
    assert.equal(row?.error_code, 'client_closed_request', 'the cut-off call has its usage row');
    await stillServes();
  });

  it('slowloris headers: a client that trickles its headers is answered 408 JSON and cut off by headers_timeout_ms', async () => {
    const { text, ms } = await trickle(port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n', 'X-Slow: 1\r\n', 100);
    injected++;
    const answer = parseAnswer(text);
    assert.equal(answer.status, 408);
    assert.ok(isOpenAIError(JSON.parse(answer.body)), answer.body);
    assert.ok(ms >= HEADERS_TIMEOUT_MS && ms < HEADERS_TIMEOUT_MS + 10_000, `cut after ${ms} ms`);
    await stillServes();
  });

  it('a client that trickles its body is answered 408 JSON and cut off by request_body_timeout_ms', async () => {
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"model":"`;
    const { text, ms } = await trickle(port, head, 'a', 100);
    injected++;
    const answer = parseAnswer(text);
    assert.equal(answer.status, 408);
    assert.ok(isOpenAIError(JSON.parse(answer.body)), answer.body);
    assert.ok(ms >= BODY_TIMEOUT_MS && ms < BODY_TIMEOUT_MS + 10_000, `cut after ${ms} ms`);
    await stillServes();
  });

  it('many slowloris connections at once do not stop the gateway serving others', async () => {
    const loris = Array.from({ length: 50 }, () => trickle(port, 'GET /health HTTP/1.1\r\n', 'X-Slow: 1\r\n', 100));
    await stillServes();
    const answers = await Promise.all(loris);
    injected += answers.length;
    assert.ok(answers.every(({ text }) => parseAnswer(text).status === 408));
  });
});
