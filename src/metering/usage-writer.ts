/**
 * Group commit of usage rows and settlements, off the request path. One transaction per batch writes the rows,
 * adds them to the daily and hourly aggregates, refunds the holds and books the charges, so books, rows and
 * aggregates can never disagree. A failed batch stays queued and is retried; `drain()` writes everything on shutdown.
 */
import type { Db } from '../db/knex.ts';
import { bulkInsert, type BulkTable } from '../db/bulk-insert.ts';
import { addToDaily } from '../db/usage-daily.ts';
import { addToHourly } from '../db/usage-hourly.ts';
import type { Logger } from '../logging.ts';
import { LogThrottle } from '../util/log-throttle.ts';
import { applySettlements, type Settlement } from './ledger.ts';
import type { FinishedRequest } from './usage-row.ts';
import { claimSpilledRows, spillRows } from './usage-spill.ts';

export type { FinishedRequest, UsageRow } from './usage-row.ts';

/** The usage table's columns, as the bulk insert unpacks them. */
export const USAGE_TABLE: BulkTable = {
  table: 'usage',
  uniqueColumn: 'request_id',
  columns: [
    ['request_id', 'text'],
    ['key_id', 'text'],
    ['endpoint', 'text'],
    ['provider', 'text'],
    ['model', 'text'],
    ['prompt_tokens', 'integer'],
    ['completion_tokens', 'integer'],
    ['cost_micro', 'bigint'],
    ['status', 'integer'],
    ['error_code', 'text'],
    ['latency_ms', 'integer'],
    ['ttft_ms', 'integer'],
    ['stream', 'boolean'],
    ['estimated', 'boolean'],
    ['attempts', 'integer'],
    ['created_at', 'bigint'],
  ],
};

export interface UsageWriterOptions {
  flushIntervalMs: number;
  batchSize: number;
  /** Told which settlements are in the database (and which leases were found gone). */
  onCommitted?: (settlements: Settlement[], missingLeases: ReadonlySet<string>) => void;
  /** Where `drain()` leaves the rows it could not write (replayed at the next start); none: they are lost. */
  spillFile?: string;
  /** Past this many queued rows (a long outage), the queue moves to the spill file until writes succeed again. */
  maxPending?: number;
}

