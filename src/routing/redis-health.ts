/**
 * Routing state shared through Redis (`rate_limit.store: redis`): cooldowns and in-flight counts per target.
 * Kept off the request path: a background sync every `SYNC_MS` writes this instance's in-flight counts and reads
 * the others' counts and every cooldown in one script; requests read the cached copy. A cooldown is published as
 * it starts (awaited briefly, on the failure path only). Which target holds a stored Responses response is written
 * as it is served and read only by a call continuing a response this instance did not serve. Each instance's counts live in a hash with a TTL, so a
 * crashed instance's counts vanish. When Redis fails, each instance routes on its own state, and says so (throttled).
 */
import type { Logger } from '../logging.ts';
import type { SendCommand } from '../redis.ts';
import type { Cooldown, CooldownReason, SharedHealth } from './health-book.ts';

export const SYNC_MS = 200;
/** An instance silent this long is gone: its in-flight counts no longer count. */
export const INSTANCE_TTL_MS = 10_000;
/** How long a failing request waits for Redis to take its cooldown before moving on. */
const PUBLISH_WAIT_MS = 250;
const LOG_EVERY_MS = 5000;
/** How long the owner of a stored response is remembered (OpenAI keeps stored responses for 30 days; chains rarely span a day). */
const RESPONSE_OWNER_TTL_MS = 24 * 3600_000;
/** A call continuing a response another instance served waits this long at most to learn where it lives. */
const LOOKUP_WAIT_MS = 100;

/** Writes this instance's counts; returns every target's cooldown ('' when none), then the others' in-flight sums. */
const SYNC_SCRIPT = `
local now, ttl, me, prefix, n = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
local names = {}
for i = 1, n do names[i] = ARGV[5 + i] end
local busy = prefix .. 'busy:' .. me
for i = 1, n do redis.call('HSET', busy, names[i], ARGV[5 + n + i]) end
redis.call('PEXPIRE', busy, ttl)
redis.call('ZADD', KEYS[1], now, me)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local out = {}
for i = 1, n do out[i] = redis.call('GET', prefix .. 'cool:' .. names[i]) or '' end
for i = 1, n do out[n + i] = 0 end
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= me then
    local counts = redis.call('HMGET', prefix .. 'busy:' .. id, unpack(names))
    for i = 1, n do out[n + i] = out[n + i] + (tonumber(counts[i]) or 0) end
  end
end
return out`;

/** Sets a cooldown unless a later one is stored: a new cooldown never shortens a running one, on any instance. */
const PUBLISH_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  local deadline = tonumber(string.match(current, '^%d+'))
  if deadline and deadline >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])
return 1`;

export interface RedisHealthOptions {
  sendCommand: SendCommand;
  /** Key prefix, e.g. `switchyard:rl:route:`. */
  prefix: string;
  instanceId: string;
  names: readonly string[];
  localInFlight: () => Record<string, number>;
  clock: () => number;
  logger: Logger;
}

export class RedisHealth implements SharedHealth {
  private cooldowns = new Map<string, Cooldown>();
  private othersBusy = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private lastLog = 0;

  constructor(private readonly options: RedisHealthOptions) {}

  start(): this {
    this.timer = setInterval(() => void this.sync(), SYNC_MS);
    this.timer.unref();
    void this.sync();
    return this;
  }

  cooldown(name: string): Cooldown | undefined {
    return this.cooldowns.get(name);
  }

  othersInFlight(name: string): number {
    return this.othersBusy.get(name) ?? 0;
  }

  async publish(name: string, cooldown: Cooldown): Promise<void> {
    const ttl = Math.max(1, cooldown.until - this.options.clock());
    const told = this.options
      .sendCommand('EVAL', PUBLISH_SCRIPT, '1', this.key(`cool:${name}`), String(Math.round(cooldown.until)), cooldown.reason, String(Math.ceil(ttl)))
      .then(
        () => undefined,
        (error: Error) => this.failed(error),
      );
    await within(PUBLISH_WAIT_MS, told);
  }

  rememberResponse(responseId: string, provider: string): void {
    this.options.sendCommand('SET', this.key(`resp:${responseId}`), provider, 'PX', String(RESPONSE_OWNER_TTL_MS)).catch((error: Error) => this.failed(error));
  }

  async responseOwner(responseId: string): Promise<string | undefined> {
    let owner: string | undefined;
    const asked = this.options.sendCommand('GET', this.key(`resp:${responseId}`)).then(
      (reply) => {
        owner = typeof reply === 'string' ? reply : undefined;
      },
      (error: Error) => this.failed(error),
    );
    await within(LOOKUP_WAIT_MS, asked);
    return owner;
  }

  async refresh(): Promise<void> {
    await this.syncing;
    await this.sync();
  }

  /** Takes this instance's counts out of the shared state; a Redis that does not answer only delays it briefly. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const { sendCommand, instanceId } = this.options;
    const leave = (async () => {
      await this.syncing;
      await Promise.all([sendCommand('DEL', this.key(`busy:${instanceId}`)), sendCommand('ZREM', this.key('instances'), instanceId)]);
    })();
    await within(
      1000,
      leave.catch(() => undefined),
    );
  }

  /** One round trip: publish this instance's counts, take everyone's cooldowns and the others' counts. */
  private sync(): Promise<void> {
    this.syncing ??= this.runSync().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async runSync(): Promise<void> {
    const { names, instanceId } = this.options;
    if (names.length === 0) return;
    const local = this.options.localInFlight();
    const args = [
      String(Date.now()),
      String(INSTANCE_TTL_MS),
      instanceId,
      this.options.prefix,
      String(names.length),
      ...names,
      ...names.map((name) => String(local[name] ?? 0)),
    ];
    try {
      const reply = (await this.options.sendCommand('EVAL', SYNC_SCRIPT, '1', this.key('instances'), ...args)) as unknown[];
      this.cooldowns = new Map(names.flatMap((name, i) => parseCooldown(name, reply[i])));
      this.othersBusy = new Map(names.map((name, i) => [name, Number(reply[names.length + i]) || 0]));
    } catch (error) {
      // The others' counts are unknown now; their cooldowns stay until they end (each carries its own deadline).
      this.othersBusy = new Map();
      this.failed(error as Error);
    }
  }

  private failed(error: Error): void {
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.lastLog = now;
    this.options.logger.error("routing state store (Redis) failed: routing on this instance's own cooldowns and in-flight counts until it is back", {
      error: error.message,
    });
  }

  private key(suffix: string): string {
    return `${this.options.prefix}${suffix}`;
  }
}

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
async function within(ms: number, promise: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function parseCooldown(name: string, value: unknown): [string, Cooldown][] {
  if (typeof value !== 'string' || value === '') return [];
  const [until, reason] = value.split(' ');
  const at = Number(until);
  if (!Number.isFinite(at) || !['failures', 'rate_limited', 'auth'].includes(reason)) return [];
  return [[name, { until: at, reason: reason as CooldownReason }]];
}
