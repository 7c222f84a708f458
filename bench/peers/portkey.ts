/**
 * Peer: Portkey's open-source AI gateway 1.15.2, installed by the benchmark into bench/.peers/portkey (gitignored;
 * never into the project's node_modules or package.json) on first run, then patched so its streams work on Node 20.
 *
 * The patch: Portkey relays a stream as `new Response(transformed, upstreamResponse)` and then appends its own
 * headers (`x-portkey-last-used-option-index`, …) to that response. @hono/node-server replaces the global Response
 * with a "lightweight" class whose constructor keeps `init.headers` by reference instead of copying them, as the
 * Fetch standard's Response constructor does; `init` is the upstream fetch() response, whose Headers are immutable,
 * so the first `append` throws `TypeError: immutable` and Portkey answers every stream with 500 "Something went
 * wrong". The patch copies a Headers init into a new (mutable) Headers object, in every build of the class in
 * @hono/node-server/dist. JSON answers are unaffected: Portkey builds a new Response for them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const PORTKEY_VERSION = '1.15.2';
/** The @hono/node-server release the patch was written against (Portkey asks for ^1.3.3). */
const HONO_NODE_SERVER_VERSION = '1.19.19';
const PATCH_FROM = 'headers || init?.headers]';
const PATCH_TO = 'headers || (init?.headers instanceof Headers ? new Headers(init.headers) : init?.headers)]';

export type PortkeyInstall = { entry: string } | { unavailable: string };

/** Installs (once) and patches Portkey under `folder`; says why when it cannot. */
export function ensurePortkey(folder: string): PortkeyInstall {
  const entry = path.join(folder, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  const marker = path.join(folder, 'PATCHED');
  if (existsSync(entry) && existsSync(marker)) return { entry };
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'package.json'), `${JSON.stringify({ name: 'switchyard-bench-portkey', private: true }, null, 2)}\n`);
  console.log(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into ${path.relative(process.cwd(), folder)} …`);
  // --ignore-scripts: its postinstall runs patch-package for patches the published package does not ship.
  const install = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      folder,
      '--save-exact',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel=error',
      `@portkey-ai/gateway@${PORTKEY_VERSION}`,
      `@hono/node-server@${HONO_NODE_SERVER_VERSION}`,
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  if (install.status !== 0 || !existsSync(entry))
    return { unavailable: `npm install failed: ${(install.stderr || install.error?.message || '').trim().split('\n').slice(-2).join(' ')}` };
  const patched = patchHonoResponse(path.join(folder, 'node_modules/@hono/node-server/dist'));
  if (patched === 0) return { unavailable: `could not patch @hono/node-server (no "${PATCH_FROM}" in its dist): its streams would answer 500` };
  writeFileSync(marker, `@hono/node-server/dist: ${patched} files — Response(body, init) copies a Headers init (see bench/peers/portkey.ts)\n`);
  return { entry };
}

/** Applies the patch to every .js/.mjs file of the package that carries the lightweight Response; returns how many. */
function patchHonoResponse(dist: string): number {
  let patched = 0;
  for (const name of readdirSync(dist)) {
    if (!/\.(m?js)$/.test(name)) continue;
    const file = path.join(dist, name);
    const source = readFileSync(file, 'utf8');
    if (!source.includes(PATCH_FROM)) continue;
    writeFileSync(file, source.replaceAll(PATCH_FROM, PATCH_TO));
    patched++;
  }
  return patched;
}

/** Headers that send a request through Portkey to the mock upstream as an OpenAI provider at a custom host. */
export function portkeyHeaders(upstream: string): Record<string, string> {
  return { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstream}/v1`, authorization: 'Bearer sk-bench' };
}
