/**
 * A chat-completions stream → the Responses event stream (OpenAI's API reference, "Streaming events"): `response.created`, `.in_progress`, then
 * per output item `output_item.added` … deltas … `.done`, and a terminal `response.completed` (or `.incomplete`). Each
 * event has an `event:` name and a `sequence_number` counting from 0. Upstream failures are thrown: the core turns a
 * failure before the first event into an HTTP error and a later one into `response.failed` (see the stream meter).
 */
import { UpstreamError } from '../../errors/gateway-error.ts';
import type { JsonObject, SseEvent } from '../../plugin-sdk.ts';
import { errorFromStreamEvent } from '../../proxy/wire.ts';
import {
  finishedResponse,
  fromChatUsage,
  functionCallItem,
  messageItem,
  newId,
  nowSeconds,
  outcomeOf,
  outputTextPart,
  reasoningItem,
  reasoningOf,
  responseShell,
} from './response-object.ts';

interface ChatDelta {
  content?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  tool_calls?: { index?: number; id?: unknown; function?: { name?: unknown; arguments?: unknown } }[];
}

interface ChatChunk {
  model?: unknown;
  created?: unknown;
  usage?: unknown;
  choices?: { delta?: ChatDelta; finish_reason?: unknown }[];
}

/** An open message or reasoning item: one content part that grows by deltas. */
interface TextItem {
  kind: 'message' | 'reasoning';
  id: string;
  outputIndex: number;
  text: string;
}

/** A function call, opened once its name is known. */
interface CallItem {
  id: string;
  outputIndex: number | undefined;
  callId: string;
  name: string;
  args: string;
  done: boolean;
}

/** `onOutput` receives the finished output items, just before the terminal event. */
export async function* translateChatStream(
  upstream: AsyncIterable<SseEvent>,
  request: JsonObject,
  provider: string,
  onOutput?: (output: JsonObject[]) => void,
): AsyncGenerator<SseEvent> {
  const iterator = upstream[Symbol.asyncIterator]();
  try {
    let next = await iterator.next();
    if (next.done) throw new UpstreamError(`${provider} ended the stream without sending anything`, { retryable: true });
    // The first chunk is read before anything is sent, so an upstream that fails at once stays a plain HTTP error.
    let chunk = readChunk(next.value, provider);
    const builder = new ResponseStreamBuilder(request, chunk);
    yield* builder.start();
    while (chunk) {
      yield* builder.add(chunk);
      next = await iterator.next();
      chunk = next.done ? undefined : readChunk(next.value, provider);
    }
    yield* builder.finish(onOutput);
  } finally {
    await iterator.return?.();
  }
}

/** A chat chunk, undefined at `[DONE]`; error events are thrown. */
function readChunk(event: SseEvent, provider: string): ChatChunk | undefined {
  if (event.data === '[DONE]') return undefined;
  const error = errorFromStreamEvent(event.data, provider);
  if (error) throw error;
  try {
    const chunk: unknown = JSON.parse(event.data);
    if (chunk && typeof chunk === 'object') return chunk as ChatChunk;
  } catch {
    // Reported below.
  }
  throw new UpstreamError(`${provider} sent a stream chunk that is not JSON`);
}

class ResponseStreamBuilder {
  private sequence = 0;
  private readonly shell: JsonObject;
  /** Finished items by output index; undefined while an item is open. */
  private readonly output: (JsonObject | undefined)[] = [];
  private text: TextItem | undefined;
  private readonly calls = new Map<number, CallItem>();
  private usage: unknown;
  private finishReason: unknown = null;

  constructor(request: JsonObject, first: ChatChunk | undefined) {
    const model = typeof first?.model === 'string' && first.model ? first.model : String(request.model);
    const created = typeof first?.created === 'number' ? first.created : nowSeconds();
    this.shell = responseShell(request, newId('resp'), created, model);
  }

  private event(type: string, fields: JsonObject): SseEvent {
    return { event: type, data: JSON.stringify({ type, sequence_number: this.sequence++, ...fields }) };
  }

  *start(): Generator<SseEvent> {
    yield this.event('response.created', { response: this.shell });
    yield this.event('response.in_progress', { response: this.shell });
  }

