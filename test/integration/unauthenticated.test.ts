/**
 * Requests without a valid key: checked from the headers before the body is read, answered 401 at once, never
 * parsed (a malformed or oversized body still gets the 401), never written as usage rows, counted in /metrics and
 * logged by sample so a flood cannot fill the disk.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { HF_KEY, eventually, hfEntry, logFile, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

const FLOOD = 200;

describe('requests without a valid key', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  const headersOf: Record<string, () => Record<string, string>> = {};

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) }, config: { rate_limit: { requests_per_window: 100_000 } } });
    const revoked = await gateway.createKey({ name: 'revoked' });
    await gateway.running.deps.db('api_keys').where({ id: revoked.record.id }).update({ revoked: true });
    const expired = await gateway.createKey({ name: 'expired', expires_at: Date.now() - 1000 });
    headersOf.missing = () => ({});
    headersOf.malformed = () => ({ authorization: 'Bearer not-a-key' });
    headersOf.unknown = () => ({ authorization: `Bearer sk-sy-${'x'.repeat(43)}` });
    headersOf.revoked = () => ({ authorization: `Bearer ${revoked.secret}` });
    headersOf.expired = () => ({ 'x-api-key': expired.secret });
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  const usageCount = async () => {
    await gateway.running.deps.writer.flush();
    return Number(((await gateway.running.deps.db('usage').count({ n: '*' }).first()) as { n: unknown }).n);
  };

  it('answers a flood with 401 before reading bodies (malformed JSON is never parsed), leaves no row, counts every one and logs a sample', async () => {
    const before = await usageCount();
    const reasons = Object.keys(headersOf);
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: FLOOD }, async (_, i) => {
        const reason = reasons[i % reasons.length];
        const response = await fetch(`${gateway.baseURL}/${i % 2 ? 'chat/completions' : 'embeddings'}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headersOf[reason]() },
          body: '{"model": "meta-llama/Llama-3.1-8B-Instruct", "messages": [ this is not JSON',
        });
        const body = (await response.json()) as { error: { code: string; message: string } };
        return { status: response.status, code: body.error.code, message: body.error.message, requestId: response.headers.get('x-request-id')!, reason };
      }),
    );
    const elapsedS = (Date.now() - started) / 1000;
    assert.ok(
      answers.every((answer) => answer.status === 401 && answer.code === 'invalid_api_key'),
      JSON.stringify(answers.find((answer) => answer.status !== 401)),
    );
    assert.match(answers.find((answer) => answer.reason === 'expired')!.message, /expired at/);
    assert.match(answers.find((answer) => answer.reason === 'revoked')!.message, /revoked/);
    assert.equal(await usageCount(), before, 'no usage row for any of them');

    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    let counted = 0;
    for (const match of metrics.matchAll(/^switchyard_auth_failures_total\{route="(chat|embeddings)",reason="(\w+)"\} (\d+)$/gm)) counted += Number(match[3]);
    assert.equal(counted, FLOOD, 'every refusal is counted');
    assert.match(metrics, /switchyard_requests_total\{route="chat",provider="none",status="401"\} \d+/);

    // The log holds a sample: at most 10 lines a second for these, the later ones saying how many were skipped.
    const ids = new Set(answers.map((answer) => answer.requestId));
    const logged = await eventually(() => {
      const lines = readFileSync(logFile(), 'utf8')
        .split('\n')
        .filter((line) => ids.has(/"requestId":"(req_\w+)"/.exec(line)?.[1] ?? ''));
      return lines.length > 0 ? lines : undefined;
    });
    assert.ok(logged.length <= 10 * Math.ceil(elapsedS + 1), `${logged.length} lines for ${FLOOD} refusals in ${elapsedS}s`);
    assert.ok(logged.length < FLOOD);
  });

  it('gives a client still uploading a body over the size limit a clean 401, not a 413 or a broken connection', async () => {
    const before = await usageCount();
    const chunk = Buffer.alloc(256 * 1024, 'a');
    const pieces = 20; // 5 MB: over body_limit (4mb), so a read body would be a 413
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(`${gateway.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-sy-bogus', 'content-type': 'application/json', 'content-length': String(chunk.length * pieces) },
      });
      request.on('response', (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (text: string) => (body += text));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
      let sent = 0;
      const write = (): void => {
        while (sent < pieces) {
          sent++;
          if (!request.write(chunk)) return void request.once('drain', write);
        }
        request.end();
      };
      write();
    });
    assert.equal(answer.status, 401);
    assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'invalid_api_key');
    assert.equal(await usageCount(), before);
  });
});
