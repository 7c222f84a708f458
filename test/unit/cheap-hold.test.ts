/** The cheap hold: byte lengths bound the token count, and the prompt is tokenized only where that bound does not fit. */
import assert from 'node:assert/strict';
import { parseChat } from '../../src/endpoints/chat.ts';
import { RateLimitExceededError, TrialExhaustedError } from '../../src/errors/gateway-error.ts';
import type { KeyRecord } from '../../src/db/keys-repo.ts';
import type { LeaseBook } from '../../src/metering/lease-book.ts';
import { Meter } from '../../src/metering/meter.ts';
import type { TokenLimiter } from '../../src/metering/token-limit.ts';
import { chatPromptBound, countChatPromptTokens, countTextTokens, reservePromptTokens, textTokenBound } from '../../src/metering/tokens.ts';
import type { UsageWriter } from '../../src/metering/usage-writer.ts';
import { CallRecord } from '../../src/proxy/call-record.ts';

const TEXTS = [
  '',
  'Hi',
  'Say hello',
  'naïve café déjà vu',
  '日本語のテキストです。',
  '😀🎉👍🏽 emoji',
  ' '.repeat(50),
  'x'.repeat(40_000),
  'def f(x):\n    return x ** 2\n',
];

/** A lease book that records each reservation and grants what is under `room` trial tokens (the key's allowance). */
function leaseBook(room: number) {
  const reserved: number[] = [];
  const book = {
    reserve: async (keyId: string, micro: number, tokens: number) => {
      if (tokens > room) throw new TrialExhaustedError('trial exhausted');
      reserved.push(tokens);
      return { keyId, leaseId: 'l', micro, tokens, fromBalance: true, budgetPeriod: null };
    },
  };
  return { book: book as unknown as LeaseBook, reserved };
}

const trialKey = (over: Partial<KeyRecord> = {}): KeyRecord => ({
  id: 'key_1',
  name: 'k',
  prefix: 'sk-sy-',
  hash: 'h',
  balanceMicro: null,
  trialTokens: 1_000_000,
  rpm: null,
  models: null,
  revoked: false,
  createdAt: 0,
  budgetMicro: null,
  budgetPeriod: null,
  tpm: null,
  expiresAt: null,
  ...over,
});

const call = () => new CallRecord('req_1', 'chat', () => undefined);
const meter = (book: LeaseBook, tokenLimiter?: TokenLimiter) =>
  new Meter(
    book,
    () => {
      throw new Error('no prices for a trial key');
    },
    {} as UsageWriter,
    { tokenLimiter },
  );

/** A prompt whose count is taken only when read, and says how often it was. */
function prompt(exact: number, bound: number) {
  const counted = { reads: 0 };
  const size = {
    get promptTokens() {
      counted.reads++;
      return exact;
    },
    promptBound: bound,
  };
  return { size, counted };
}

describe('cheap hold', () => {
  it('bounds cl100k counts by UTF-8 length, for text and for whole chat requests', () => {
    for (const text of TEXTS) assert.ok(textTokenBound(text) >= countTextTokens(text), JSON.stringify(text.slice(0, 20)));
    const body = {
      model: 'm',
      messages: [
        { role: 'user', content: TEXTS.join(' '), name: 'ann' },
        {
          role: 'user',
          content: [
            { type: 'text', text: '日本語' },
            { type: 'image_url', image_url: { url: 'x' } },
          ],
        },
      ],
      tools: [{ type: 'function', function: { name: 'f' } }],
    };
    assert.ok(chatPromptBound(body) >= countChatPromptTokens(body));
  });

  it('parses a chat body without tokenizing it; the count is taken once, when read', () => {
    const parsed = parseChat({ model: 'm', messages: [{ role: 'user', content: 'Say hello' }] });
    assert.equal(parsed.promptBound, 3 + 4 + 9);
    assert.equal(parsed.promptTokens, countChatPromptTokens({ messages: [{ role: 'user', content: 'Say hello' }] }));
  });

  it('holds the bound without tokenizing when the key can pay for it', async () => {
    const { book, reserved } = leaseBook(10_000);
    const { size, counted } = prompt(20, 100);
    await meter(book).reserve(call(), trialKey(), [], size, 64);
    assert.deepEqual(reserved, [reservePromptTokens(100) + 64]);
    assert.equal(counted.reads, 0, 'never tokenized');
  });

  it('tokenizes and holds the exact count when the key cannot pay for the bound', async () => {
    const { book, reserved } = leaseBook(200);
    const { size, counted } = prompt(20, 1000);
    await meter(book).reserve(call(), trialKey(), [], size, 64);
    assert.deepEqual(reserved, [reservePromptTokens(20) + 64]);
    assert.equal(counted.reads, 1);
  });

  it('holds nothing and counts nothing for a key without limits', async () => {
    const { book, reserved } = leaseBook(0);
    const { size, counted } = prompt(20, 1000);
    await meter(book).reserve(call(), trialKey({ trialTokens: null }), [], size, 64);
    assert.deepEqual(reserved, []);
    assert.equal(counted.reads, 0);
  });

  it('takes a minute’s tokens at the bound when they fit, else at the exact count, else refuses with the exact figure', async () => {
    const taken: number[] = [];
    const limiter = {
      take: async (_key: string, tpm: number, tokens: number) => {
        if (tokens > tpm) throw new RateLimitExceededError(`may use up to ${tokens}`, 1);
        taken.push(tokens);
        return { window: 'w', tokens };
      },
    } as unknown as TokenLimiter;
    const { book } = leaseBook(1_000_000);
    const unmetered = trialKey({ trialTokens: null, tpm: 500 });
    const fits = prompt(20, 100);
    await meter(book, limiter).reserve(call(), unmetered, [], fits.size, 64);
    const tight = prompt(20, 1000);
    await meter(book, limiter).reserve(call(), unmetered, [], tight.size, 64);
    assert.deepEqual(taken, [164, 84]);
    assert.deepEqual([fits.counted.reads, tight.counted.reads], [0, 1]);
    const over = prompt(600, 1000);
    await assert.rejects(
      meter(book, limiter).reserve(call(), unmetered, [], over.size, 64),
      (error: Error) => error instanceof RateLimitExceededError && /up to 664/.test(error.message),
    );
  });
});
