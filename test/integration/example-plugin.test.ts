/**
 * The worked example plugin of docs/plugins.md (docs/examples/plugins/acme), run as that page says to test a plugin:
 * a mock upstream on 127.0.0.1:0, a real gateway whose `plugins_dir` holds the plugin, and the real `openai` SDK.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { MOCK_TEXT, MOCK_USAGE, startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { ROOT, startGateway, usageRow, type TestGateway } from '../helpers/gateway.ts';

describe('the example plugin (acme)', () => {
  let upstream: MockUpstream;
  let gateway: TestGateway;
  let secret: string;

  before(async () => {
    upstream = await startMock({ flavor: 'compatible' });
    gateway = await startGateway({
      providers: { acme: { plugin: 'acme', base_url: upstream.url, api_key: 'acme-secret-key-123', models: ['acme/*'], retries: { attempts: 0 } } },
      config: { plugins_dir: path.join(ROOT, 'docs', 'examples', 'plugins'), pricing: { 'acme/*': { input: 1, output: 2 } } },
    });
    ({ secret } = await gateway.createKey({ credits_usd: 1 }));
  });

  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('sends Acme its own model name and header, and answers under the name the client used', async () => {
    const response = await gateway
      .client(secret)
      .chat.completions.create({ model: 'acme/rocket-1', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    assert.equal(response.data.model, 'acme/rocket-1');
    assert.equal(response.data.choices[0].message.content, MOCK_TEXT);
    const sent = upstream.lastRequest!;
    assert.equal(sent.body!.model, 'rocket-1');
    assert.equal(sent.headers['x-acme-key'], 'acme-secret-key-123');
    assert.equal(sent.headers.authorization, undefined);
    const row = await usageRow(gateway, response.response.headers.get('x-request-id')!);
    assert.equal(row.provider, 'acme');
    assert.equal(row.prompt_tokens, MOCK_USAGE.prompt_tokens);
  });

  it('renames the model in every stream event', async () => {
    const stream = await gateway.client(secret).chat.completions.create({ model: 'acme/rocket-1', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    let text = '';
    for await (const chunk of stream) {
      assert.equal(chunk.model, 'acme/rocket-1');
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    assert.equal(text, MOCK_TEXT);
  });

  it('lists its models under the names clients use', async () => {
    const models = await gateway.client(secret).models.list();
    assert.ok(models.data.length > 0);
    assert.ok(
      models.data.every((model) => model.id.startsWith('acme/') && model.owned_by === 'acme'),
      JSON.stringify(models.data),
    );
  });
});
