/** Egress: chat message content (a string or content parts) → Anthropic content blocks (text and image). */
import { InvalidRequestError } from '../../errors/gateway-error.ts';
import type { JsonObject } from '../../plugin-sdk.ts';

export type Block = JsonObject;

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/** The text of a `text` (or Responses-style `input_text` / `output_text`) part, else undefined. */
export function chatTextOf(part: unknown): string | undefined {
  if (typeof part === 'string') return part;
  const p = part as { type?: unknown; text?: unknown } | null;
  if (p && (p.type === 'text' || p.type === 'input_text' || p.type === 'output_text') && typeof p.text === 'string') return p.text;
  return undefined;
}

/** Content blocks for a message's content; empty texts are left out (Messages refuses empty text blocks). */
export function chatContentToBlocks(content: unknown, param: string): Block[] {
  if (content == null) return [];
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) throw new InvalidRequestError('Message content must be a string or an array of content parts.', param);
  const blocks: Block[] = [];
  content.forEach((part, index) => {
    const block = partToBlock(part, `${param}[${index}]`);
    if (block) blocks.push(block);
  });
  return blocks;
}

function partToBlock(part: unknown, param: string): Block | undefined {
  const text = chatTextOf(part);
  let block: Block | undefined;
  if (text !== undefined) block = text ? { type: 'text', text } : undefined;
  else if ((part as { type?: unknown } | null)?.type === 'image_url') block = imageBlock(part as JsonObject, param);
  else if ((part as { type?: unknown } | null)?.type === 'refusal') block = undefined;
  else {
    const type = String((part as { type?: unknown } | null)?.type ?? typeof part).slice(0, 64);
    throw new InvalidRequestError(
      `Content parts of type '${type}' cannot be sent to an Anthropic model (text and image_url can).`,
      param,
      'unsupported_parameter',
    );
  }
  // Anthropic-aware chat clients mark prompt-cache breakpoints on their parts: keep them.
  const cache = (part as JsonObject | null)?.cache_control;
  if (block && cache !== undefined) block.cache_control = cache;
  return block;
}

/** A data URL becomes a base64 source, an http(s) URL a url source. */
function imageBlock(part: JsonObject, param: string): Block {
  const imageUrl = part.image_url;
  const url = typeof imageUrl === 'string' ? imageUrl : (imageUrl as { url?: unknown } | null)?.url;
  if (typeof url !== 'string') throw new InvalidRequestError("An image_url part needs 'image_url.url'.", param);
  const data = DATA_URL.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw new InvalidRequestError('An image URL must be an http(s) URL or a base64 data URL for an Anthropic model.', `${param}.image_url.url`);
}
