/** The migration list knex runs: the same names whether the sources or their compiled twins are listed. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listMigrations } from '../../src/db/migration-source.ts';

describe('migration source', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-migrations-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists compiled migrations under their source names, in name order, without maps or declarations', () => {
    for (const file of ['20261201000000_b.js', '20261201000000_b.js.map', '20261127000000_a.js', '20261127000000_a.d.ts', 'README.md'])
      writeFileSync(path.join(dir, file), '');
    assert.deepEqual(listMigrations(dir), [
      { name: '20261127000000_a.ts', file: path.join(dir, '20261127000000_a.js') },
      { name: '20261201000000_b.ts', file: path.join(dir, '20261201000000_b.js') },
    ]);
  });

  it('lists the TypeScript sources under the same names', () => {
    for (const file of ['20261201000000_b.ts', '20261127000000_a.ts']) writeFileSync(path.join(dir, file), '');
    assert.deepEqual(
      listMigrations(dir).map((migration) => migration.name),
      ['20261127000000_a.ts', '20261201000000_b.ts'],
    );
  });
});