export class UsageWriter {
  private queue: FinishedRequest[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  /** How many rows at the head of the queue are being written right now: an overflow must leave them be. */
  private inFlight = 0;
  /** Rows this writer moved to the spill file while running, waiting to be taken back. */
  private overflowed = 0;
  private readonly overflowLog = new LogThrottle(5000);
  /** Rows written since start; tests and metrics read it. */
  written = 0;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly options: UsageWriterOptions,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  /** Whether the last write reached the database. */
  get healthy(): boolean {
    return this.failures === 0;
  }

  enqueue(item: FinishedRequest): void {
    this.queue.push(item);
    const { maxPending, spillFile } = this.options;
    if (spillFile && maxPending !== undefined && this.queue.length > maxPending) this.overflow(spillFile);
    if (this.queue.length >= this.options.batchSize) this.schedule(0);
    else this.schedule(this.options.flushIntervalMs);
  }

  private schedule(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write(false);
    }, delayMs);
  }

  /** Writes everything queued now. A flush in progress may be the timer's, one batch: it is awaited, then the rest written. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.write(true);
  }

  /** One flush at a time: `all` writes everything queued, else one batch and more only while full ones wait. */
  private write(all: boolean): Promise<void> {
    this.flushing ??= this.writeQueued(all).finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.schedule(this.failures > 0 ? this.backoffMs() : this.options.flushIntervalMs);
    });
    return this.flushing;
  }

  private backoffMs(): number {
    return Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
  }

  /**
   * Writes a batch, and more while full batches wait (or `all`). A part batch that queued up while the
   * last one was written waits for the next interval: written at once, a busy gateway committed a few rows at a time
   * back to back, fifty transactions a second, each paying the fixed cost of a transaction.
   */
  private async writeQueued(all: boolean): Promise<void> {
    let first = true;
    while (this.queue.length > 0 && (first || all || this.queue.length >= this.options.batchSize)) {
      first = false;
      const batch = this.queue.slice(0, this.options.batchSize);
      this.inFlight = batch.length;
      try {
        await this.writeBatch(batch);
      } catch (error) {
        this.failures++;
        this.logger.error('usage write failed; rows kept for retry', { error: (error as Error).message, pending: this.queue.length });
        return;
      } finally {
        this.inFlight = 0;
      }
      this.queue.splice(0, batch.length);
      this.written += batch.length;
      if (this.failures > 0) this.logger.info('usage writes recovered', { pending: this.queue.length });
      this.failures = 0;
      if (this.overflowed > 0) this.takeBackOverflow(this.options.spillFile!);
    }
  }

  /**
   * Moves what waits to the spill file, so a long outage cannot exhaust memory. The batch being written stays, and
   * at least one row: a non-empty queue keeps the retries going, and the first write that succeeds takes the rest back.
   */
  private overflow(file: string): void {
    const keep = Math.max(this.inFlight, 1);
    const waiting = this.queue.slice(keep);
    try {
      spillRows(file, waiting);
    } catch (error) {
      this.logger.error('usage rows could not be spilled', { count: waiting.length, file, error: (error as Error).message });
      return;
    }
    this.queue.length = keep;
    this.overflowed += waiting.length;
    this.overflowLog.log(() =>
      this.logger.error('usage queue full; rows moved to the spill file until the database is back', { spilled: this.overflowed, file }),
    );
  }

  /** After a successful write, the rows moved out during the outage come back to be written. */
  private takeBackOverflow(file: string): void {
    let items: FinishedRequest[];
    try {
      items = claimSpilledRows(file);
    } catch (error) {
      // Left in place (or half-claimed): the next start tries again; never worth failing a flush over.
      this.logger.error('spilled usage rows could not be read back', { file, error: (error as Error).message });
      return;
    }
    this.overflowed = 0;
    this.queue.push(...items);
    if (items.length > 0) this.logger.info('spilled usage rows queued again', { count: items.length });
  }

  /**
   * One transaction: the usage rows first, then the settlements of the rows that were really inserted, then their
   * daily aggregates. A row that
   * is already there (a batch whose commit looked failed but was not, or a spill replayed twice) is not charged
   * again: usage row and charge are written exactly once, together.
   */
  private async writeBatch(batch: FinishedRequest[]): Promise<void> {
    const now = Date.now();
    const missing = await this.db.transaction(async (trx) => {
      const inserted = await bulkInsert<{ request_id: string }>(
        trx,
        USAGE_TABLE,
        batch.map((item) => item.row),
        'request_id',
      );
      const fresh = new Set(inserted.map((row) => row.request_id));
      const settlements = batch.flatMap((item) => (item.settlement && fresh.has(item.row.request_id) ? [item.settlement] : []));
      const booked = await applySettlements(trx, settlements, now);
      const finalCost = new Map<string, number>();
      for (const settlement of settlements) {
        // Rare: a lease gone and a balance that cannot pay; the row must show what was really charged.
        const final = booked.charged.get(settlement.requestId);
        if (final && final.chargedMicro !== settlement.chargedMicro) {
          finalCost.set(settlement.requestId, final.chargedMicro);
          await trx('usage').where({ request_id: settlement.requestId }).update({ cost_micro: final.chargedMicro });
        }
      }
      // Only the rows really inserted, at the cost they were written with: aggregates equal the sum of the rows.
      const written = batch.flatMap(({ row }) =>
        fresh.has(row.request_id) ? [finalCost.has(row.request_id) ? { ...row, cost_micro: finalCost.get(row.request_id)! } : row] : [],
      );
      await addToDaily(trx, written);
      await addToHourly(trx, written);
      return booked.missing;
    });
    // Every settlement of the batch is off this instance's books now: charged here, or by the earlier write.
    this.options.onCommitted?.(
      batch.flatMap((item) => (item.settlement ? [item.settlement] : [])),
      missing,
    );
  }

  /**
   * Flushes until the queue is empty or `deadline` (epoch ms) passes, then spills what is left to the spill file.
   * Returns how many rows are lost: left unwritten and not spilled.
   */
  async drain(deadline: number): Promise<number> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && Date.now() < deadline) {
      await this.flush();
      if (this.queue.length > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(this.backoffMs(), Math.max(0, deadline - Date.now()))));
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length > 0 && this.options.spillFile) this.spill(this.options.spillFile);
    return this.queue.length;
  }

  private spill(file: string): void {
    const count = this.queue.length;
    try {
      spillRows(file, this.queue);
      this.queue = [];
      this.logger.error('usage rows spilled to a file; the next start writes them', { count, file });
    } catch (error) {
      this.logger.error('usage rows could not be spilled', { count, file, error: (error as Error).message });
    }
  }

  /** Queues rows left by an earlier process (its spill file). */
  requeue(items: readonly FinishedRequest[]): void {
    for (const item of items) this.enqueue(item);
  }
}
