/** What the JSON and the stream relays share: their dependencies, the body per target, the call context, token counts. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../logging.ts';
import type { Meter } from '../metering/meter.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { JsonObject } from '../plugin-sdk.ts';
import type { ProviderRegistry, Target } from '../plugins/registry.ts';
import type { HealthBook } from '../routing/health-book.ts';
import type { Router } from '../routing/router.ts';
import type { CallRecord } from './call-record.ts';
import type { OperationContext } from './operation.ts';

export interface ProxyDeps {
  registry: ProviderRegistry;
  /** Routing pools; absent: the registry alone picks targets. */
  router?: Router;
  health?: HealthBook;
  meter: Meter;
  logger: Logger;
  metrics: GatewayMetrics;
  defaultMaxTokens: number;
  /** Bounds how long a stream waits for a client that stopped reading. */
  writeStallMs: number;
}

/** The body for one target: a fallback may ask its provider for a model under another name. */
export function bodyFor(target: Target, body: JsonObject): JsonObject {
  return target.model === body.model ? body : { ...body, model: target.model };
}

export function callContext(call: CallRecord): OperationContext {
  const context: OperationContext = { requestId: call.requestId, signal: call.abort.signal, keyId: call.keyId };
  if (call.clientHeaders) context.clientHeaders = call.clientHeaders;
  if (call.outputCap > 0) context.maxOutputTokens = call.outputCap;
  return context;
}

/** The allowed headers the client sent, by lower-case name. */
export function pickClientHeaders(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (typeof value === 'string') picked[name] = value;
    else if (Array.isArray(value)) picked[name] = value.join(',');
  }
  return picked;
}

export function countTokens(deps: ProxyDeps, call: CallRecord): void {
  const provider = call.provider ?? 'none';
  if (call.promptTokens) deps.metrics.tokens.inc({ provider, kind: 'prompt' }, call.promptTokens);
  if (call.completionTokens) deps.metrics.tokens.inc({ provider, kind: 'completion' }, call.completionTokens);
}
