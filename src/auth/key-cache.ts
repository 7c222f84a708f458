/**
 * Gateway key lookups, cached briefly so the hot path rarely touches the database. Concurrent misses for one key
 * share a single query; the TTL bounds how long a revoke takes to reach this instance.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/knex.ts';
import { findKeyByHash, hashKey, type KeyRecord } from '../db/keys-repo.ts';

interface Entry {
  record: KeyRecord | undefined;
  expiresAt: number;
}

export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<KeyRecord | undefined>>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly maxEntries = 50_000,
  ) {}

  /** The key record for a presented secret, or undefined when unknown. Revoked keys are returned: the caller refuses them. */
  async lookup(secret: string): Promise<KeyRecord | undefined> {
    const hash = hashKey(secret);
    const cached = this.entries.get(hash);
    if (cached && cached.expiresAt > Date.now()) return cached.record;
    let pending = this.inflight.get(hash);
    if (!pending) {
      pending = this.load(hash).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, pending);
    }
    return pending;
  }

  private async load(hash: string): Promise<KeyRecord | undefined> {
    const found = await findKeyByHash(this.db, hash);
    // The index found the row by hash; the comparison that decides is still constant-time.
    const record = found && timingSafeEqual(Buffer.from(found.hash, 'hex'), Buffer.from(hash, 'hex')) ? found : undefined;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.delete(hash);
    this.entries.set(hash, { record, expiresAt: Date.now() + this.ttlMs });
    return record;
  }

  /** Forgets every cached lookup (a revoke or top-up made by this instance takes effect at once). */
  clear(): void {
    this.entries.clear();
  }
}
