/**
 * LeaseBook: reservations without a database round trip. Per key, this instance holds a lease (money and trial
 * tokens already taken off the key's balance); a request reserves its worst case from the lease in memory, and only
 * when the lease runs short is it grown by one conditional update. Leases grow ahead of demand (doubling under load)
 * and go back to the key when idle, so a nearly spent key degrades to one exact update per request. A key with a
 * budget gets one lease per period: when a period ends its lease goes idle and back, and the next request grows a
 * lease against the new period, while requests that began in the old one still settle against the old lease.
 */
import { GatewayError, ServiceUnavailableError } from '../errors/gateway-error.ts';
import { isConnectionError } from '../db/sql.ts';
import type { Db } from '../db/knex.ts';
import type { Logger } from '../logging.ts';
import { CREDITS_ONLY, growLease, refusal, returnLease, type LeaseRef, type LeaseScope, type Settlement } from './ledger.ts';

/** What one request holds until it settles. */
export interface Hold extends LeaseScope {
  keyId: string;
  leaseId: string;
  micro: number;
  tokens: number;
}

interface Lease extends LeaseRef {
  leasedMicro: number;
  leasedTokens: number;
  heldMicro: number;
  heldTokens: number;
  /** Charges settled in memory and queued, not yet committed. */
  owedMicro: number;
  owedTokens: number;
  lastActive: number;
  /** When it last grew: a lease grown after a renewal began cannot be judged by that renewal. */
  grownAt: number;
  /** Charged since it last grew: the spending rate a busy lease grows by. */
  spentMicro: number;
  spentTokens: number;
  /** A database operation on this lease in progress; others wait for it. */
  busy: Promise<void> | undefined;
}

export interface LeaseOptions {
  ttlMs: number;
  /** A grown lease covers this many more requests like the one that asked. */
  prefetch: number;
  /** An unused lease goes back to its key after this long. */
  idleMs: number;
}

/** A busy lease grows by what it spends in this long (see `grow`). */
const SPEND_WINDOW_MS = 1000;

