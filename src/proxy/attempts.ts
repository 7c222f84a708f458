/**
 * Retries and fallbacks: each target is tried up to `retries.attempts` more times on retryable failures (connect
 * errors, 429, 502/503/504) with jittered exponential backoff that honours `Retry-After`; then the next target.
 * Nothing here runs after a stream's first byte reached the client: callers only retry what has not started.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError, toGatewayError, UpstreamRequestError } from '../errors/gateway-error.ts';
import type { Logger } from '../logging.ts';
import { PartialUsageError } from '../metering/partial-usage.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Target } from '../plugins/registry.ts';
import type { CallRecord } from './call-record.ts';

export interface AttemptDeps {
  logger: Logger;
  metrics: GatewayMetrics;
}

export interface Served<T> {
  result: T;
  target: Target;
}

export async function withAttempts<T>(deps: AttemptDeps, call: CallRecord, targets: readonly Target[], run: (target: Target) => Promise<T>): Promise<Served<T>> {
  let last: GatewayError | undefined;
  for (const target of targets) {
    const { retries } = target.provider.entry;
    for (let attempt = 0; ; attempt++) {
      call.attempts++;
      call.provider = target.provider.name;
      try {
        const result = await run(target);
        deps.metrics.upstreamAttempts.inc({ provider: target.provider.name, outcome: 'ok' });
        return { result, target };
      } catch (error) {
        if (call.clientGone && !(error instanceof PartialUsageError)) throw call.abort.signal.reason;
        last = toGatewayError(error, target.provider.plugin);
        const delayMs = attempt < retries.attempts && last.retryable ? retryDelayMs(attempt, last, retries) : undefined;
        noteFailure(deps, call, target, attempt, last, delayMs);
        // Output already generated is charged, so it ends the request: a retry or a fallback would generate it again.
        if (last instanceof PartialUsageError) throw last;
        // A 4xx the upstream blames on the request would fail the same way anywhere.
        if (last instanceof UpstreamRequestError) throw last;
        if (delayMs === undefined) break;
        await sleep(delayMs, undefined, { signal: call.abort.signal }).catch(() => undefined);
        if (call.clientGone) throw call.abort.signal.reason;
      }
    }
  }
  throw last!;
}

function noteFailure(deps: AttemptDeps, call: CallRecord, target: Target, attempt: number, error: GatewayError, retryInMs: number | undefined): void {
  deps.metrics.upstreamAttempts.inc({ provider: target.provider.name, outcome: error.code ?? 'error' });
  deps.metrics.upstreamErrors.inc({ provider: target.provider.name, code: error.code ?? 'error' });
  deps.logger.warn('upstream attempt failed', {
    requestId: call.requestId,
    provider: target.provider.name,
    attempt: attempt + 1,
    status: error.status,
    code: error.code,
    retryInMs: retryInMs ?? null,
  });
}

/** Full-jitter exponential backoff, but never sooner than the upstream's `Retry-After`; undefined when that is too long to wait. */
export function retryDelayMs(attempt: number, error: GatewayError, retries: { base_ms: number; max_ms: number }): number | undefined {
  const backoff = Math.random() * Math.min(retries.max_ms, retries.base_ms * 2 ** attempt);
  if (error.retryAfterS === undefined) return Math.round(backoff);
  const asked = error.retryAfterS * 1000;
  return asked > retries.max_ms ? undefined : Math.round(Math.max(asked, backoff));
}
