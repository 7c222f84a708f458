/**
 * Tokens per minute per key (`--tpm`). A call counts its hold (prompt estimate + max tokens) in the current
 * minute when it starts, only if that keeps the minute within the key's limit, and its real tokens once it ends
 * (the difference is given back or added). With `rate_limit.store: redis` the counts live in Redis and every
 * instance shares them; otherwise in memory. A store failure answers per `rate_limit.on_store_error`.
 */
import { RateLimitExceededError, ServiceUnavailableError } from '../errors/gateway-error.ts';
import type { SendCommand } from '../redis.ts';

const WINDOW_MS = 60_000;

/** What a call counted, to be corrected once its real tokens are known. */
export interface TokenHold {
  window: string;
  tokens: number;
}

export interface TokenWindowStore {
  /** Adds `tokens` to the window when the total stays within `limit`; else adds nothing. Returns the count before. */
  take(window: string, tokens: number, limit: number, ttlMs: number): Promise<{ ok: boolean; used: number }>;
  /** Adds `delta` (negative: gives back) to the window, if it has not expired yet. */
  adjust(window: string, delta: number): Promise<void>;
}

export class MemoryWindows implements TokenWindowStore {
  private readonly windows = new Map<string, { count: number; expiresAt: number }>();
  private lastSweep = Date.now();

  async take(window: string, tokens: number, limit: number, ttlMs: number): Promise<{ ok: boolean; used: number }> {
    this.sweep();
    const entry = this.windows.get(window) ?? { count: 0, expiresAt: Date.now() + ttlMs };
    if (entry.count + tokens > limit) return { ok: false, used: entry.count };
    entry.count += tokens;
    this.windows.set(window, entry);
    return { ok: true, used: entry.count - tokens };
  }

  async adjust(window: string, delta: number): Promise<void> {
    const entry = this.windows.get(window);
    if (entry) entry.count = Math.max(0, entry.count + delta);
  }

  /** Past windows are dropped every few seconds, so keys that stopped calling leave nothing behind. */
  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < 5000) return;
    this.lastSweep = now;
    for (const [window, entry] of this.windows) if (entry.expiresAt <= now) this.windows.delete(window);
  }
}

/** Check-and-add in one script, so two instances can never both fit into the last tokens of a minute. */
const TAKE_SCRIPT = `local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, used} end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, used}`;

const ADJUST_SCRIPT = `if redis.call('EXISTS', KEYS[1]) == 1 then
  local left = redis.call('INCRBY', KEYS[1], ARGV[1])
  if left < 0 then redis.call('SET', KEYS[1], 0, 'KEEPTTL') end
end
return 0`;

export class RedisWindows implements TokenWindowStore {
  constructor(private readonly sendCommand: SendCommand) {}

  async take(window: string, tokens: number, limit: number, ttlMs: number): Promise<{ ok: boolean; used: number }> {
    const [ok, used] = (await this.sendCommand('EVAL', TAKE_SCRIPT, '1', window, String(tokens), String(limit), String(ttlMs))) as number[];
    return { ok: ok === 1, used: Number(used) };
  }

  async adjust(window: string, delta: number): Promise<void> {
    await this.sendCommand('EVAL', ADJUST_SCRIPT, '1', window, String(delta));
  }
}

export interface TokenLimiterOptions {
  store: TokenWindowStore;
  /** Key prefix of the windows (the rate limits' own prefix). */
  prefix: string;
  /** True: a store that fails lets calls through; false: they get 503. */
  allowOnStoreError: boolean;
  onStoreError: (error: Error) => void;
}

export class TokenLimiter {
  constructor(private readonly options: TokenLimiterOptions) {}

  /** Counts `tokens` against the key's minute, or throws the 429 with Retry-After (seconds to the next minute). */
  async take(keyId: string, tpm: number, tokens: number, now = Date.now()): Promise<TokenHold | undefined> {
    const start = Math.floor(now / WINDOW_MS) * WINDOW_MS;
    const window = `${this.options.prefix}tpm:${keyId}:${start}`;
    let taken: { ok: boolean; used: number };
    try {
      // Kept a minute past its end, so a long call can still correct its count.
      taken = await this.options.store.take(window, tokens, tpm, 2 * WINDOW_MS);
    } catch (error) {
      this.options.onStoreError(error as Error);
      if (this.options.allowOnStoreError) return undefined;
      throw new ServiceUnavailableError('Rate limiting is unavailable right now.');
    }
    if (taken.ok) return { window, tokens };
    const retryAfterS = Math.max(1, Math.ceil((start + WINDOW_MS - now) / 1000));
    if (tokens > tpm) {
      throw new RateLimitExceededError(
        `This request may use up to ${tokens} tokens (its prompt plus max_tokens, or the gateway's default when it sets none), more than this key's ${tpm} tokens per minute; set a lower max_tokens.`,
        retryAfterS,
      );
    }
    throw new RateLimitExceededError(
      `Rate limit exceeded: ${tpm} tokens per minute for this key, ${taken.used} in use and this request may use up to ${tokens}. Retry in ${retryAfterS}s.`,
      retryAfterS,
    );
  }

  /** Replaces the hold by the tokens the call really used. */
  settle(hold: TokenHold, usedTokens: number): void {
    const delta = usedTokens - hold.tokens;
    if (delta === 0) return;
    this.options.store.adjust(hold.window, delta).catch((error: Error) => this.options.onStoreError(error));
  }
}
