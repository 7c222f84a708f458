/**
 * Multi-row INSERTs that cost one statement and one bound parameter, whatever the row count: the rows travel as a
 * JSON array that SQLite (json_each) or PostgreSQL (json_to_recordset) unpacks in the database. Binding thousands
 * of parameters through knex and the driver cost more CPU than the gateway's whole request path.
 */
import type { Knex } from 'knex';
import { rows as selectRows, type Queryable } from './sql.ts';

export type ColumnType = 'text' | 'bigint' | 'integer' | 'boolean';

export interface BulkTable {
  table: string;
  columns: readonly (readonly [name: string, type: ColumnType])[];
  /** Rows whose value here already exists are skipped (ON CONFLICT DO NOTHING). */
  uniqueColumn?: string;
  /** Rows whose key here already exists add these columns to the row that is there (counters, sums). */
  addOnConflict?: { key: readonly string[]; sums: readonly string[] };
}

function conflictClause(spec: BulkTable): string {
  if (spec.addOnConflict) {
    const { key, sums } = spec.addOnConflict;
    return ` ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${sums.map((name) => `${name} = ${spec.table}.${name} + excluded.${name}`).join(', ')}`;
  }
  return spec.uniqueColumn ? ` ON CONFLICT (${spec.uniqueColumn}) DO NOTHING` : '';
}

const statements = new WeakMap<BulkTable, { sqlite: string; pg: string }>();

function statementFor(spec: BulkTable, postgres: boolean): string {
  let built = statements.get(spec);
  if (!built) {
    const names = spec.columns.map(([name]) => name).join(', ');
    const conflict = conflictClause(spec);
    // SQLite needs `WHERE true` to tell an upsert's ON CONFLICT from a join constraint.
    const sqliteValues = spec.columns.map(([name]) => `value ->> '${name}'`).join(', ');
    const pgTypes = spec.columns.map(([name, type]) => `${name} ${type}`).join(', ');
    built = {
      sqlite: `INSERT INTO ${spec.table} (${names}) SELECT ${sqliteValues} FROM json_each(?) WHERE true${conflict}`,
      pg: `INSERT INTO ${spec.table} (${names}) SELECT ${names} FROM json_to_recordset(?::json) AS r(${pgTypes})${conflict}`,
    };
    statements.set(spec, built);
  }
  return postgres ? built.pg : built.sqlite;
}

/** Inserts the rows; with `returning`, answers that column of the rows really inserted (conflicts skipped). */
export async function bulkInsert<T extends object = Record<string, unknown>>(
  db: Queryable,
  spec: BulkTable,
  rows: readonly object[],
  returning?: string,
): Promise<T[]> {
  if (rows.length === 0) return [];
  const postgres = (db as Knex).client.config.client === 'pg';
  const sql = statementFor(spec, postgres) + (returning ? ` RETURNING ${returning}` : '');
  return selectRows<T>(db, sql, [JSON.stringify(rows)]);
}
