/** Instance liveness: each gateway process beats in `instances`; holds of processes that stopped beating are released. */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/knex.ts';
import type { Logger } from '../logging.ts';
import { releaseOrphanedHolds } from './ledger.ts';

export interface InstanceOptions {
  heartbeatMs: number;
  /** An instance silent for this long is taken for dead and its holds are released. */
  staleMs: number;
  /** Runs on every beat: this instance renews its leases there. */
  onBeat?: (now: number) => Promise<void>;
}

export function newInstanceId(): string {
  return `ins_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
}

export class InstanceHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    readonly id: string,
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly options: InstanceOptions,
  ) {}

  /** Registers this instance and releases the holds of dead ones (a crash's leftovers) before serving. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      this.running ??= this.beat()
        .catch((error: Error) => {
          this.logger.warn('heartbeat failed', { error: error.message });
        })
        .finally(() => (this.running = undefined));
    }, this.options.heartbeatMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    await this.db('instances').insert({ id: this.id, started_at: now, heartbeat_at: now }).onConflict('id').merge(['heartbeat_at']);
    const staleBefore = now - this.options.staleMs;
    const released = await releaseOrphanedHolds(this.db, now, staleBefore);
    if (released > 0) this.logger.warn('released orphaned reservations', { count: released });
    await this.db('instances').where('heartbeat_at', '<', staleBefore).del();
    await this.options.onBeat?.(now);
  }

  /** Stops beating and deregisters; call after every hold of this instance has been settled. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.db('instances').where({ id: this.id }).del();
  }
}
