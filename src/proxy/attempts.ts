/**
 * Retries and fallbacks: each target is tried up to `retries.attempts` more times on retryable failures (connect
 * errors, 429, 502/503/504) with jittered exponential backoff that honours `Retry-After`; then the next target.
 * A target picked from a routing pool is tried once: its failure moves on to the pool's next target at once.
 * Every attempt holds a lease in the health book (in flight, outcome, cooldowns).
 * Nothing here runs after a stream's first byte reached the client: callers only retry what has not started.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError, toGatewayError, UpstreamRequestError } from '../errors/gateway-error.ts';
import type { Logger } from '../logging.ts';
import { PartialUsageError } from '../metering/partial-usage.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Target } from '../plugins/registry.ts';
import type { AttemptLease, HealthBook } from '../routing/health-book.ts';
import type { CallRecord } from './call-record.ts';

export interface AttemptDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  /** Absent (unit tests): attempts are not tracked. */
  health?: HealthBook;
}

export interface Served<T> {
  result: T;
  target: Target;
  /** With `holdLease`, the caller ends it when the answer is over (a stream's last byte); otherwise already ended. */
  lease: AttemptLease;
}

export interface AttemptOptions {
  /** The answer goes on after `run` resolves (a stream): the caller ends the lease, and `run`'s end marks the first byte. */
  holdLease?: boolean;
}

const UNTRACKED: AttemptLease = { firstByte: () => undefined, end: () => Promise.resolve() };

export async function withAttempts<T>(
  deps: AttemptDeps,
  call: CallRecord,
  targets: readonly Target[],
  run: (target: Target) => Promise<T>,
  options: AttemptOptions = {},
): Promise<Served<T>> {
  let last: GatewayError | undefined;
  for (const target of targets) {
    const { retries } = target.provider.entry;
    const maxRetries = target.routed ? 0 : retries.attempts;
    for (let attempt = 0; ; attempt++) {
      call.attempts++;
      call.provider = target.provider.name;
      const lease = deps.health?.begin(target.provider.name) ?? UNTRACKED;
      try {
        const result = await run(target);
        deps.metrics.upstreamAttempts.inc({ provider: target.provider.name, outcome: 'ok' });
        if (options.holdLease) lease.firstByte();
        else void lease.end();
        return { result, target, lease };
      } catch (error) {
        if (call.clientGone && !(error instanceof PartialUsageError)) {
          void lease.end(call.abort.signal.reason);
          throw call.abort.signal.reason;
        }
        last = toGatewayError(error, target.provider.plugin);
        // Awaited so that a cooldown this failure starts is known to every instance before the next attempt.
        await lease.end(last);
        const delayMs = attempt < maxRetries && last.retryable ? retryDelayMs(attempt, last, retries) : undefined;
        reportFailure(deps, call, target, attempt, last, delayMs);
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

function reportFailure(deps: AttemptDeps, call: CallRecord, target: Target, attempt: number, error: GatewayError, delayMs: number | undefined): void {
  const provider = target.provider.name;
  deps.metrics.upstreamAttempts.inc({ provider, outcome: error.code ?? 'error' });
  deps.metrics.upstreamErrors.inc({ provider, code: error.code ?? 'error' });
  deps.logger.warn('upstream attempt failed', {
    requestId: call.requestId,
    provider,
    attempt: attempt + 1,
    status: error.status,
    code: error.code,
    retryInMs: delayMs ?? null,
  });
}

/** Full-jitter exponential backoff, but never sooner than the upstream's `Retry-After`; undefined when that is too long to wait. */
export function retryDelayMs(attempt: number, error: GatewayError, retries: { base_ms: number; max_ms: number }): number | undefined {
  const backoff = Math.random() * Math.min(retries.max_ms, retries.base_ms * 2 ** attempt);
  if (error.retryAfterS === undefined) return Math.round(backoff);
  const asked = error.retryAfterS * 1000;
  return asked > retries.max_ms ? undefined : Math.round(Math.max(asked, backoff));
}
