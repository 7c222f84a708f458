/** Loads provider plugins named in config: a short list of checks, each failing with a coded boot error. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/load.ts';
import { configErrorFromZod } from '../config/explain.ts';
import { ConfigError } from '../config/env-substitute.ts';
import type { ProviderEntryConfig } from '../config/schema.ts';
import type { Logger } from '../logging.ts';
import type { PluginDefinition, Provider } from '../plugin-sdk.ts';
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
    }
    const own = Object.fromEntries(Object.entries(entry).filter(([key]) => !CORE_KEYS.has(key)));
    const parsed = plugin.configSchema.safeParse(own);
    if (!parsed.success) throw configErrorFromZod(parsed.error, { prefix: ['providers', name], schema: plugin.configSchema, input: own, alsoKnown: [...CORE_KEYS] });
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

/** Resolves `plugins_dir/<name>/index.(ts|js)`, imports it and checks its default export. */
export async function loadPlugin(pluginsDir: string, name: string, keyPath: string[]): Promise<PluginDefinition> {
  const folder = path.join(pluginsDir, name);
  const file = ['index.ts', 'index.js', 'index.mjs'].map((candidate) => path.join(folder, candidate)).find(existsSync);
  if (!file) throw new ConfigError(keyPath, `plugin '${name}' not found: no index.ts or index.js in ${folder}`, 'SY_PLUGIN_NOT_FOUND');
  let module: { default?: unknown };
  try {
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
