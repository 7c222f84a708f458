/**
 * The health of every provider entry: calls in flight, cooldowns and recent stats. Every upstream attempt takes a
 * lease here and gives it back with its outcome; routing reads it to skip cooling targets and rank the rest.
 */
import type { CooldownConfig } from '../config/schema.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from '../logging.ts';
import { TargetStats } from './target-stats.ts';

export type CooldownReason = 'failures' | 'rate_limited' | 'auth';

export interface Cooldown {
  /** Clock ms when the target may be used again. */
  until: number;
  reason: CooldownReason;
}

/** State other instances share (Redis); read from a cache, never waited for on a request's way. */
export interface SharedHealth {
  cooldown(name: string): Cooldown | undefined;
  /** Calls in flight to `name` on the other instances. */
  othersInFlight(name: string): number;
  /** Tells the other instances; resolves when told, or soon after if the store does not answer. */
  publish(name: string, cooldown: Cooldown): Promise<void>;
  /** Records which target holds a stored response (fire-and-forget). */
  rememberResponse(responseId: string, provider: string): void;
  /** The target holding a stored response another instance served; undefined when unknown or the store is down. */
  responseOwner(responseId: string): Promise<string | undefined>;
  /** Pulls the other instances' state now (the admin view wants it fresh). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/** One upstream attempt, from its start to its last byte. */
export interface AttemptLease {
  /** The answer started arriving: a stream's first event. */
  firstByte(): void;
  /** The attempt is over, successfully when `error` is undefined; resolves once a cooldown it caused is published. */
  end(error?: unknown): Promise<void>;
}

type Verdict = { kind: 'auth' } | { kind: 'rate'; retryAfterMs: number | undefined } | { kind: 'failure' } | { kind: 'neutral' };

/** What an attempt's error says about the target (not about the request or the client). */
export function classify(error: unknown): Verdict {
  if (!(error instanceof GatewayError)) return { kind: 'neutral' };
  if (error.upstreamStatus === 401 || error.upstreamStatus === 403 || error.code === 'provider_not_configured') return { kind: 'auth' };
  if (error.code === 'upstream_rate_limited') return { kind: 'rate', retryAfterMs: error.retryAfterS === undefined ? undefined : error.retryAfterS * 1000 };
  // 502 (errors, garbage, cut bodies), 503 (unreachable, refused, reset, overloaded) and 504 (timeouts).
  if (error.status >= 500) return { kind: 'failure' };
  return { kind: 'neutral' };
}

interface TargetState {
  inFlight: number;
  consecutiveFailures: number;
  cooldown: Cooldown | undefined;
  readonly stats: TargetStats;
}

export interface HealthOptions {
  cooldown: CooldownConfig;
  /** Epoch ms; injectable so tests move time instead of sleeping. */
  clock: () => number;
  logger: Logger;
}

export class HealthBook {
  private readonly states = new Map<string, TargetState>();
  shared: SharedHealth | undefined;

  constructor(
    names: readonly string[],
    private readonly options: HealthOptions,
  ) {
    for (const name of names) this.states.set(name, { inFlight: 0, consecutiveFailures: 0, cooldown: undefined, stats: new TargetStats() });
  }

  get names(): string[] {
    return [...this.states.keys()];
  }

  now(): number {
    return this.options.clock();
  }

  begin(name: string): AttemptLease {
    const state = this.state(name);
    state.inFlight++;
    const started = performance.now();
    let ttftMs: number | undefined;
    let ended = false;
    return {
      firstByte: () => {
        ttftMs ??= Math.round(performance.now() - started);
      },
      end: (error) => {
        if (ended) return Promise.resolve();
        ended = true;
        state.inFlight--;
        return this.settle(name, state, error, Math.round(performance.now() - started), ttftMs);
      },
    };
  }

  /** The running cooldown of `name`, this instance's or another's, whichever ends later; undefined when none. */
  cooldownOf(name: string): Cooldown | undefined {
    const now = this.now();
    const own = this.states.get(name)?.cooldown;
    const shared = this.shared?.cooldown(name);
    const live = [own, shared].filter((cooldown): cooldown is Cooldown => cooldown !== undefined && cooldown.until > now);
    if (live.length === 0) return undefined;
    return live.reduce((longest, cooldown) => (cooldown.until > longest.until ? cooldown : longest));
  }

  /** Calls in flight to `name` on every instance (the others' as of the last sync). */
  inFlight(name: string): number {
    return (this.states.get(name)?.inFlight ?? 0) + (this.shared?.othersInFlight(name) ?? 0);
  }

  localInFlight(): Record<string, number> {
    return Object.fromEntries([...this.states].map(([name, state]) => [name, state.inFlight]));
  }

  stats(name: string): TargetStats {
    return this.state(name).stats;
  }

  /**
   * Starts a cooldown unless a longer one is running: a new cooldown never shortens a running one. Resolves once
   * the other instances were told.
   */
  cool(name: string, until: number, reason: CooldownReason): Promise<void> {
    const current = this.cooldownOf(name);
    if (current && current.until >= until) return Promise.resolve();
    const cooldown = { until, reason };
    const state = this.state(name);
    state.cooldown = cooldown;
    state.consecutiveFailures = 0;
    const fields = { provider: name, reason, until: new Date(until).toISOString(), coolingMs: until - this.now() };
    // Calls that name a cooling entry directly extend its cooldown; one line when it starts is enough.
    if (current?.reason === reason) {
      this.options.logger.debug('provider entry cooldown extended', fields);
    } else if (reason === 'auth') {
      this.options.logger.error(
        'provider entry rejected its credentials (upstream 401/403 or no key): check its api_key; it gets no routed traffic until the cooldown ends',
        fields,
      );
    } else {
      this.options.logger.warn('provider entry cooling down', fields);
    }
    return this.shared?.publish(name, cooldown) ?? Promise.resolve();
  }

  private settle(name: string, state: TargetState, error: unknown, latencyMs: number, ttftMs: number | undefined): Promise<void> {
    const now = this.now();
    const verdict = error === undefined ? undefined : classify(error);
    // Every attempt is a request; only failures that count toward a cooldown are the target's errors.
    state.stats.record(now, verdict === undefined || verdict.kind === 'neutral', latencyMs, ttftMs);
    if (verdict === undefined) {
      state.consecutiveFailures = 0;
      state.stats.measure(now, ttftMs ?? latencyMs);
      return Promise.resolve();
    }
    const { cooldown } = this.options;
    switch (verdict.kind) {
      case 'auth':
        return this.cool(name, now + cooldown.auth_duration_ms, 'auth');
      case 'rate':
        return this.cool(name, now + (verdict.retryAfterMs ?? cooldown.duration_ms), 'rate_limited');
      case 'failure':
        if (++state.consecutiveFailures >= cooldown.failures) return this.cool(name, now + cooldown.duration_ms, 'failures');
        return Promise.resolve();
      default:
        return Promise.resolve();
    }
  }

  private state(name: string): TargetState {
    let state = this.states.get(name);
    if (!state) {
      state = { inFlight: 0, consecutiveFailures: 0, cooldown: undefined, stats: new TargetStats() };
      this.states.set(name, state);
    }
    return state;
  }
}
