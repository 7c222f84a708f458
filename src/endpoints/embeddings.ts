/** `POST /v1/embeddings`: validation, input-token metering, and embeddings in the encoding the client asked for. */
import { z } from 'zod';
import { InvalidRequestError } from '../errors/gateway-error.ts';
import type { TokenUsage } from '../metering/meter.ts';
import { countTextTokens } from '../metering/tokens.ts';
import type { CallContext, JsonObject, JsonResult, StreamResult } from '../plugin-sdk.ts';
import type { Target } from '../plugins/registry.ts';
import type { Operation, ParsedCall, StreamMeter } from '../proxy/operation.ts';
import { validateBody } from '../proxy/validate.ts';
import { inFormat, type EncodingFormat } from './embedding-encoding.ts';

const MAX_INPUTS = 2048;
const token = z.number().int().min(0);

export const embeddingsSchema = z.looseObject({
  model: z.string().min(1).max(512),
  input: z.union(
    [z.string().min(1), z.array(z.string().min(1)).min(1).max(MAX_INPUTS), z.array(token).min(1), z.array(z.array(token).min(1)).min(1).max(MAX_INPUTS)],
    { error: 'expected a non-empty string, an array of non-empty strings, an array of token ids, or an array of such arrays.' },
  ),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().max(100_000).nullish(),
  provider: z.unknown().optional(),
});

export function parseEmbeddings(body: JsonObject): ParsedCall {
  const valid = validateBody(embeddingsSchema, body);
  return {
    model: valid.model,
    stream: false,
    provider: valid.provider,
    promptTokens: countInputTokens(valid.input),
    maxOutputTokens: undefined,
    generates: false,
    clientWantsUsage: false,
  };
}

/** Texts are counted; token-id arrays are their own count. */
export function countInputTokens(input: string | string[] | number[] | number[][]): number {
  if (typeof input === 'string') return countTextTokens(input);
  let total = 0;
  for (const entry of input) {
    if (typeof entry === 'string') total += countTextTokens(entry);
    else if (typeof entry === 'number') total += 1;
    else total += entry.length;
  }
  return total;
}

async function embed(target: Target, body: JsonObject, call: CallContext): Promise<JsonResult> {
  const provider = target.provider.provider;
  if (!provider.embeddings) {
    throw new InvalidRequestError(`The provider '${target.provider.name}' does not serve embeddings.`, 'model', 'unsupported_model');
  }
  const wanted: EncodingFormat = body.encoding_format === 'base64' ? 'base64' : 'float';
  const result = inFormat(await provider.embeddings(body, call), wanted);
  // Without upstream usage the gateway's count is written into the body, which then cannot pass through as sent.
  return hasUsage(result.body) ? result : { body: result.body, headers: result.headers };
}

function hasUsage(body: JsonObject): boolean {
  return typeof (body.usage as { prompt_tokens?: unknown } | undefined)?.prompt_tokens === 'number';
}

/** The upstream's `usage.prompt_tokens`, else the gateway's count, which is then also written into the body. */
export function embeddingsUsage(body: JsonObject, parsed: ParsedCall): TokenUsage {
  if (hasUsage(body)) return { promptTokens: (body.usage as { prompt_tokens: number }).prompt_tokens, completionTokens: 0, estimated: false };
  body.usage = { prompt_tokens: parsed.promptTokens, total_tokens: parsed.promptTokens };
  return { promptTokens: parsed.promptTokens, completionTokens: 0, estimated: true };
}

function noStream(): never {
  // parseEmbeddings never marks a call as streamed, so the core never asks.
  throw new Error('embeddings are never streamed');
}

export const embeddingsOperation: Operation = {
  endpoint: 'embeddings',
  parse: parseEmbeddings,
  json: embed,
  stream: (): Promise<StreamResult> => noStream(),
  usageOf: embeddingsUsage,
  meter: (): StreamMeter => noStream(),
};
