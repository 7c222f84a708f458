/** Server-sent events: a parser for upstream bodies and a writer for client responses. */

export interface SseEvent {
  /** The `event:` field, when the upstream sent one (the Responses API does; chat completions do not). */
  event?: string;
  /** The joined `data:` lines, untouched: the core forwards these bytes without re-serialising them. */
  data: string;
}

export interface SseHooks {
  /** Maps an error of the body stream before it is thrown to the consumer. */
  mapError?: (error: unknown) => unknown;
  /** Runs when the consumer is done, however it ended (the caller releases the body there). */
  onDone?: () => void;
}

/**
 * Parses an SSE byte stream into events; tolerant of `\r\n`, comments and a missing final blank line. The hooks
 * let a caller map errors and clean up without wrapping this in a second generator: every layer of `yield*`
 * costs a round of promises per event, which a long stream pays thousands of times.
 */
export async function* parseSse(body: AsyncIterable<Uint8Array | string>, hooks: SseHooks = {}): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let pending = '';
  let data: string[] = [];
  let event: string | undefined;
  try {
    for await (const chunk of body) {
      pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      let start = 0;
      let newline: number;
      while ((newline = pending.indexOf('\n', start)) !== -1) {
        const end = newline > start && pending.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
        const line = pending.slice(start, end);
        start = newline + 1;
        if (line === '') {
          if (data.length > 0) yield event === undefined ? { data: data.join('\n') } : { event, data: data.join('\n') };
          data = [];
          event = undefined;
        } else if (line.startsWith('data:')) {
          data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
        } else if (line.startsWith('event:')) {
          event = line.slice(line.charCodeAt(6) === 32 ? 7 : 6);
        }
        // Comments (`:`), `id:` and `retry:` lines carry nothing the gateway needs.
      }
      pending = pending.slice(start);
    }
  } catch (error) {
    throw hooks.mapError ? hooks.mapError(error) : error;
  } finally {
    hooks.onDone?.();
  }
  pending += decoder.decode();
  if (pending.startsWith('data:')) data.push(pending.slice(pending.charCodeAt(5) === 32 ? 6 : 5).replace(/\r$/, ''));
  if (data.length > 0) yield event === undefined ? { data: data.join('\n') } : { event, data: data.join('\n') };
}

/** Frames one event for the wire. */
export function formatSse(event: SseEvent): string {
  return event.event === undefined ? `data: ${event.data}\n\n` : `event: ${event.event}\ndata: ${event.data}\n\n`;
}
