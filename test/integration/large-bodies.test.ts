/**
 * Bodies refused before they are read (413 over `server.body_limit`, 401 without a valid key): a client still sending
 * reads the error, as real SDKs and a raw socket see it; the rest of the body is discarded up to a bound, then the
 * connection is closed.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { APIError } from 'openai';
import { HF_KEY, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { LaggingRelay } from '../helpers/lagging-relay.ts';
import { parseAnswer } from '../helpers/raw-http.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

const MB = 1024 * 1024;
const MODEL = 'meta-llama/Llama-3.2-11B-Vision-Instruct';

/** A chat request carrying one base64 "photo" of about `bytes` bytes, as vision clients send it. */
function visionRequest(bytes: number) {
  const photo = Buffer.alloc(Math.ceil((bytes * 3) / 4), 7).toString('base64');
  return {
    model: MODEL,
    messages: [{ role: 'user' as const, content: [{ type: 'image_url' as const, image_url: { url: `data:image/jpeg;base64,${photo}` } }] }],
  };
}

interface SocketAnswer {
  status: number;
  body: string;
  /** Bytes of the body the client managed to write before the server closed. */
  written: number;
  /** How the socket ended: 'end' (the server's FIN after the answer) or the error code. */
  ended: string;
}

/** Writes the headers, then the body in 64 KiB pieces as fast as the socket takes them, reading all the while. */
function sendSlowly(port: number, headers: string, bodyBytes: number): Promise<SocketAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const piece = Buffer.alloc(64 * 1024, 'a');
    let written = 0;
    let ended = 'end';
    const pump = (): void => {
      while (written < bodyBytes && !socket.destroyed) {
        written += piece.length;
        if (!socket.write(piece)) return void socket.once('drain', pump);
      }
    };
    socket.on('connect', () => {
      socket.write(headers);
      pump();
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (ended = error.code ?? error.message));
    socket.on('close', () => {
      const answer = parseAnswer(Buffer.concat(chunks));
      resolve({ status: answer.status, body: answer.body, written, ended });
    });
  });
}

describe('large request bodies', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let secret: string;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: { server: { body_limit: '2mb' } } });
    ({ secret } = await gateway.createKey());
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  it('accepts a vision request with a phone photo under the default limit of 20mb', async () => {
    const defaults = await startGateway({ providers: { huggingface: hfEntry(hf.url) } });
    try {
      assert.equal(defaults.config.server.body_limit, '20mb');
      const { secret: own } = await defaults.createKey();
      const answer = await defaults.client(own).chat.completions.create(visionRequest(12 * MB));
      assert.equal(answer.object, 'chat.completion');
    } finally {
      await defaults.close();
    }
  });

  it('gives the openai SDK the 413 for a body over the limit, without a connection error or a retry', async () => {
    const before = hf.requests.length;
    const client = gateway.client(secret, { maxRetries: 2 });
    const error = await client.chat.completions.create(visionRequest(5 * MB)).then(
      () => assert.fail('the request was accepted'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof APIError, String(error));
    assert.equal(error.status, 413);
    assert.equal(error.code, 'request_too_large');
    assert.match(error.message, /2mb/);
    assert.equal(hf.requests.length, before);
  });

  it('gives the 413 to an SDK client that reads its socket late (the answer is not lost to a reset)', async () => {
    const relay = await new LaggingRelay(gateway.running.port, 50).start();
    try {
      const client = gateway.client(secret, { baseURL: `http://127.0.0.1:${relay.port}/v1`, maxRetries: 0 });
      const error = await client.chat.completions.create(visionRequest(3 * MB)).then(
        () => assert.fail('the request was accepted'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof APIError && error.status === 413, `got ${String(error)}`);
      assert.equal(relay.resets, 0);
    } finally {
      await relay.close();
    }
  });

  it('gives the openai SDK the 401 for a wrong key before reading its large body', async () => {
    const error = await gateway
      .client(`sk-sy-${'x'.repeat(43)}`, { maxRetries: 2 })
      .chat.completions.create(visionRequest(1.5 * MB))
      .then(
        () => assert.fail('the request was accepted'),
        (caught: unknown) => caught,
      );
    assert.ok(error instanceof APIError, String(error));
    assert.equal(error.status, 401);
    assert.equal(error.code, 'invalid_api_key');
  });

  it('lets a raw client that keeps sending read the 413, then closes the connection cleanly', async () => {
    const size = 5 * MB;
    const headers = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`;
    const answer = await sendSlowly(gateway.running.port, headers, size);
    assert.equal(answer.status, 413);
    assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'request_too_large');
    assert.equal(answer.ended, 'end');
    assert.ok(answer.written >= size, `wrote ${answer.written} of ${size}`);
  });

  it('stops discarding at a bound (twice the limit): a body far over it is cut off after the answer', async () => {
    const size = 64 * MB;
    const headers = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`;
    const answer = await sendSlowly(gateway.running.port, headers, size);
    assert.ok(answer.written < size, `the gateway read all ${size} bytes`);
  });

  it('answers a chunked body over the limit with 413 as well', async () => {
    const headers = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunk = `${(64 * 1024).toString(16)}\r\n${'a'.repeat(64 * 1024)}\r\n`;
    const body = `${chunk.repeat(48)}0\r\n\r\n`;
    const answer = await sendSlowly(gateway.running.port, headers + body, 0);
    assert.equal(answer.status, 413);
    assert.equal(answer.ended, 'end');
  });
});
