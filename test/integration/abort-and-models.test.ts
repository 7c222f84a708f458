/** Client aborts reach the upstream; /v1/models, /health and /metrics answer as docs/endpoints.md says. */
import assert from 'node:assert/strict';
import { CANARY, HF_KEY, OPENAI_KEY, hfEntry, openaiEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

describe('client aborts, models, health and metrics', () => {
  let hf: MockUpstream;
  let openai: MockUpstream;
  let gateway: TestGateway;
  let secret: string;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY, chunkDelayMs: 5 });
    openai = await startMock({ flavor: 'openai', apiKey: OPENAI_KEY });
    gateway = await startGateway({
      providers: {
        openai: openaiEntry(openai.url),
        huggingface: hfEntry(hf.url),
        broken: { plugin: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key: 'sk-broken', models: ['never/*'] },
      },
    });
    secret = (await gateway.createKey()).secret;
  });

  after(async () => {
    await gateway.close();
    await hf.close();
    await openai.close();
  });

  it('aborts the upstream request as soon as the client disconnects mid-stream', async () => {
    const client = gateway.client(secret);
    const abortedBefore = hf.aborted;
    const upstreamAborted = hf.nextAbort();
    const stream = await client.chat.completions.create({ model: 'org/endless', messages: [{ role: 'user', content: `Hi ${CANARY}` }], stream: true });
    let received = 0;
    // Leaving the loop is how SDK users stop a stream: the SDK aborts its request.
    for await (const chunk of stream) if (chunk.choices[0]?.delta?.content && ++received === 3) break;
    await upstreamAborted;
    assert.equal(hf.aborted, abortedBefore + 1);
  });

  it('aborts the upstream request when the client aborts with a signal', async () => {
    const client = gateway.client(secret);
    const abort = new AbortController();
    const upstreamAborted = hf.nextAbort();
    const stream = await client.chat.completions.create(
      { model: 'org/endless', messages: [{ role: 'user', content: `Hi ${CANARY}` }], stream: true },
      { signal: abort.signal },
    );
    let received = 0;
    let afterAbort = 0;
    // The SDK either ends the iteration or throws its abort error; any other error is a failure.
    let thrown = 'APIUserAbortError';
    try {
      for await (const chunk of stream) {
        if (!chunk.choices[0]?.delta?.content) continue;
        // Chunks already parsed when the signal fires may still be handed out: count them apart, do not fail on them.
        if (abort.signal.aborted) afterAbort++;
        else if (++received === 2) abort.abort();
      }
    } catch (error) {
      thrown = (error as Error).name;
    }
    await upstreamAborted;
    assert.equal(received, 2);
    assert.equal(thrown, 'APIUserAbortError');
    assert.ok(afterAbort < 50, `${afterAbort} chunks came after the abort: the stream did not stop`);
  });

  it('lists the union of provider models with owned_by = provider entry, leaving out a provider that fails', async () => {
    const client = gateway.client(secret);
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    const byId = new Map(models.map((model) => [model.id, model]));
    assert.equal(byId.get('gpt-4o-mini')?.owned_by, 'openai');
    assert.equal(byId.get('meta-llama/Llama-3.1-8B-Instruct')?.owned_by, 'huggingface');
    const hfModel = byId.get('meta-llama/Llama-3.1-8B-Instruct') as unknown as { providers: unknown[] };
    assert.ok(Array.isArray(hfModel.providers), 'the router extras are kept');
    assert.ok(models.every((model) => model.object === 'model'));
  });

  it('serves one model by id, slashes included', async () => {
    const client = gateway.client(secret);
    const model = await client.models.retrieve('meta-llama/Llama-3.1-8B-Instruct');
    assert.equal(model.owned_by, 'huggingface');
    await assert.rejects(client.models.retrieve('nope/nothing'), (error: { status: number }) => error.status === 404);
  });

  it('caches the model list instead of asking upstreams on every call', async () => {
    const before = hf.requestsTo('/v1/models').length;
    const client = gateway.client(secret);
    await client.models.list();
    await client.models.list();
    assert.equal(hf.requestsTo('/v1/models').length, before);
  });

  it('reports health with the database check', async () => {
    const response = await fetch(`${gateway.url}/health`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { status: string; checks: Record<string, string> };
    assert.equal(body.status, 'ok');
    assert.equal(body.checks.database, 'ok');
    assert.equal(body.checks.usage_writes, 'ok');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff', 'security headers on health routes');
  });

  it('exposes Prometheus metrics prefixed switchyard_', async () => {
    const response = await fetch(`${gateway.url}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /switchyard_requests_total\{route="chat",provider="huggingface",status="200"\} \d+/);
    assert.match(text, /switchyard_request_duration_seconds_bucket/);
    assert.match(text, /switchyard_active_streams 0/);
    assert.match(text, /switchyard_upstream_errors_total/);
  });

  it('answers unknown routes with 404 and wrong methods with 405, as OpenAI JSON', async () => {
    const missing = await fetch(`${gateway.url}/v1/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
    const wrong = await fetch(`${gateway.baseURL}/chat/completions`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
  });
});
