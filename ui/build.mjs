#!/usr/bin/env node
// Bundles the dashboard (ui/src) with esbuild into ui/dist: hashed JS and CSS plus an index.html naming them. Skips the
// work when ui/dist was built from the same sources (a content hash in dist/build.json), so `npm start` and `npm test`
// can call it every time. `node ui/build.mjs --force` rebuilds anyway.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const UI = path.dirname(fileURLToPath(import.meta.url));
export const DIST = path.join(UI, 'dist');
const STAMP = path.join(DIST, 'build.json');

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? sourceFiles(file) : [file];
  });
}

/** A hash of everything the bundle is made of: the sources, this script and the template. */
function sourceHash() {
  const hash = createHash('sha256');
  for (const file of [...sourceFiles(path.join(UI, 'src')).sort(), fileURLToPath(import.meta.url), path.join(UI, 'index.html')]) {
    hash.update(path.relative(UI, file)).update('\0').update(readFileSync(file));
  }
  return hash.digest('hex');
}

function isFresh(hash) {
  try {
    const stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
    return stamp.source === hash && existsSync(path.join(DIST, 'index.html'));
  } catch {
    return false;
  }
}

/** Builds when the sources changed since the last build; returns what it did. */
export async function buildUi({ force = false } = {}) {
  const hash = sourceHash();
  if (!force && isFresh(hash)) return 'fresh';
  const esbuild = await import('esbuild');
  // A build into a fresh folder beside dist, renamed over it: a gateway serving dist never sees half a bundle.
  const staging = `${DIST}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(UI, 'src/main.tsx')],
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'esm',
    target: ['es2022'],
    outdir: path.join(staging, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: path.join(UI, 'tsconfig.json'),
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
  const script = outputs.find((file) => file.endsWith('.js'));
  const style = outputs.find((file) => file.endsWith('.css'));
  const html = readFileSync(path.join(UI, 'index.html'), 'utf8').replace('%SCRIPT%', `/ui/assets/${script}`).replace('%STYLE%', `/ui/assets/${style}`);
  writeFileSync(path.join(staging, 'index.html'), html);
  writeFileSync(path.join(staging, 'build.json'), `${JSON.stringify({ source: hash, script, style }, null, 2)}\n`);
  const old = `${DIST}.old-${process.pid}`;
  if (existsSync(DIST)) renameSafe(DIST, old);
  renameSafe(staging, DIST);
  rmSync(old, { recursive: true, force: true });
  return 'built';
}

function renameSafe(from, to) {
  rmSync(to, { recursive: true, force: true });
  // A rename is atomic on one filesystem; both folders live under ui/.
  renameSync(from, to);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outcome = await buildUi({ force: process.argv.includes('--force') });
  console.log(outcome === 'fresh' ? 'dashboard bundle is up to date (ui/dist)' : 'dashboard built into ui/dist');
}
