/** Small helpers that hide the one difference between the drivers' raw results: SQLite gives rows, pg gives `{rows}`. */
import type { Knex } from 'knex';

export type Queryable = Knex | Knex.Transaction;

/** Runs raw SQL (use `RETURNING` to learn which rows a write touched) and returns its rows. */
export async function rows<T>(db: Queryable, sql: string, bindings: readonly Knex.RawBinding[] = []): Promise<T[]> {
  const result = (await db.raw(sql, bindings as Knex.RawBinding[])) as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

/** True for errors that mean "the database is not there right now", as opposed to a bad statement. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : '';
  if (
    typeof code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|57P0[1-3]|08\d{3}|53300|SQLITE_(BUSY|CANTOPEN|IOERR|READONLY|LOCKED|FULL|CORRUPT|NOTADB|PERM))/.test(
      code,
    )
  )
    return true;
  return /Timeout acquiring a connection|Connection terminated|connection is closed|Client has encountered a connection error|read ECONNRESET|SQLITE_(BUSY|CANTOPEN|IOERR|READONLY)/i.test(
    message,
  );
}
