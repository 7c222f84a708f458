/**
 * The generic model-call handler: validate → resolve provider → check the key's models → reserve → call the
 * plugin (with retries and fallbacks) → answer as JSON or as a stream → price the usage. The CallRecord then
 * becomes the usage row and the settlement.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
import type { KeyRecord } from '../db/keys-repo.ts';
import { ModelNotAllowedError } from '../errors/gateway-error.ts';
import type { Logger } from '../logging.ts';
import { Meter } from '../metering/meter.ts';
import { PartialUsageError } from '../metering/partial-usage.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { JsonObject } from '../plugin-sdk.ts';
import type { ProviderRegistry, Target } from '../plugins/registry.ts';
import type { HealthBook } from '../routing/health-book.ts';
import type { Router } from '../routing/router.ts';
import { sendError, toClientError } from '../middleware/error-handler.ts';
import { compileGlobs, stripModelSuffix } from '../util/glob.ts';
import { withAttempts } from './attempts.ts';
import { ClientClosedError, type CallRecord } from './call-record.ts';
import type { Operation, OperationContext, ParsedCall } from './operation.ts';
import { relayStream } from './relay-stream.ts';
import { withGatewayUsage } from './wire.ts';

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

export function proxyHandler(deps: ProxyDeps, operation: Operation): RequestHandler {
  return async function proxyCall(req, res) {
    const call = res.locals.call!;
    const key = res.locals.key!;
    call.retain();
    try {
      const parsed = operation.parse(req.body as JsonObject);
      call.model = parsed.model;
      call.stream = parsed.stream;
      if (operation.clientHeaders) call.clientHeaders = pickClientHeaders(req.headers, operation.clientHeaders);
      const targets = deps.router
        ? await deps.router.resolve({ model: parsed.model, provider: parsed.provider, body: req.body as JsonObject, keyId: key.id })
        : deps.registry.resolve(parsed.model, parsed.provider);
      call.provider = targets[0].provider.name;
      assertModelAllowed(key, parsed.model);
      operation.check?.(req.body as JsonObject, targets[0]);
      const cap = parsed.generates ? (parsed.maxOutputTokens ?? deps.defaultMaxTokens) : 0;
      call.outputCap = cap;
      await deps.meter.reserve(call, key, targets, parsed.promptTokens, cap);
      // What was held (money, or tokens per minute) bounds the output: the upstream is told the same cap.
      const outputCap = parsed.generates && (Meter.isMetered(key) || key.tpm !== null) && parsed.maxOutputTokens === undefined ? cap : undefined;
      // SPEC §3: the `provider` field picks an entry and never goes upstream, whatever the endpoint.
      const { provider: _provider, ...upstream } = req.body as JsonObject;
      const body = operation.prepare?.(upstream, parsed, outputCap) ?? upstream;
      if (parsed.stream) await relayStream(deps, operation, call, res, targets, body, parsed);
      else await relayJson(deps, operation, call, res, targets, body, parsed);
    } catch (error) {
      if (error instanceof PartialUsageError) chargePartial(deps, call, error);
      if (error instanceof ClientClosedError || call.clientGone) {
        call.status = 499;
        call.errorCode = 'client_closed_request';
      } else {
        sendError(res, toClientError(error, deps.logger, call.requestId));
      }
    } finally {
      call.release();
    }
  };
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

async function relayJson(
  deps: ProxyDeps,
  operation: Operation,
  call: CallRecord,
  res: Parameters<RequestHandler>[1],
  targets: readonly Target[],
  body: JsonObject,
  parsed: ParsedCall,
): Promise<void> {
  const context = callContext(call);
  const { result, target } = await withAttempts(deps, call, targets, (t) => operation.json(t, bodyFor(t, body), context, parsed));
  if (call.endpoint === 'responses') deps.router?.served(target, result.body.id);
  const usage = deps.meter.charge(call, operation.usageOf(result.body, parsed), target);
  countTokens(deps, call);
  call.status = 200;
  const text = result.raw !== undefined ? withGatewayUsage(result.raw, usage) : JSON.stringify({ ...result.body, gateway_usage: usage });
  // Node's own writeHead/end: express's send() would also check request freshness and re-derive headers.
  res.writeHead(200, { ...result.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A request that failed after part of it was generated is charged for that part (the hold caps it, as always). */
function chargePartial(deps: ProxyDeps, call: CallRecord, error: PartialUsageError): void {
  deps.meter.charge(call, error.usage, error.target);
  countTokens(deps, call);
}

export function countTokens(deps: ProxyDeps, call: CallRecord): void {
  const provider = call.provider ?? 'none';
  if (call.promptTokens) deps.metrics.tokens.inc({ provider, kind: 'prompt' }, call.promptTokens);
  if (call.completionTokens) deps.metrics.tokens.inc({ provider, kind: 'completion' }, call.completionTokens);
}

const allowedModels = new WeakMap<KeyRecord, (model: string) => boolean>();

/** `--models` globs follow the provider glob rules (SPEC §6). */
export function assertModelAllowed(key: KeyRecord, model: string): void {
  if (!key.models) return;
  let matches = allowedModels.get(key);
  if (!matches) {
    matches = compileGlobs(key.models);
    allowedModels.set(key, matches);
  }
  if (!matches(stripModelSuffix(model))) throw new ModelNotAllowedError(model);
}
