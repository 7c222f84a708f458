/** The knex instance: SQLite (WAL, one connection, busy timeout) by default, PostgreSQL for several instances. */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import { migrationSource } from './migration-source.ts';
import { LogThrottle } from '../util/log-throttle.ts';

export type Db = Knex;

export interface DatabaseOptions {
  client: 'sqlite3' | 'pg';
  connection: string;
  pool_max?: number;
  busy_timeout_ms?: number;
}

/**
 * Money and token counts are BIGINT; every value the gateway stores stays below 2^53, so numbers are exact. The
 * driver is loaded only when PostgreSQL is configured (it costs memory a SQLite gateway does not need).
 */
function parseBigintsAsNumbers(): void {
  const pg = createRequire(import.meta.url)('pg') as typeof import('pg');
  pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
}

/** migrations/ beside src/, or dist/migrations/ beside dist/src/ when compiled. */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Where knex's own warnings go: one line each, its first (no stack), and at most one a second during an outage. */
export interface DbLogger {
  warn(message: string, fields?: Record<string, unknown>): unknown;
}

function knexLog(logger: DbLogger): Knex.Config['log'] {
  const throttle = new LogThrottle(1000);
  const warn = (message: unknown): void =>
    throttle.log((suppressed) => {
      const detail = (message instanceof Error ? message.message : String(message)).split('\n')[0].slice(0, 300);
      logger.warn('database driver warning', { detail, suppressed });
    });
  return { warn, error: warn, deprecate: warn, debug: () => undefined };
}

export function knexConfig(options: DatabaseOptions, logger?: DbLogger): Knex.Config {
  const migrations = { migrationSource: migrationSource(MIGRATIONS_DIR), tableName: 'knex_migrations' };
  const busy = options.busy_timeout_ms ?? 5000;
  const log = logger && knexLog(logger);
  if (options.client === 'pg') {
    return {
      log,
      client: 'pg',
      connection: { connectionString: options.connection, connectionTimeoutMillis: busy },
      pool: { min: 0, max: options.pool_max ?? 10, acquireTimeoutMillis: busy * 2 },
      acquireConnectionTimeout: busy * 2,
      migrations,
    };
  }
  return {
    log,
    client: 'sqlite3',
    connection: { filename: options.connection },
    useNullAsDefault: true,
    // One connection: SQLite has one writer anyway, and queued statements then never wait on each other's locks.
    pool: {
      min: 1,
      max: 1,
      afterCreate: (conn: { exec(sql: string, done: (error: Error | null) => void): void }, done: (error: Error | null, conn: unknown) => void) => {
        conn.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = ${busy}; PRAGMA foreign_keys = ON;`, (error) =>
          done(error, conn),
        );
      },
    },
    acquireConnectionTimeout: busy * 2,
    migrations,
  };
}

export function createDb(options: DatabaseOptions, logger?: DbLogger): Db {
  if (options.client === 'pg') parseBigintsAsNumbers();
  if (options.client === 'sqlite3' && options.connection !== ':memory:') {
    mkdirSync(path.dirname(options.connection), { recursive: true });
  }
  return knexFactory(knexConfig(options, logger));
}

/** Applies pending migrations; idempotent, safe while another process uses the same database. Returns the names applied. */
export async function migrate(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}

export function isPostgres(db: Db): boolean {
  return db.client.config.client === 'pg';
}
