#!/usr/bin/env node
// `npm test`: mocha over test/ and plugins/*/test with the TypeScript loader, a fresh log folder for this run
// (the log scan reads it last), and a summary line CI can read. Extra arguments go to mocha.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const suite = process.env.SWITCHYARD_SUITE ?? 'main';
const logDir = path.join(root, 'test-logs', suite);
rmSync(logDir, { recursive: true, force: true });
mkdirSync(logDir, { recursive: true });

const specs =
  suite === 'faults'
    ? ['test/faults/**/*.test.ts', 'test/zz-log-scan.test.ts']
    : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'plugins/*/test/**/*.test.ts', 'test/zz-log-scan.test.ts'];
const faults = suite === 'faults';
const args = [
  // The faults suite measures heap after a forced GC (fuzzer: memory back to baseline).
  ...(faults ? ['--expose-gc'] : []),
  // Mocha would otherwise require() the .ts specs (Node 20.19+ has require(esm)), loading the gateway as CommonJS
  // while plugins are import()ed as ESM: two copies of every module, and `instanceof GatewayError` failing.
  '--no-experimental-require-module',
  '--import',
  'tsx',
  path.join(root, 'node_modules/mocha/bin/mocha.js'),
  '--reporter',
  path.join(root, 'test/reporter.cjs'),
  '--timeout',
  faults ? '60000' : '20000',
  '--exit',
  ...(process.argv.length > 2 ? process.argv.slice(2) : specs),
];
const result = spawnSync(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, SWITCHYARD_TEST_LOG_DIR: logDir, NODE_ENV: 'test' },
});
process.exit(result.status ?? 1);
