/**
 * Compiles the benchmark's own servers (mock upstream, bare passthrough, Express peers) to plain JavaScript with
 * esbuild, so that no row runs under a TypeScript loader: every process measured is what production would run.
 */
import path from 'node:path';
import { build } from 'esbuild';

/** Returns the .mjs path of each entry, by the entry's base name (`passthrough`, `express-proxy`, …). */
export async function compileServers(benchDir: string, outDir: string, entries: string[]): Promise<Record<string, string>> {
  await build({
    entryPoints: entries.map((entry) => path.join(benchDir, entry)),
    outbase: benchDir,
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  return Object.fromEntries(entries.map((entry) => [path.basename(entry, '.ts'), path.join(outDir, entry.replace(/\.ts$/, '.mjs'))]));
}
