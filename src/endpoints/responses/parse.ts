/** Validation and prompt-token counting of a Responses request, the same whichever way it is then served. */
import { z } from 'zod';
import { countContentTokens, countTextTokens } from '../../metering/tokens.ts';
import type { JsonObject } from '../../plugin-sdk.ts';
import type { ParsedCall } from '../../proxy/operation.ts';
import { validateBody } from '../../proxy/validate.ts';

const positiveInt = z.number().int().positive().max(10_000_000);

/** Only what the gateway relies on is checked here; the translation checks the rest, a native upstream its own. */
export const responsesSchema = z.looseObject({
  model: z.string().min(1).max(512),
  input: z.union([z.string(), z.array(z.looseObject({})).max(10_000)], { error: 'expected a string or an array of input items.' }).optional(),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  max_output_tokens: positiveInt.nullish(),
  tools: z
    .array(z.looseObject({ type: z.string() }))
    .max(10_000)
    .nullish(),
  provider: z.unknown().optional(),
});

/** Chat templates add a few tokens around each message. */
const PER_ITEM = 4;

export function parseResponses(body: JsonObject): ParsedCall {
  const valid = validateBody(responsesSchema, body);
  return {
    model: valid.model,
    stream: valid.stream === true,
    provider: valid.provider,
    promptTokens: countResponsesPromptTokens(valid),
    maxOutputTokens: valid.max_output_tokens ?? undefined,
    generates: true,
    // A Responses stream always ends with its usage, in `response.completed`.
    clientWantsUsage: true,
  };
}

/** Instructions, input items (text, images, tool calls and their outputs) and tool definitions. */
export function countResponsesPromptTokens(body: JsonObject): number {
  let total = 3;
  if (typeof body.instructions === 'string') total += PER_ITEM + countTextTokens(body.instructions);
  if (typeof body.input === 'string') total += PER_ITEM + countTextTokens(body.input);
  else if (Array.isArray(body.input)) {
    for (const item of body.input as JsonObject[]) total += PER_ITEM + countItemTokens(item);
  }
  if (Array.isArray(body.tools) && body.tools.length > 0) total += countTextTokens(JSON.stringify(body.tools));
  return total;
}

function countItemTokens(item: JsonObject): number {
  if ('content' in item) return countContentTokens(item.content);
  if (item.type === 'function_call') return countTextTokens(`${String(item.name ?? '')}${String(item.arguments ?? '')}`);
  if (item.type === 'function_call_output') return countContentTokens(item.output);
  return countTextTokens(JSON.stringify(item));
}
