/** The metering machinery of one instance: heartbeat, leases, the usage writer (with rows a crash left spilled). */
import type { Config } from '../config/load.ts';
import type { Db } from '../db/knex.ts';
import type { Logger } from '../logging.ts';
import { InstanceHeartbeat, newInstanceId } from './instances.ts';
import { LeaseBook } from './lease-book.ts';
import { renewLeases } from './ledger.ts';
import { claimSpilledRows } from './usage-spill.ts';
import { UsageWriter } from './usage-writer.ts';

export interface Metering {
  instanceId: string;
  leases: LeaseBook;
  writer: UsageWriter;
  /** Writes what is pending (until `deadline`), gives leases back, deregisters. Returns the rows lost. */
  stop(deadline: number): Promise<number>;
}

export async function startMetering(db: Db, metering: Config['metering'], logger: Logger): Promise<Metering> {
  const instanceId = newInstanceId();
  const leases = new LeaseBook(db, instanceId, logger, {
    ttlMs: metering.reservation_ttl_ms,
    prefetch: metering.lease_prefetch,
    idleMs: metering.lease_idle_ms,
  });
  const heartbeat = new InstanceHeartbeat(instanceId, db, logger, {
    heartbeatMs: metering.instance_heartbeat_ms,
    staleMs: metering.instance_stale_ms,
    onBeat: async (now) => {
      const since = Date.now();
      leases.keepOnly(await renewLeases(db, instanceId, now + metering.reservation_ttl_ms), since);
    },
  });
  // The first beat releases what dead instances held, before this one serves anything.
  await heartbeat.start();
  leases.start();
  const writer = new UsageWriter(db, logger, {
    flushIntervalMs: metering.flush_interval_ms,
    batchSize: metering.flush_batch_size,
    spillFile: metering.spill_file,
    maxPending: metering.max_pending_rows,
    onCommitted: (settlements, missing) => leases.committed(settlements, missing),
  });
  const spilled = metering.spill_file ? claimSpilledRows(metering.spill_file) : [];
  if (spilled.length > 0) {
    logger.warn('writing usage rows spilled by an earlier shutdown', { count: spilled.length });
    writer.requeue(spilled);
  }
  return {
    instanceId,
    leases,
    writer,
    async stop(deadline) {
      const lost = await writer.drain(deadline);
      if (lost > 0) logger.error('usage rows lost: not written before exit and not spilled', { count: lost });
      await leases.close();
      await heartbeat.stop().catch((error: Error) => logger.warn('instance deregistration failed', { error: error.message }));
      return lost;
    },
  };
}
