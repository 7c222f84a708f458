/** Gateway keys (401 variants, headers SDKs use, revocation), per-key rate limits (429) and model restrictions (403). */
import assert from 'node:assert/strict';
import type { APIError } from 'openai';
import { revokeKey } from '../../src/db/keys-repo.ts';
import { HF_KEY, eventually, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

const CHAT = { model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: 'Hi' }] };

describe('gateway keys and limits', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    gateway = await startGateway({
      providers: { huggingface: hfEntry(hf.url) },
      config: { server: { body_limit: '1mb' }, rate_limit: { window_ms: 60000, requests_per_window: 1000 }, metering: { key_cache_ttl_ms: 200 } },
    });
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  async function post(headers: Record<string, string>, body: unknown = CHAT): Promise<Response> {
    return fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }

  async function errorOf(response: Response): Promise<{ message: string; type: string; param: unknown; code: string }> {
    const body = (await response.json()) as { error: { message: string; type: string; param: unknown; code: string } };
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
    return body.error;
  }

  for (const [label, headers, message] of [
    ['no key at all', {}, /^Missing gateway API key\. Send it as "Authorization: Bearer sk-sy-…"/],
    ['a malformed key', { authorization: 'Bearer not-a-key' }, /not a Switchyard key \(those start with "sk-sy-"/],
    ['an unknown key', { authorization: `Bearer sk-sy-${'A'.repeat(43)}` }, /no key of this gateway has this secret/],
    ['a non-Bearer scheme', { authorization: `Basic ${'A'.repeat(20)}` }, /^Missing gateway API key/],
  ] as [string, Record<string, string>, RegExp][]) {
    it(`answers 401 invalid_api_key for ${label}, saying which`, async () => {
      const before = hf.requests.length;
      const response = await post(headers);
      assert.equal(response.status, 401);
      assert.match(response.headers.get('x-request-id') ?? '', /^req_/);
      const error = await errorOf(response);
      assert.equal(error.code, 'invalid_api_key');
      assert.match(error.message, message);
      assert.equal(hf.requests.length, before, 'no upstream call');
    });
  }

  it('accepts the key as Bearer, api-key and x-api-key', async () => {
    const { secret } = await gateway.createKey();
    const variants: Record<string, string>[] = [{ authorization: `Bearer ${secret}` }, { 'api-key': secret }, { 'x-api-key': secret }];
    for (const headers of variants) {
      assert.equal((await post(headers)).status, 200, JSON.stringify(Object.keys(headers)));
    }
  });

  it('refuses a revoked key once its cached lookup expires', async () => {
    const { secret, record } = await gateway.createKey();
    const client = gateway.client(secret);
    await client.chat.completions.create(CHAT as never);
    await revokeKey(gateway.running.deps.db, record.id);
    const refused = await eventually(async () => {
      const response = await post({ authorization: `Bearer ${secret}` });
      return response.status === 401 ? errorOf(response) : undefined;
    });
    assert.equal(refused.code, 'invalid_api_key');
    assert.match(refused.message, /revoked/);
  });

  it('answers 429 rate_limit_exceeded with Retry-After and draft-8 RateLimit headers past the key rpm', async () => {
    const { secret } = await gateway.createKey({ rpm: 2 });
    const statuses = [];
    let limited: Response | undefined;
    for (let i = 0; i < 3; i++) {
      const response = await post({ authorization: `Bearer ${secret}` });
      statuses.push(response.status);
      if (response.status === 429) limited = response;
      else await response.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    const retryAfter = Number(limited!.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(limited!.headers.get('ratelimit') ?? '', /^"2-in-1min"; r=0; t=\d+$/);
    assert.match(limited!.headers.get('ratelimit-policy') ?? '', /^"2-in-1min"; q=2; w=60; pk=:[A-Za-z0-9+/=]+:$/);
    const error = await errorOf(limited!);
    assert.equal(error.code, 'rate_limit_exceeded');
    assert.equal(error.type, 'rate_limit_error');
  });

  it('puts RateLimit headers on successful answers too', async () => {
    const { secret } = await gateway.createKey();
    const response = await post({ authorization: `Bearer ${secret}` });
    assert.match(response.headers.get('ratelimit') ?? '', /^"1000-in-1min"; r=999; t=\d+$/);
    await response.arrayBuffer();
  });

  it('surfaces 429 to the openai SDK as a RateLimitError', async () => {
    const { secret } = await gateway.createKey({ rpm: 1 });
    const client = gateway.client(secret);
    await client.chat.completions.create(CHAT as never);
    await assert.rejects(client.chat.completions.create(CHAT as never), (error: APIError) => error.status === 429 && error.code === 'rate_limit_exceeded');
  });

  it('answers 403 model_not_allowed for a model outside the key --models globs', async () => {
    const { secret } = await gateway.createKey({ models: ['meta-llama/*'] });
    const client = gateway.client(secret);
    await client.chat.completions.create({ ...CHAT, model: 'meta-llama/Llama-3.1-8B-Instruct:novita' } as never);
    const before = hf.requests.length;
    await assert.rejects(
      client.chat.completions.create({ ...CHAT, model: 'deepseek-ai/DeepSeek-R1' } as never),
      (error: APIError) => error.status === 403 && error.code === 'model_not_allowed' && error.param === 'model',
    );
    assert.equal(hf.requests.length, before);
  });

  it('refuses bad bodies with 400 naming the param, and oversized ones with 413', async () => {
    const { secret } = await gateway.createKey();
    const auth = { authorization: `Bearer ${secret}` };
    const noMessages = await errorOf(await post(auth, { model: 'x/y' }));
    assert.equal(noMessages.param, 'messages');
    const badRole = await errorOf(await post(auth, { model: 'x/y', messages: [{ content: 'hi' }] }));
    assert.equal(badRole.param, 'messages[0].role');
    const notJson = await fetch(`${gateway.baseURL}/chat/completions`, { method: 'POST', headers: auth, body: '{"model": ' });
    assert.equal(notJson.status, 400);
    assert.equal((await errorOf(notJson)).code, 'invalid_request');
    const deep = await post(auth, JSON.parse(`{"model":"x/y","messages":[{"role":"user","content":"hi"}],"x":${'['.repeat(70)}${']'.repeat(70)}}`));
    assert.equal(deep.status, 400);
    assert.match((await errorOf(deep)).message, /deeper than 64/);
    const huge = await post(auth, { ...CHAT, padding: 'x'.repeat(5 * 1024 * 1024) });
    assert.equal(huge.status, 413);
    assert.equal((await errorOf(huge)).code, 'request_too_large');
  });
});
