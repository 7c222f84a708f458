#!/usr/bin/env node
// Compiles src, plugins and migrations to dist/ (`npm run build:server`), and tells the `switchyard` bin whether that
// build is current. In production the gateway runs this plain JavaScript rather than the sources under the tsx
// loader, which costs about 20 MiB of memory and compiles every module at start-up.
//
// Why "built on first start" rather than a `prepare` script after `npm ci`: a prepare build goes stale after every
// `git pull` or edit and nothing notices, so the server would run old code. Here `switchyard serve` compares the
// build's stamp with the newest source file (a walk of ~150 entries, about a millisecond) and rebuilds when a
// source is newer or dist/ is missing; `npm run build:server` does the same ahead of time (an image build, a
// deploy step). The build goes to a fresh folder that replaces dist/ at the end, so a process starting meanwhile
// never imports half-written files.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
export const ENTRY = path.join(DIST, 'src', 'main.js');
const STAMP = path.join(DIST, '.build-stamp');
const SOURCES = ['src', 'plugins', 'migrations', 'tsconfig.json', 'tsconfig.build.json'];

/** The newest modification time under the compiled sources (directories too: a deleted file changes its folder). */
function newestSource(entry = ROOT, names = SOURCES) {
  let newest = 0;
  for (const name of names) {
    const file = path.join(entry, name);
    let stat;
    try {
      stat = statSync(file);
    } catch {
      continue;
    }
    newest = Math.max(newest, stat.mtimeMs);
    // Tests are not compiled: editing one must not rebuild the server.
    if (stat.isDirectory() && name !== 'test' && name !== 'node_modules') newest = Math.max(newest, newestSource(file, readdirSync(file)));
  }
  return newest;
}

/** True when dist/ holds a complete build at least as new as every source. */
export function isBuildFresh() {
  try {
    return existsSync(ENTRY) && statSync(STAMP).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

/** The TypeScript compiler's entry, or undefined when it is not installed (a `--omit=dev` install). */
function compilerPath() {
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  } catch {
    return undefined;
  }
}

/**
 * Compiles into a fresh folder and swaps it in. Returns undefined on success, else why it failed (the compiler's
 * output, or that no compiler is installed).
 */
export function buildServer() {
  const tsc = compilerPath();
  if (!tsc) return 'the TypeScript compiler is not installed (install dev dependencies, or build where they are)';
  const started = Date.now();
  const fresh = `${DIST}.build-${process.pid}`;
  rmSync(fresh, { recursive: true, force: true });
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', fresh], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) {
    rmSync(fresh, { recursive: true, force: true });
    return `tsc failed (exit ${result.status}):\n${result.stdout}${result.stderr}`;
  }
  // The stamp carries the time the compiler started: a source saved during the build is newer, so it rebuilds.
  const stamp = path.join(fresh, '.build-stamp');
  writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
  utimesSync(stamp, new Date(started), new Date(started));
  const old = `${DIST}.old-${process.pid}`;
  try {
    renameSync(DIST, old);
  } catch {
    // No previous build (or another process is swapping its own in): nothing to move aside.
  }
  try {
    renameSync(fresh, DIST);
  } catch {
    // Another process placed an equally fresh build first: keep that one.
    rmSync(fresh, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
  return undefined;
}

/**
 * The bin's choice: the compiled entry's URL when it is current (building it first for `serve` when it is missing or
 * stale), or undefined to run the sources under tsx — short CLI commands do not wait for a build, and
 * SWITCHYARD_TSX=1 asks for the sources explicitly (development).
 */
export function compiledEntry(command) {
  if (process.env.SWITCHYARD_TSX === '1') return undefined;
  if (isBuildFresh()) return pathToFileURL(ENTRY).href;
  if (command !== 'serve') return undefined;
  process.stderr.write('switchyard: compiling the gateway into dist/ (first start, or the sources changed)\n');
  let failure;
  try {
    failure = buildServer();
  } catch (error) {
    // A read-only install, a full disk: the sources still run.
    failure = error.message;
  }
  if (!failure) return pathToFileURL(ENTRY).href;
  process.stderr.write(`switchyard: running the TypeScript sources under tsx instead: ${failure}\n`);
  return undefined;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const failure = buildServer();
  if (failure) {
    console.error(failure);
    process.exit(1);
  }
  console.log('built dist/ (src, plugins, migrations)');
}
