/** docs/configuration.md is generated from the zod schemas: it must be current, and every key must say what it means. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { REFERENCE_FILE, renderConfigReference } from '../../scripts/config-reference.ts';

describe('the configuration reference', () => {
  let rendered: string;
  before(async () => (rendered = await renderConfigReference()));

  it('is current (run `npm run docs:config` after changing a schema or a meaning)', () => {
    assert.equal(readFileSync(REFERENCE_FILE, 'utf8'), rendered);
  });

  it('describes every key, the shipped plugins included', () => {
    const rows = rendered.split('\n').filter((line) => line.startsWith('| `'));
    assert.ok(rows.length > 60, `only ${rows.length} keys`);
    const undescribed = rows.filter((row) => row.trimEnd().endsWith('|  |')).map((row) => row.split('|')[1].trim());
    assert.deepEqual(undescribed, []);
    for (const key of ['`server.body_limit`', '`providers.<name>.retries.attempts`', '`pricing.<name>.input`', '`providers.<name>.supports.stream_usage`']) {
      assert.ok(
        rows.some((row) => row.startsWith(`| ${key} `)),
        key,
      );
    }
  });
});
