/** What the JSON and the stream relays share: their dependencies, the body per target, the call context, token counts. */
import type { Logger } from '../logging.ts';
import type { Meter } from '../metering/meter.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { JsonObject } from '../plugin-sdk.ts';
import type { ProviderRegistry, Target } from '../plugins/registry.ts';
import type { CallRecord } from './call-record.ts';
import type { OperationContext } from './operation.ts';

export interface ProxyDeps {
  registry: ProviderRegistry;
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
  return { requestId: call.requestId, signal: call.abort.signal, keyId: call.keyId };
}

export function countTokens(deps: ProxyDeps, call: CallRecord): void {
  const provider = call.provider ?? 'none';
  if (call.promptTokens) deps.metrics.tokens.inc({ provider, kind: 'prompt' }, call.promptTokens);
  if (call.completionTokens) deps.metrics.tokens.inc({ provider, kind: 'completion' }, call.completionTokens);
}