  *add(chunk: ChatChunk): Generator<SseEvent> {
    if (chunk.usage && typeof chunk.usage === 'object') this.usage = chunk.usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!choice) return;
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    const delta = choice.delta ?? {};
    const reasoning = reasoningOf(delta);
    if (reasoning.length > 0) yield* this.textDelta('reasoning', reasoning);
    if (typeof delta.content === 'string' && delta.content.length > 0) yield* this.textDelta('message', delta.content);
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) yield* this.callDelta(call);
    }
  }

  *finish(onOutput?: (output: JsonObject[]) => void): Generator<SseEvent> {
    const outcome = outcomeOf(this.finishReason);
    yield* this.closeText(outcome.status);
    for (const call of this.calls.values()) yield* this.closeCall(call);
    if (this.output.length === 0) {
      // An empty answer is still one (empty) message, as the API would send it.
      yield* this.openText('message');
      yield* this.closeText(outcome.status);
    }
    const response = finishedResponse(this.shell, outcome, this.output as JsonObject[], fromChatUsage(this.usage));
    onOutput?.(this.output as JsonObject[]);
    yield this.event(outcome.status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
  }

  private *textDelta(kind: TextItem['kind'], delta: string): Generator<SseEvent> {
    if (this.text?.kind !== kind) {
      yield* this.closeText('completed');
      yield* this.openText(kind);
    }
    const item = this.text!;
    item.text += delta;
    const type = kind === 'message' ? 'response.output_text.delta' : 'response.reasoning_text.delta';
    const extra = kind === 'message' ? { logprobs: [] } : {};
    yield this.event(type, { item_id: item.id, output_index: item.outputIndex, content_index: 0, delta, ...extra });
  }

  private *openText(kind: TextItem['kind']): Generator<SseEvent> {
    const item: TextItem = { kind, id: newId(kind === 'message' ? 'msg' : 'rs'), outputIndex: this.output.length, text: '' };
    this.output.push(undefined);
    this.text = item;
    const added =
      kind === 'message'
        ? { id: item.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] }
        : { id: item.id, type: 'reasoning', summary: [], content: [] };
    yield this.event('response.output_item.added', { output_index: item.outputIndex, item: added });
    const part = kind === 'message' ? outputTextPart('') : { type: 'reasoning_text', text: '' };
    yield this.event('response.content_part.added', { item_id: item.id, output_index: item.outputIndex, content_index: 0, part });
  }

  private *closeText(status: string): Generator<SseEvent> {
    const item = this.text;
    if (!item) return;
    this.text = undefined;
    const at = { item_id: item.id, output_index: item.outputIndex, content_index: 0 };
    const message = item.kind === 'message';
    yield this.event(message ? 'response.output_text.done' : 'response.reasoning_text.done', { ...at, text: item.text, ...(message ? { logprobs: [] } : {}) });
    const part = message ? outputTextPart(item.text) : { type: 'reasoning_text', text: item.text };
    yield this.event('response.content_part.done', { ...at, part });
    const done = message ? messageItem(item.id, item.text, status) : reasoningItem(item.id, item.text);
    this.output[item.outputIndex] = done;
    yield this.event('response.output_item.done', { output_index: item.outputIndex, item: done });
  }

  private *callDelta(delta: NonNullable<ChatDelta['tool_calls']>[number]): Generator<SseEvent> {
    const index = typeof delta?.index === 'number' ? delta.index : 0;
    let call = this.calls.get(index);
    if (!call) {
      call = { id: newId('fc'), outputIndex: undefined, callId: '', name: '', args: '', done: false };
      this.calls.set(index, call);
    }
    if (typeof delta.id === 'string' && delta.id && !call.callId) call.callId = delta.id;
    const fn = delta.function ?? {};
    if (typeof fn.name === 'string' && call.outputIndex === undefined) call.name += fn.name;
    const args = typeof fn.arguments === 'string' ? fn.arguments : '';
    call.args += args;
    if (call.outputIndex === undefined) {
      // Clients announce a tool call by name, so the item opens once the name is known; arguments so far follow at once.
      if (call.name) yield* this.openCall(call, call.args);
      return;
    }
    if (args) yield this.event('response.function_call_arguments.delta', { item_id: call.id, output_index: call.outputIndex, delta: args });
  }

  private *openCall(call: CallItem, pending: string): Generator<SseEvent> {
    yield* this.closeText('completed');
    call.callId ||= newId('call');
    call.outputIndex = this.output.length;
    this.output.push(undefined);
    yield this.event('response.output_item.added', {
      output_index: call.outputIndex,
      item: functionCallItem(call.id, call.callId, call.name, '', 'in_progress'),
    });
    if (pending) yield this.event('response.function_call_arguments.delta', { item_id: call.id, output_index: call.outputIndex, delta: pending });
  }

  private *closeCall(call: CallItem): Generator<SseEvent> {
    if (call.done) return;
    if (call.outputIndex === undefined) yield* this.openCall(call, call.args);
    call.done = true;
    const at = { item_id: call.id, output_index: call.outputIndex! };
    yield this.event('response.function_call_arguments.done', { ...at, name: call.name, arguments: call.args });
    const done = functionCallItem(call.id, call.callId, call.name, call.args, 'completed');
    this.output[call.outputIndex!] = done;
    yield this.event('response.output_item.done', { output_index: call.outputIndex!, item: done });
  }
}
