/**
 * The one-layer dispatch of model calls answers exactly as the Express routes do: the exact path and other
 * spellings of it (trailing slash, a query string) give the same answer, headers and usage row; other methods get
 * 405; errors keep the route's shape (Anthropic's on /v1/messages).
 */
import assert from 'node:assert/strict';
import { HF_KEY, hfEntry, startGateway, usageRow, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

describe('model-call dispatch', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let secret: string;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) } });
    secret = (await gateway.createKey({ name: 'dispatch' })).secret;
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gateway.baseURL.replace(/\/v1$/, '')}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}`, ...headers },
      body: JSON.stringify(body),
    });

  const CHAT = { model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: 'Hi' }] };

  it('serves the exact path and its other spellings alike, each with its request id and usage row', async () => {
    for (const path of ['/v1/chat/completions', '/v1/chat/completions/', '/v1/chat/completions?x=1']) {
      const response = await post(path, CHAT);
      assert.equal(response.status, 200, path);
      const body = (await response.json()) as { object: string; gateway_usage: { tokens_charged: number } };
      assert.equal(body.object, 'chat.completion', path);
      const requestId = response.headers.get('x-request-id')!;
      assert.match(requestId, /^req_[0-9a-f]{32}$/, path);
      const row = await usageRow(gateway, requestId);
      assert.equal(row.status, 200, path);
      assert.equal(row.endpoint, 'chat', path);
    }
  });

  it('refuses in the route’s own shape: OpenAI’s on chat, Anthropic’s on /v1/messages; other methods get 405', async () => {
    const chat = await post('/v1/chat/completions', { model: 'm', messages: [] });
    assert.equal(chat.status, 400);
    assert.deepEqual(((await chat.json()) as { error: { param: string } }).error.param, 'messages');
    const messages = await post('/v1/messages', { model: 'm' }, { 'anthropic-version': '2023-06-01' });
    assert.equal(messages.status, 400);
    const anthropic = (await messages.json()) as { type: string; error: { type: string } };
    assert.equal(anthropic.type, 'error');
    assert.equal(anthropic.error.type, 'invalid_request_error');
    assert.equal(messages.headers.get('request-id'), messages.headers.get('x-request-id'));
    const get = await fetch(`${gateway.baseURL}/chat/completions`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(get.status, 405);
  });
});
