/** Conversation history through the Responses translation: message items, images, and `item_reference`s to earlier answers. */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import type { APIError } from 'openai';
import { HF_KEY, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { MOCK_TEXT, startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const IMAGE = 'data:image/png;base64,iVBORw0KGgo=';

describe('responses: conversation history through the translation', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let client: OpenAI;
  let other: OpenAI;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    gateway = await startGateway({ providers: { huggingface: hfEntry(hf.url) } });
    client = gateway.client((await gateway.createKey()).secret);
    other = gateway.client((await gateway.createKey()).secret);
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  it('maps roles and content parts: developer → system, input_image → image_url, assistant text → a string', async () => {
    await client.responses.create({
      model: MODEL,
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'Answer in French.' },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is this?' },
            { type: 'input_image', image_url: IMAGE, detail: 'low' },
          ],
        },
        { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'A pixel.', annotations: [] }] },
        { role: 'user', content: 'Merci' },
      ],
    });
    assert.deepEqual(hf.lastRequest!.body!.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: 'Answer in French.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: IMAGE, detail: 'low' } },
        ],
      },
      { role: 'assistant', content: 'A pixel.' },
      { role: 'user', content: 'Merci' },
    ]);
  });

  it("resolves an item_reference to the key's own earlier answer, JSON or streamed", async () => {
    const first = await client.responses.create({ model: MODEL, input: 'Hi' });
    const streamed = await client.responses.stream({ model: MODEL, input: 'Hi again' }).finalResponse();
    await client.responses.create({
      model: MODEL,
      input: [
        { role: 'user', content: 'Hi' },
        { type: 'item_reference', id: first.output[0].id! },
        { role: 'user', content: 'Hi again' },
        { type: 'item_reference', id: streamed.output[0].id! },
        { role: 'user', content: 'Bye' },
      ],
    });
    assert.deepEqual(
      (hf.lastRequest!.body!.messages as { role: string; content: string }[]).map((message) => [message.role, message.content]),
      [
        ['user', 'Hi'],
        ['assistant', MOCK_TEXT],
        ['user', 'Hi again'],
        ['assistant', MOCK_TEXT],
        ['user', 'Bye'],
      ],
    );
  });

  it("refuses an item_reference to another key's answer", async () => {
    const first = await client.responses.create({ model: MODEL, input: 'Hi' });
    await assert.rejects(
      other.responses.create({ model: MODEL, input: [{ type: 'item_reference', id: first.output[0].id! }] }),
      (error: APIError) => error.status === 400 && error.param === 'input[0].id' && /store = false/.test(error.message),
    );
  });

  it('keeps the items per gateway: a second one in the same process, on the same database, does not share them', async () => {
    const { secret } = await gateway.createKey();
    const first = await gateway.client(secret).responses.create({ model: MODEL, input: 'Hi' });
    const second = await startGateway({
      providers: { huggingface: hfEntry(hf.url) },
      config: { database: { connection: gateway.config.database.connection } },
    });
    try {
      await assert.rejects(
        second.client(secret).responses.create({ model: MODEL, input: [{ type: 'item_reference', id: first.output[0].id! }] }),
        (error: APIError) => error.status === 400 && error.param === 'input[0].id',
      );
      const again = await gateway.client(secret).responses.create({ model: MODEL, input: [{ type: 'item_reference', id: first.output[0].id! }] });
      assert.equal(again.status, 'completed');
    } finally {
      await second.close();
    }
  });

  it('keeps nothing for a request that says store: false', async () => {
    const first = await client.responses.create({ model: MODEL, input: 'Hi', store: false });
    await assert.rejects(
      client.responses.create({ model: MODEL, input: [{ type: 'item_reference', id: first.output[0].id! }] }),
      (error: APIError) => error.status === 400 && error.param === 'input[0].id',
    );
  });

  it('drops reasoning items and references to them: chat upstreams take no reasoning back', async () => {
    await client.responses.create({
      model: MODEL,
      input: [
        { role: 'user', content: 'Hi' },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'thinking' }] },
        { type: 'item_reference', id: 'rs_unknown' },
        { role: 'user', content: 'Again' },
      ],
    });
    assert.deepEqual(
      (hf.lastRequest!.body!.messages as { role: string }[]).map((message) => message.role),
      ['user', 'user'],
    );
  });

  it('refuses images in a non-user message and file inputs with a 400 naming the part', async () => {
    await assert.rejects(
      client.responses.create({ model: MODEL, input: [{ role: 'system', content: [{ type: 'input_image', image_url: IMAGE, detail: 'auto' }] }] }),
      (error: APIError) => error.status === 400 && error.param === 'input[0].content',
    );
    await assert.rejects(
      client.responses.create({ model: MODEL, input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file_1' }] }] }),
      (error: APIError) => error.status === 400 && error.param === 'input[0].content[0].type',
    );
  });
});
