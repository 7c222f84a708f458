/**
 * Expected costs, computed here and only here: from the token counts the mocks report (MOCK_USAGE), the prices the
 * test config sets (TEST_PRICES) and, where the gateway must count tokens itself, the cl100k tokenizer the docs name —
 * never with the gateway's own pricing or counting code, so a test of that code cannot agree with itself.
 */
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import { MOCK_USAGE } from './mock-upstream.ts';

export interface TestPrice {
  /** USD per million prompt tokens. */
  input: number;
  /** USD per million completion tokens. */
  output: number;
}

/** The `pricing` of every test gateway (testConfigObject). */
export const TEST_PRICES = {
  'meta-llama/*': { input: 0.2, output: 0.6 },
  default: { input: 0.5, output: 1.5 },
} as const satisfies Record<string, TestPrice>;

export interface Tokens {
  prompt_tokens: number;
  completion_tokens: number;
}

/** USD per million tokens is micro-USD per token; as whole pico-USD per token the sum stays exact. */
const picoPerToken = (usdPerMillion: number): number => Math.round(usdPerMillion * 1e6);

/** What `tokens` cost at `price`, in micro-USD, rounded up to the next micro-dollar as the docs say. */
export function costMicro(price: TestPrice, tokens: Tokens = MOCK_USAGE): number {
  const pico = tokens.prompt_tokens * picoPerToken(price.input) + tokens.completion_tokens * picoPerToken(price.output);
  return Math.ceil(pico / 1e6);
}

/** One mock answer (MOCK_USAGE) at the meta-llama price, and at the default price. */
export const LLAMA_MICRO = costMicro(TEST_PRICES['meta-llama/*']);
export const DEFAULT_MICRO = costMicro(TEST_PRICES.default);

/** Tokens of a text as the gateway counts them when the upstream reports none (cl100k_base). */
export function textTokens(text: string): number {
  return countTokens(text);
}

/**
 * The most one chat request may cost, which the gateway holds before calling: its prompt (3 tokens of framing, 4 per
 * message plus the message's text) with the documented margin (25 % more, plus 8), and `maxTokens` of output.
 */
export function holdMicro(messages: readonly { content: string }[], maxTokens: number, price: TestPrice): number {
  const prompt = 3 + messages.reduce((sum, message) => sum + 4 + textTokens(message.content), 0);
  return costMicro(price, { prompt_tokens: Math.ceil(prompt * 1.25) + 8, completion_tokens: maxTokens });
}
