/**
 * Embedding vectors as the client asked for them: `float` arrays, or `base64` strings of little-endian float32 bytes
 * (the openai SDK asks for base64 by default and decodes it itself, so floats sent to it would come out as garbage).
 */
import type { JsonObject, JsonResult } from '../plugin-sdk.ts';

export type EncodingFormat = 'float' | 'base64';

export function encodeFloat32(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  // Explicitly little-endian, whatever the host's byte order.
  vector.forEach((value, index) => {
    bytes.writeFloatLE(value, index * 4);
  });
  return bytes.toString('base64');
}

export function decodeFloat32(base64: string): number[] {
  const bytes = Buffer.from(base64, 'base64');
  const vector = new Array<number>(Math.floor(bytes.length / 4));
  for (let index = 0; index < vector.length; index++) vector[index] = bytes.readFloatLE(index * 4);
  return vector;
}

/** Converts each `data[i].embedding` that is not in the wanted format; the result keeps the upstream's bytes when none was. */
export function inFormat(result: JsonResult, wanted: EncodingFormat): JsonResult {
  const data = result.body.data;
  if (!Array.isArray(data)) return result;
  let changed = false;
  const converted = (data as JsonObject[]).map((item) => {
    const embedding = item?.embedding;
    if (wanted === 'base64' && Array.isArray(embedding)) {
      changed = true;
      return { ...item, embedding: encodeFloat32(embedding as number[]) };
    }
    if (wanted === 'float' && typeof embedding === 'string') {
      changed = true;
      return { ...item, embedding: decodeFloat32(embedding) };
    }
    return item;
  });
  return changed ? { body: { ...result.body, data: converted }, headers: result.headers } : result;
}
