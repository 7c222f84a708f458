/**
 * Legacy completions requests: the body's schema, what chat completions cannot express, and the chat request
 * that serves one prompt of it.
 */
import { z } from 'zod';
import { InvalidRequestError } from '../../errors/gateway-error.ts';
import type { JsonObject } from '../../plugin-sdk.ts';

/** OpenAI's documented default when a legacy completions request sets no `max_tokens`. */
export const DEFAULT_MAX_TOKENS = 16;

const tokenIds = z.array(z.number().int());

/** A string, a list of strings, or token ids (one list, or a list of lists): the four shapes OpenAI takes. */
const prompt = z.union([
  z.string(),
  z
    .array(z.union([z.string(), z.number().int(), tokenIds]))
    .min(1)
    .max(2048),
]);

/** Only what the gateway relies on is checked; everything else is the upstream's to judge. */
export const completionsSchema = z.looseObject({
  model: z.string().min(1).max(512),
  prompt,
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().positive().max(10_000_000).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  best_of: z.number().int().min(1).max(128).nullish(),
  provider: z.unknown().optional(),
});

/**
 * The prompts of a request, in order: a string is one prompt, and so is a flat list of token ids; a list of strings
 * or of token-id lists is several.
 */
export function promptsOf(body: JsonObject): unknown[] {
  const prompt = body.prompt;
  if (!Array.isArray(prompt)) return [prompt];
  return prompt.length > 0 && prompt.every((item) => typeof item === 'number') ? [prompt] : prompt;
}

/** Whether the prompt is given as token ids rather than text (only a native upstream can take those). */
export function hasTokenIds(body: JsonObject): boolean {
  return promptsOf(body).some((item) => typeof item !== 'string');
}

/**
 * Refuses, naming the field, what a chat completion cannot carry: chat has no echo of the prompt, no suffix
 * (insertion), no server-side best-of, no per-position top-k logprobs, and takes text, not token ids. A list of
 * prompts is several chat calls, and several streams cannot be merged into one in the order a client reads them.
 */
export function assertTranslatable(body: JsonObject): void {
  if (hasTokenIds(body)) throw untranslatable('prompt', 'Token-id prompts cannot be translated to chat completions; send the prompt as text.');
  if (body.echo === true) throw untranslatable('echo', "'echo' cannot be translated to chat completions: the answer would not contain the prompt.");
  if (typeof body.suffix === 'string' && body.suffix !== '')
    throw untranslatable('suffix', "'suffix' (text insertion) cannot be translated to chat completions.");
  if (typeof body.best_of === 'number' && body.best_of > 1)
    throw untranslatable('best_of', "'best_of' > 1 cannot be translated to chat completions; use 'n' instead.");
  if (typeof body.logprobs === 'number') throw untranslatable('logprobs', "Integer 'logprobs' cannot be translated to chat completions; leave it unset.");
  const prompts = promptsOf(body).length;
  if (body.stream === true && prompts > 1) {
    throw untranslatable(
      'stream',
      `Streaming is translated for a single prompt only; this request has ${prompts}. Send them without 'stream', or one request per prompt.`,
    );
  }
}

function untranslatable(param: string, message: string): InvalidRequestError {
  return new InvalidRequestError(`${message} (This model is served through chat completions.)`, param);
}

/** Legacy-only fields, which have no chat counterpart (their untranslatable values were refused above). */
const LEGACY_ONLY = new Set(['prompt', 'echo', 'suffix', 'best_of', 'logprobs', 'logit_bias']);

/**
 * The chat request for one prompt: the prompt as the single user message; `n`, `stop`, the sampling fields,
 * `max_tokens`, `user`, `seed`, `stream` and `stream_options` carry over as they are, and so do fields the gateway
 * does not know (an upstream's own extensions such as `top_k`). `logit_bias` goes on only when it says something:
 * LangChain always sends `{}`, which some chat servers refuse.
 */
export function toChatRequest(body: JsonObject, promptText: string): JsonObject {
  const chat: JsonObject = { model: body.model, messages: [{ role: 'user', content: promptText }] };
  for (const [field, value] of Object.entries(body)) {
    if (!LEGACY_ONLY.has(field) && field !== 'model') chat[field] = value;
  }
  const bias = body.logit_bias;
  if (bias && typeof bias === 'object' && Object.keys(bias).length > 0) chat.logit_bias = bias;
  chat.max_tokens ??= DEFAULT_MAX_TOKENS;
  return chat;
}
