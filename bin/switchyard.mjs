#!/usr/bin/env node
// The `switchyard` bin: runs the compiled gateway in dist/ when it is current (`serve` builds it when missing or
// stale, see scripts/build-server.mjs); otherwise registers the TypeScript loader in this same process (so signals
// reach it) and runs the sources.
import { compiledEntry } from '../scripts/build-server.mjs';

const entry = compiledEntry(process.argv[2]);
if (entry) {
  await import(entry);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
