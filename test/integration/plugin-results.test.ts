/**
 * What a plugin returns is what the client gets: a plugin that changes an answer with `replaceBody` has its body
 * sent: the upstream's raw bytes, which pass through otherwise, are dropped.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

/** A plugin that signs every answer it changes; `mode: passthrough` returns the upstream answer as it came. */
const PLUGIN = (sdk: string) => `
import { UpstreamClient, definePlugin, forwardJson, forwardStream, replaceBody, z } from ${JSON.stringify(sdk)};

export default definePlugin({
  name: 'signing',
  version: '1.0.0',
  configSchema: z.strictObject({ base_url: z.string(), mode: z.enum(['change', 'passthrough']) }),
  create({ name, config, timeoutMs }) {
    const client = new UpstreamClient({ provider: name, baseUrl: config.base_url, headers: {}, timeoutMs });
    return {
      async chat(request, call) {
        const result = await forwardJson(client, '/chat/completions', request, call);
        if (config.mode === 'passthrough') return result;
        return replaceBody(result, { ...result.body, system_fingerprint: 'signed-by-plugin' });
      },
      chatStream: (request, call) => forwardStream(client, '/chat/completions', request, call),
      close: () => client.close(),
    };
  },
});
`;

describe('plugin results that change the body', () => {
  let dir: string;
  let upstream: MockUpstream;
  let gateway: TestGateway;
  let secret: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-plugin-results-'));
    mkdirSync(path.join(dir, 'signing'));
    writeFileSync(path.join(dir, 'signing', 'index.ts'), PLUGIN(pathToFileURL(path.join(ROOT, 'src', 'plugin-sdk.ts')).href));
    upstream = await startMock({ flavor: 'compatible' });
    const entry = (mode: string, models: string[]) => ({ plugin: 'signing', base_url: upstream.url, mode, models, retries: { attempts: 0 } });
    gateway = await startGateway({
      providers: { changed: entry('change', ['changed-*']), plain: entry('passthrough', ['plain-*']) },
      config: { plugins_dir: dir },
    });
    ({ secret } = await gateway.createKey());
  });

  after(async () => {
    await gateway.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the body a plugin changed with replaceBody, and the upstream answer as it came otherwise', async () => {
    const plain = await gateway.client(secret).chat.completions.create({ model: 'plain-model', messages: [{ role: 'user', content: 'Hi' }] });
    assert.notEqual(plain.system_fingerprint, 'signed-by-plugin');
    const answer = await gateway.client(secret).chat.completions.create({ model: 'changed-model', messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(answer.system_fingerprint, 'signed-by-plugin');
    assert.equal(typeof answer.choices[0].message.content, 'string');
  });
});
