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

const specs = suite === 'faults' ? ['test/faults/**/*.test.ts'] : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'plugins/*/test/**/*.test.ts', 'test/zz-log-scan.test.ts'];
// Where Node can require() ESM, mocha would require() the test files, and tsx would compile them and the core modules
// they import to CommonJS, while the gateway import()s plugins as ESM: two copies of the core, and a plugin's
// GatewayError no longer `instanceof` the core's. Loading tests with import(), as the gateway itself runs, keeps one.
const esmOnly = process.features.require_module ? ['--no-experimental-require-module'] : [];
const args = [
  ...esmOnly,
  '--import',
  'tsx',
  path.join(root, 'node_modules/mocha/bin/mocha.js'),
  '--reporter',
  path.join(root, 'test/reporter.cjs'),
  '--timeout',
  '20000',
  '--exit',
  ...(process.argv.length > 2 ? process.argv.slice(2) : specs),
];
const result = spawnSync(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, SWITCHYARD_TEST_LOG_DIR: logDir, NODE_ENV: 'test' },
});
process.exit(result.status ?? 1);
