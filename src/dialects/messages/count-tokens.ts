/**
 * The gateway's token count of a Messages request (system, messages, tools): what `count_tokens` answers without a
 * native counter, what a translated stream's `message_start` reports before the upstream has counted, and what a
 * call reserves against.
 */
import { countTextTokens } from '../../metering/tokens.ts';
import type { JsonObject } from '../../plugin-sdk.ts';

/** Chat templates add a few tokens around each message (as metering/tokens.ts counts chat). */
const PER_MESSAGE = 4;
/** A bound for an image, as for chat image parts. */
const PER_IMAGE = 1000;

export function countMessagesTokens(body: JsonObject): number {
  let total = 3;
  if (body.system !== undefined && body.system !== null) total += PER_MESSAGE + countBlocks(body.system);
  if (Array.isArray(body.messages)) {
    for (const message of body.messages as JsonObject[]) total += PER_MESSAGE + countBlocks(message?.content);
  }
  if (Array.isArray(body.tools) && body.tools.length > 0) total += countTextTokens(JSON.stringify(body.tools));
  return total;
}

/** A string, or blocks: text of any kind counted, images a fixed amount, tool calls as their JSON. */
function countBlocks(content: unknown): number {
  if (typeof content === 'string') return countTextTokens(content);
  if (!Array.isArray(content)) return content == null ? 0 : countTextTokens(JSON.stringify(content));
  let total = 0;
  for (const block of content as JsonObject[]) total += countBlock(block);
  return total;
}

function countBlock(block: JsonObject): number {
  switch (block?.type) {
    case 'text':
      return countTextTokens(String(block.text ?? ''));
    case 'image':
      return PER_IMAGE;
    case 'thinking':
      return countTextTokens(String(block.thinking ?? ''));
    case 'tool_use':
      return countTextTokens(String(block.name ?? '')) + countTextTokens(JSON.stringify(block.input ?? {}));
    case 'tool_result':
      return countBlocks(block.content);
    default:
      return block == null ? 0 : countTextTokens(JSON.stringify(block));
  }
}
