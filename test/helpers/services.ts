/**
 * PostgreSQL and Redis for tests: skipped with a printed reason when absent, failing when REQUIRE_SERVICES=1.
 * Each run gets its own PostgreSQL database and Redis key prefix, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createClient } from 'redis';

export const PG_URL = process.env.DATABASE_URL_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const REQUIRED = process.env.REQUIRE_SERVICES === '1';

const availability = new Map<string, Promise<string | undefined>>();

/** Undefined when the service answers, else the reason it does not. */
function probe(name: 'postgres' | 'redis'): Promise<string | undefined> {
  let pending = availability.get(name);
  if (!pending) {
    pending = (name === 'postgres' ? probePostgres() : probeRedis()).then(
      () => undefined,
      (error: Error) => `${name} unavailable: ${error.message}`,
    );
    availability.set(name, pending);
  }
  return pending;
}

async function probePostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  await client.connect();
  await client.end();
}

async function probeRedis(): Promise<void> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  await client.quit();
}

/** Call from a `before` hook: skips the suite (or fails it under REQUIRE_SERVICES=1) when a service is missing. */
export async function requireService(context: Mocha.Context, name: 'postgres' | 'redis'): Promise<void> {
  const reason = await probe(name);
  if (!reason) return;
  if (REQUIRED) throw new Error(`${reason} (REQUIRE_SERVICES=1)`);
  console.log(`      skipped: ${reason}`);
  context.skip();
}

/** A fresh PostgreSQL database for one suite; `drop()` removes it. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sy_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A Redis key prefix for one suite; `drop()` deletes every key under it. */
export function redisPrefix(): { prefix: string; drop(): Promise<void> } {
  const prefix = `sy_test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  return {
    prefix,
    async drop() {
      const client = createClient({ url: REDIS_URL });
      client.on('error', () => undefined);
      await client.connect();
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
        if (keys.length > 0) await client.del(keys);
      }
      await client.quit();
    },
  };
}
