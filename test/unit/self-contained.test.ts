/** The repository documents itself: no source file, doc or README points at a document that does not ship with it. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../helpers/gateway.ts';

/** Pointers into the design documents the project was built from, which are not part of it (a `§` cites their sections). */
const OUTSIDE = /\bSPEC\b|\bprotocol\.md\b|\bDESIGN\.md\b|\/work\/shared|§/;

function files(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const file = path.join(folder, name);
    if (statSync(file).isDirectory()) return name === 'node_modules' ? [] : files(file);
    return /\.(ts|mjs|js|md|yaml)$/.test(name) ? [file] : [];
  });
}

describe('self-contained documentation', () => {
  it('has no pointer to documents outside the repository in src/, plugins/, docs/, config/, test/, scripts/, bench/, bin/ or the README', () => {
    const folders = ['src', 'plugins', 'docs', 'config', 'test', 'scripts', 'bench', 'bin'];
    // This file names the pointers it looks for.
    const found = [...folders.flatMap((folder) => files(path.join(ROOT, folder))), path.join(ROOT, 'README.md')]
      .filter((file) => file !== fileURLToPath(import.meta.url))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .map((line, index) => [line, index] as const)
          .filter(([line]) => OUTSIDE.test(line))
          .map(([line, index]) => `${path.relative(ROOT, file)}:${index + 1}: ${line.trim().slice(0, 120)}`),
      );
    assert.deepEqual(found, []);
  });
});
