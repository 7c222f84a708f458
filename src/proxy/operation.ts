/** The contract between the generic proxy handler and one endpoint (chat completions, responses, legacy completions, embeddings). */
import type { GatewayError } from '../errors/gateway-error.ts';
import type { GatewayUsage, TokenUsage } from '../metering/meter.ts';
import type { CallContext, JsonObject, JsonResult, StreamResult } from '../plugin-sdk.ts';
import type { Target } from '../plugins/registry.ts';
import type { SseEvent } from '../upstream/sse.ts';
import type { Endpoint } from './call-record.ts';

/** What the core needs to know of a request before sending it. */
export interface ParsedCall {
  model: string;
  stream: boolean;
  /** The body's `provider` field, as sent (validated by the registry). */
  provider: unknown;
  /** Prompt tokens counted by the gateway. */
  promptTokens: number;
  /** The output bound the client set; undefined when it set none. */
  maxOutputTokens: number | undefined;
  /** False for embeddings: nothing to reserve beyond the input. */
  generates: boolean;
  /** Streams: whether the client asked for the final usage event. */
  clientWantsUsage: boolean;
}

/** Watches a stream's events on their way to the client: usage, errors, the end; may hold an event back. */
export interface StreamMeter {
  inspect(event: SseEvent): 'forward' | 'hold' | 'done' | GatewayError;
  /** The upstream's usage, or the gateway's own count of what was streamed. */
  usage(): TokenUsage;
  /** Events to send after the last upstream one, once the cost is known (the usage chunk, a held completion). */
  closing(usage: GatewayUsage): SseEvent[];
  /** The last event of a stream that failed midway. */
  errorEvent(error: GatewayError): SseEvent;
  /** Chat streams end with `data: [DONE]`; Responses streams end with their terminal event. */
  readonly doneMarker: boolean;
}

/** What an operation gets for one call: the plugin's CallContext plus the calling key. */
export interface OperationContext extends CallContext {
  /** Scopes what an operation remembers between one key's calls (the Responses items `item_reference` points at). */
  keyId: string | null;
}

export interface Operation {
  endpoint: Endpoint;
  /**
   * Client headers (lower-case names) a native passthrough forwards unchanged, copied into the call's
   * `clientHeaders` (e.g. `anthropic-version` on `/v1/messages`); never auth headers.
   */
  clientHeaders?: readonly string[];
  /** Throws InvalidRequestError for a malformed body. */
  parse(body: JsonObject): ParsedCall;
  /**
   * Throws InvalidRequestError for what the primary target cannot serve (a translated dialect's fields with no chat
   * counterpart), before anything is reserved or sent. Absent: every target takes every valid body.
   */
  check?(body: JsonObject, target: Target): void;
  /**
   * Adjusts the upstream body (a copy, `provider` already removed, the operation's to change); `outputCap` is set
   * when a metered call must bound its output to what it reserved. Absent: the body goes as it is.
   */
  prepare?(body: JsonObject, parsed: ParsedCall, outputCap: number | undefined): JsonObject;
  json(target: Target, body: JsonObject, call: OperationContext, parsed: ParsedCall): Promise<JsonResult>;
  stream(target: Target, body: JsonObject, call: OperationContext, parsed: ParsedCall): Promise<StreamResult>;
  usageOf(body: JsonObject, parsed: ParsedCall): TokenUsage;
  /** A fresh meter for one stream, once the serving target is known. */
  meter(parsed: ParsedCall, target: Target): StreamMeter;
}
