/** Loads provider plugins named in config: a short list of checks, each failing with a coded boot error. */
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/load.ts';
import { configErrorFromZod } from '../config/explain.ts';
import { ConfigError } from '../config/env-substitute.ts';
import type { ProviderEntryConfig } from '../config/schema.ts';
import type { Logger } from '../logging.ts';
import type { PluginDefinition, Provider } from '../plugin-sdk.ts';
import { COMPILED, DIST_ROOT, PROJECT_ROOT } from '../runtime.ts';
import { compileGlobs } from '../util/glob.ts';

/** A provider entry, ready to serve. */
export interface LoadedProvider {
  name: string;
  plugin: string;
  entry: ProviderEntryConfig;
  provider: Provider;
  timeoutMs: number;
  /** True when one of the entry's `models` globs matches the suffix-less model id. */
  matches(model: string): boolean;
}

/** Keys the core reads itself; the plugin's schema sees the rest of the entry. */
const CORE_KEYS = new Set(['plugin', 'models', 'timeout_ms', 'connect_timeout_ms', 'max_stream_ms', 'retries', 'pricing']);

export async function loadProviders(config: Config, logger: Logger): Promise<LoadedProvider[]> {
  const plugins = new Map<string, PluginDefinition>();
  const loaded: LoadedProvider[] = [];
  for (const [name, entry] of Object.entries(config.providers)) {
    let plugin = plugins.get(entry.plugin);
    if (!plugin) {
      plugin = await loadPlugin(config.plugins_dir, entry.plugin, ['providers', name, 'plugin']);
      plugins.set(entry.plugin, plugin);
      // Which file: a compiled gateway should name dist/plugins/<name>/index.js for the project's own plugins.
      logger.info('plugin loaded', { plugin: entry.plugin, file: pluginFile(path.join(config.plugins_dir, entry.plugin)) });
    }
    const own = Object.fromEntries(Object.entries(entry).filter(([key]) => !CORE_KEYS.has(key)));
    const parsed = plugin.configSchema.safeParse(own);
    if (!parsed.success)
      throw configErrorFromZod(parsed.error, { prefix: ['providers', name], schema: plugin.configSchema, input: own, alsoKnown: [...CORE_KEYS] });
    const timeoutMs = entry.timeout_ms ?? config.server.request_timeout_ms;
    const provider = await plugin.create({
      name,
      config: parsed.data,
      timeoutMs,
      connectTimeoutMs: entry.connect_timeout_ms,
      logger: logger.child({ provider: name }),
    });
    const problem = checkProvider(provider);
    if (problem) throw new ConfigError(['providers', name, 'plugin'], `plugin '${entry.plugin}' created a malformed provider: ${problem}`, 'SY_PLUGIN_INVALID');
    loaded.push({ name, plugin: entry.plugin, entry, provider, timeoutMs, matches: compileGlobs(entry.models) });
  }
  return loaded;
}

/**
 * The file to import for a plugin folder. From the sources (tsx): index.ts, index.js, index.mjs. Compiled: the
 * plugin's compiled twin in dist/ when the build holds one (the project's own plugins), then the folder's
 * index.js / index.mjs (a user's JavaScript plugin), then its index.ts, which needs a TypeScript loader.
 */
export function pluginFile(folder: string): string | undefined {
  const names = COMPILED ? ['index.js', 'index.mjs', 'index.ts'] : ['index.ts', 'index.js', 'index.mjs'];
  const candidates = names.map((name) => path.join(folder, name));
  const inProject = !path.relative(PROJECT_ROOT, folder).startsWith('..') && path.relative(DIST_ROOT, folder).startsWith('..');
  if (COMPILED && inProject) candidates.unshift(path.join(DIST_ROOT, path.relative(PROJECT_ROOT, folder), 'index.js'));
  return candidates.find(existsSync);
}

let redirectHooks: Promise<void> | undefined;
let typescriptLoader: Promise<void> | undefined;

/**
 * A compiled gateway meeting a plugin outside its build: its imports of the project's .ts sources go to their
 * compiled twins (compiled-hooks.ts), and an index.ts gets tsx — loaded only now, so a gateway running only its
 * own compiled plugins never pays for it.
 */
async function prepareForeignPlugin(file: string): Promise<void> {
  if (file.endsWith('.ts')) {
    typescriptLoader ??= import('tsx/esm/api').then(({ register: registerTsx }) => void registerTsx());
    await typescriptLoader;
  }
  redirectHooks ??= Promise.resolve(register(new URL('./compiled-hooks.js', import.meta.url), { data: { project: PROJECT_ROOT, dist: DIST_ROOT } }));
  await redirectHooks;
}

/** Resolves `plugins_dir/<name>/index.(ts|js)`, imports it and checks its default export. */
export async function loadPlugin(pluginsDir: string, name: string, keyPath: string[]): Promise<PluginDefinition> {
  const folder = path.join(pluginsDir, name);
  const file = pluginFile(folder);
  if (!file) throw new ConfigError(keyPath, `plugin '${name}' not found: no index.ts or index.js in ${folder}`, 'SY_PLUGIN_NOT_FOUND');
  let module: { default?: unknown };
  try {
    if (COMPILED && !file.startsWith(DIST_ROOT + path.sep)) await prepareForeignPlugin(file);
    module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    throw new ConfigError(keyPath, `plugin '${name}' failed to load: ${(error as Error).message}`, 'SY_PLUGIN_LOAD_FAILED');
  }
  const problem = checkPlugin(module.default, name);
  if (problem) throw new ConfigError(keyPath, `plugin '${name}' is malformed: ${problem}`, 'SY_PLUGIN_INVALID');
  return module.default as PluginDefinition;
}

function checkPlugin(candidate: unknown, folder: string): string | undefined {
  if (!candidate || typeof candidate !== 'object') return 'its default export is not a plugin object (use definePlugin)';
  const plugin = candidate as Partial<PluginDefinition>;
  if (plugin.name !== folder) return `its name is '${String(plugin.name)}', expected '${folder}' (the folder name)`;
  if (typeof plugin.version !== 'string' || !/^\d+\.\d+\.\d+/.test(plugin.version)) return 'version must be a semver string';
  if (typeof plugin.configSchema?.safeParse !== 'function') return 'configSchema must be a zod schema';
  if (typeof plugin.create !== 'function') return 'create(setup) must be a function';
  return undefined;
}

/** A provider must be reachable for chat: natively, or through the Messages dialect the core translates to. */
function checkProvider(provider: Provider): string | undefined {
  const chat = typeof provider?.chat === 'function' && typeof provider.chatStream === 'function';
  const messages = typeof provider?.messages === 'function' && typeof provider.messagesStream === 'function';
  if (!chat && !messages) return 'it implements neither chat + chatStream nor messages + messagesStream';
  return undefined;
}
