/**
 * Module resolve hooks for a compiled gateway that loads a plugin outside its build (a user's own index.js, or an
 * index.ts through tsx): the plugin's imports of the project's TypeScript sources (`src/plugin-sdk.ts`) resolve to
 * their compiled twins in dist/, so plugin and gateway share one copy of every module — one GatewayError class for
 * `instanceof`, one logger — and plain Node never has to load a .ts file.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface ResolveResult {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context: unknown) => Promise<ResolveResult>;

let project = '';
let dist = '';

export function initialize(data: { project: string; dist: string }): void {
  project = data.project + path.sep;
  dist = data.dist + path.sep;
}

export async function resolve(specifier: string, context: unknown, nextResolve: NextResolve): Promise<ResolveResult> {
  const result = await nextResolve(specifier, context);
  if (!result.url.startsWith('file:') || !result.url.endsWith('.ts')) return result;
  const file = fileURLToPath(result.url);
  if (!file.startsWith(project) || file.startsWith(dist)) return result;
  const twin = path.join(dist, path.relative(project, file)).replace(/\.ts$/, '.js');
  return existsSync(twin) ? { url: pathToFileURL(twin).href, format: 'module', shortCircuit: true } : result;
}
