/**
 * Token counting for reservations and for answers whose upstream reports no usage. cl100k_base is close to the
 * tokenizers of the open models behind the HF router and costs ~40 MB, against ~70 MB for o200k_base.
 */
import { createRequire } from 'node:module';

type Tokenizer = typeof import('gpt-tokenizer/encoding/cl100k_base');

/**
 * The tokenizer is loaded on first use, not at start: its tables take ~40 MiB of resident memory, and a gateway whose
 * upstreams report usage and whose prompts fit the cheap bound below never needs it. Loaded synchronously (its
 * CommonJS build), because counting is synchronous.
 */
let tokenizer: Tokenizer | undefined;
function countTokens(text: string): number {
  tokenizer ??= createRequire(import.meta.url)('gpt-tokenizer/encoding/cl100k_base') as Tokenizer;
  return tokenizer.countTokens(text);
}

/** Above this many characters a text is estimated, not tokenized, so one huge prompt cannot stall the event loop. */
const TOKENIZE_LIMIT = 32_768;
/** Chat templates add a few tokens around each message. */
const PER_MESSAGE = 4;
/** A guess for an image part; reservations only need a bound that is rarely exceeded. */
const PER_IMAGE = 1000;

export function countTextTokens(text: string): number {
  if (text.length === 0) return 0;
  // Two and a half characters a token over-counts ordinary text, which is what a reservation wants.
  return text.length > TOKENIZE_LIMIT ? Math.ceil(text.length / 2.5) : countTokens(text);
}

/**
 * A bound on the tokens of a text without tokenizing it: every BPE token (cl100k's, and the byte-level tokenizers of
 * the models upstream) covers at least one byte, so the UTF-8 length is never less than the count, and it is also
 * more than the long-text estimate of countTextTokens. A few hundred times cheaper than tokenizing.
 */
export function textTokenBound(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

type TextMeasure = (text: string) => number;

/** Tokens in message `content`: a string, or parts of which text counts and images count a fixed amount. */
export function countContentTokens(content: unknown, measure: TextMeasure = countTextTokens): number {
  if (typeof content === 'string') return measure(content);
  if (!Array.isArray(content)) return content == null ? 0 : measure(JSON.stringify(content));
  let total = 0;
  for (const part of content as Record<string, unknown>[]) {
    if (typeof part?.text === 'string') total += measure(part.text);
    else if (part?.type === 'image_url' || part?.type === 'input_image') total += PER_IMAGE;
    else if (part != null) total += measure(JSON.stringify(part));
  }
  return total;
}

/** Prompt tokens of a chat request: messages, tool calls inside them and tool definitions. */
export function countChatPromptTokens(body: Record<string, unknown>, measure: TextMeasure = countTextTokens): number {
  let total = 3;
  for (const message of body.messages as Record<string, unknown>[]) {
    total += PER_MESSAGE + countContentTokens(message?.content, measure);
    if (message?.tool_calls) total += measure(JSON.stringify(message.tool_calls));
    if (typeof message?.name === 'string') total += measure(message.name);
  }
  if (body.tools) total += measure(JSON.stringify(body.tools));
  return total;
}

/** An upper bound on countChatPromptTokens, from byte lengths alone (see textTokenBound). */
export function chatPromptBound(body: Record<string, unknown>): number {
  return countChatPromptTokens(body, textTokenBound);
}

/** The output cap a call that sets none is held (and bounded) at: `metering.default_max_tokens`'s default. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

/** A reservation adds a margin, because the upstream's own tokenizer may count more than cl100k does. */
export function reservePromptTokens(counted: number): number {
  return Math.ceil(counted * 1.25) + 8;
}
