/** The no-cycles check CI runs: it passes on the tree and fails, naming the files, on a cycle. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/gateway.ts';

const check = (...folders: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'check-cycles.mjs'), ...folders], { encoding: 'utf8' });

describe('scripts/check-cycles.mjs', () => {
  it('finds no import cycle in src/ and plugins/', () => {
    const result = check();
    assert.equal(result.status, 0, result.stderr);
  });

  it('fails on a cycle, type-only imports included, and names its files', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-cycles-'));
    try {
      writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b.ts';\nexport const a = () => b;\n");
      writeFileSync(path.join(dir, 'b.ts'), "import type { C } from './c.ts';\nexport const b = 1 as unknown as C;\n");
      writeFileSync(path.join(dir, 'c.ts'), "export type { a } from './a.ts';\nexport type C = number;\n");
      writeFileSync(path.join(dir, 'd.ts'), "import { a } from './a.ts';\nexport const d = a;\n");
      const result = check(dir);
      assert.equal(result.status, 1);
      const line = result.stderr.trim();
      assert.match(line, /^import cycle: /);
      assert.deepEqual(
        line
          .replace('import cycle: ', '')
          .split(' ↔ ')
          .map((file) => path.basename(file))
          .sort(),
        ['a.ts', 'b.ts', 'c.ts'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
