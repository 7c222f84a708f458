/**
 * The migrations knex runs: migrations/*.ts from the sources (tsx), dist/migrations/*.js when compiled. Each is
 * recorded under its source name (`<name>.ts`) whichever file ran, so a database migrated by one is current for the
 * other; knex's own directory source records the file name it ran and would run every compiled twin a second time.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

interface MigrationFile {
  /** The name in knex_migrations: the source file's name. */
  name: string;
  file: string;
}

/** Lists `<directory>/<name>.(ts|js)` in name order; type declarations and source maps are not migrations. */
export function listMigrations(directory: string): MigrationFile[] {
  const files: MigrationFile[] = [];
  for (const entry of readdirSync(directory)) {
    const match = /^(.+)\.(ts|js)$/.exec(entry);
    if (!match || entry.endsWith('.d.ts')) continue;
    files.push({ name: `${match[1]}.ts`, file: path.join(directory, entry) });
  }
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function migrationSource(directory: string): Knex.MigrationSource<MigrationFile> {
  return {
    getMigrations: async () => listMigrations(directory),
    getMigrationName: (migration) => migration.name,
    getMigration: async (migration) => (await import(pathToFileURL(migration.file).href)) as Knex.Migration,
  };
}
