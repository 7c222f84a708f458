/**
 * The output items of recent translated responses, in memory, per gateway key, so that an `item_reference` to one of
 * them can be resolved. @ai-sdk/openai sends earlier assistant text as `{"type": "item_reference", "id": "msg_…"}`
 * unless told `store: false` (it assumes the API's default, `store: true`), so without this every multi-turn AI SDK
 * conversation on a translated model would fail. Nothing is kept for a request that says `store: false`. This is not
 * the stateful API (no `previous_response_id`, no `GET /v1/responses/{id}`): items live in one instance, bounded in
 * bytes and time; a miss is a 400 that says how to send the item instead.
 */
import type { JsonObject } from '../../plugin-sdk.ts';

interface Entry {
  keyId: string;
  item: JsonObject;
  bytes: number;
  expiresAt: number;
}

export class RecentItems {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = 32 * 1024 * 1024,
    private readonly ttlMs = 60 * 60 * 1000,
  ) {}

  remember(keyId: string, items: readonly JsonObject[]): void {
    const expiresAt = Date.now() + this.ttlMs;
    for (const item of items) {
      if (typeof item.id !== 'string') continue;
      const bytes = JSON.stringify(item).length;
      // One huge answer must not push out everything else.
      if (bytes > this.maxBytes / 16) continue;
      this.forget(item.id);
      this.entries.set(item.id, { keyId, item, bytes, expiresAt });
      this.bytes += bytes;
    }
    this.evict();
  }

  /** The item, when this key received it here and it has not expired. */
  resolve(keyId: string, id: string): JsonObject | undefined {
    const entry = this.entries.get(id);
    if (!entry || entry.keyId !== keyId) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.forget(id);
      return undefined;
    }
    return entry.item;
  }

  get size(): number {
    return this.entries.size;
  }

  private forget(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.bytes -= entry.bytes;
  }

  /** Oldest first: every entry lives as long, so insertion order is expiry order. */
  private evict(): void {
    const now = Date.now();
    for (const [id, entry] of this.entries) {
      if (this.bytes <= this.maxBytes && entry.expiresAt > now) break;
      this.forget(id);
    }
  }
}