export class LeaseBook {
  private readonly leases = new Map<string, Lease>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly instanceId: string,
    private readonly logger: Logger,
    private readonly options: LeaseOptions,
  ) {}

  start(): void {
    this.sweeper = setInterval(() => void this.returnIdle(this.options.idleMs), Math.max(100, this.options.idleMs / 2));
    this.sweeper.unref();
  }

  /** Holds `micro` and `tokens` for one request, growing the lease when it is short; throws the 402 otherwise. */
  async reserve(keyId: string, micro: number, tokens: number, scope: LeaseScope = CREDITS_ONLY): Promise<Hold> {
    for (;;) {
      const lease = this.leaseOf(keyId, scope);
      if (available(lease, 'Micro') >= micro && available(lease, 'Tokens') >= tokens) {
        lease.heldMicro += micro;
        lease.heldTokens += tokens;
        lease.lastActive = Date.now();
        return { keyId, leaseId: lease.id, micro, tokens, fromBalance: lease.fromBalance, budgetPeriod: lease.budgetPeriod };
      }
      if (lease.busy) {
        await lease.busy.catch(() => undefined);
        continue;
      }
      lease.busy = this.grow(lease, micro, tokens).finally(() => (lease.busy = undefined));
      await lease.busy;
    }
  }

  private leaseIdOf(keyId: string, scope: LeaseScope): string {
    return scope.budgetPeriod === null && scope.fromBalance
      ? `${this.instanceId}:${keyId}`
      : `${this.instanceId}:${keyId}:${scope.fromBalance ? 'b' : 'u'}${scope.budgetPeriod ?? ''}`;
  }

  /** The lease of a key in a scope; its id names the scope, so a new period (or a key gaining credits) is a new lease. */
  private leaseOf(keyId: string, scope: LeaseScope): Lease {
    const id = this.leaseIdOf(keyId, scope);
    let lease = this.leases.get(id);
    if (!lease) {
      lease = {
        id,
        keyId,
        instanceId: this.instanceId,
        ...scope,
        leasedMicro: 0,
        leasedTokens: 0,
        heldMicro: 0,
        heldTokens: 0,
        owedMicro: 0,
        owedTokens: 0,
        lastActive: Date.now(),
        grownAt: 0,
        spentMicro: 0,
        spentTokens: 0,
        busy: undefined,
      };
      this.leases.set(id, lease);
    }
    return lease;
  }

  /**
   * Grows by the shortfall plus a prefetch: at least what is in use, and, for a lease that grew less than a second
   * ago, what it is spending in a second. A busy lease then grows about once a second instead of every few requests
   * (each grow is a transaction on the one database), while an idle one holds little; none of that with a prefetch of
   * 0. Else by the shortfall alone.
   */
  private async grow(lease: Lease, micro: number, tokens: number): Promise<void> {
    const shortMicro = Math.max(0, micro - available(lease, 'Micro'));
    const shortTokens = Math.max(0, tokens - available(lease, 'Tokens'));
    const sinceMs = Date.now() - lease.grownAt;
    const perWindow = this.options.prefetch > 0 && sinceMs < SPEND_WINDOW_MS ? SPEND_WINDOW_MS / Math.max(1, sinceMs) : 0;
    const extraMicro = Math.max(micro * this.options.prefetch, lease.heldMicro, Math.ceil(lease.spentMicro * perWindow));
    const extraTokens = Math.max(tokens * this.options.prefetch, lease.heldTokens, Math.ceil(lease.spentTokens * perWindow));
    try {
      for (const [addMicro, addTokens] of [
        [shortMicro + extraMicro, shortTokens + extraTokens],
        [shortMicro, shortTokens],
      ]) {
        if (await growLease(this.db, lease, addMicro, addTokens, this.options.ttlMs)) {
          lease.grownAt = Date.now();
          lease.spentMicro = 0;
          lease.spentTokens = 0;
          lease.leasedMicro += addMicro;
          lease.leasedTokens += addTokens;
          return;
        }
      }
    } catch (error) {
      throw new ServiceUnavailableError(
        isConnectionError(error) ? 'The gateway database is unavailable; try again shortly.' : 'The gateway could not reserve credits; try again shortly.',
      );
    }
    throw await refusal(this.db, lease, micro, tokens, available(lease, 'Micro'), available(lease, 'Tokens')).catch((error: unknown) => {
      if (error instanceof GatewayError) return error;
      return new ServiceUnavailableError('The gateway database is unavailable; try again shortly.');
    });
  }

  /** Ends a hold: what was not charged stays in the lease for the next request; the charge is owed until committed. */
  settle(hold: Hold, requestId: string, chargedMicro: number, chargedTokens: number): Settlement {
    const lease = this.leaseOf(hold.keyId, hold);
    lease.heldMicro -= hold.micro;
    lease.heldTokens -= hold.tokens;
    lease.owedMicro += chargedMicro;
    lease.owedTokens += chargedTokens;
    lease.spentMicro += chargedMicro;
    lease.spentTokens += chargedTokens;
    lease.lastActive = Date.now();
    return { requestId, keyId: hold.keyId, leaseId: hold.leaseId, chargedMicro, chargedTokens, fromBalance: hold.fromBalance, budgetPeriod: hold.budgetPeriod };
  }

  /** Called by the usage writer once settlements are in the database. */
  committed(settlements: readonly Settlement[], missing: ReadonlySet<string>): void {
    for (const settlement of settlements) {
      // Rows replayed from a spill file were reserved by another (earlier) instance's lease: not in this map.
      const lease = this.leases.get(settlement.leaseId);
      if (!lease) continue;
      lease.owedMicro -= settlement.chargedMicro;
      lease.owedTokens -= settlement.chargedTokens;
      if (!missing.has(lease.id)) {
        lease.leasedMicro -= settlement.chargedMicro;
        lease.leasedTokens -= settlement.chargedTokens;
      }
    }
    for (const leaseId of missing) this.forget(leaseId);
  }

  /**
   * Leases released by another instance (this one was taken for dead) no longer back anything. `renewedSince` is
   * when the renewal that found `existing` began: a lease that grew since then may be missing from it for that alone.
   */
  keepOnly(existing: ReadonlySet<string>, renewedSince: number): void {
    for (const lease of this.leases.values()) {
      if (lease.busy || lease.grownAt >= renewedSince || existing.has(lease.id)) continue;
      if (lease.leasedMicro + lease.leasedTokens > 0) this.forget(lease.id);
    }
  }

  private forget(leaseId: string): void {
    const lease = this.leases.get(leaseId);
    if (!lease) return;
    this.logger.warn('lease lost; it was released while this instance held it', { keyId: lease.keyId });
    lease.leasedMicro = 0;
    lease.leasedTokens = 0;
  }

  /** Gives back every lease with nothing held or owed that has been unused for `idleMs` (0: all of them). */
  async returnIdle(idleMs: number): Promise<void> {
    const now = Date.now();
    const returning: Promise<void>[] = [];
    for (const lease of this.leases.values()) {
      if (lease.busy || lease.heldMicro + lease.heldTokens + lease.owedMicro + lease.owedTokens > 0 || now - lease.lastActive < idleMs) continue;
      // Nothing may be reserved from a lease on its way back: requests arriving now wait and start a new one.
      const { leasedMicro, leasedTokens } = lease;
      lease.leasedMicro = 0;
      lease.leasedTokens = 0;
      lease.busy = returnLease(this.db, lease)
        .then(() => void this.leases.delete(lease.id))
        .catch((error: Error) => {
          lease.leasedMicro += leasedMicro;
          lease.leasedTokens += leasedTokens;
          this.logger.warn('lease return failed; it will be released later', { keyId: lease.keyId, error: error.message });
        })
        .finally(() => (lease.busy = undefined));
      returning.push(lease.busy);
    }
    await Promise.all(returning);
  }

  /** Stops the sweeper and gives every unused lease back (shutdown, after the last usage flush). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.leases.values()].map((lease) => lease.busy?.catch(() => undefined)));
    await this.returnIdle(0);
  }
}

function available(lease: Lease, unit: 'Micro' | 'Tokens'): number {
  return lease[`leased${unit}`] - lease[`held${unit}`] - lease[`owed${unit}`];
}
