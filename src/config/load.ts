/** Loads the gateway config: file → YAML → `${VAR}` substitution → zod → frozen Config with absolute paths. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError, substituteTree, type Env } from './env-substitute.ts';
import { configSchema, type RawConfig } from './schema.ts';

export interface Config extends RawConfig {
  /** Absolute path of the file this config came from. */
  readonly configPath: string;
}

/** `--config`, else `SWITCHYARD_CONFIG`, else `config/gateway.yaml` under the working directory. */
export function resolveConfigPath(explicit: string | undefined, env: Env, cwd = process.cwd()): string {
  return path.resolve(cwd, explicit || env.SWITCHYARD_CONFIG || 'config/gateway.yaml');
}

export function loadConfig(configPath: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    throw new ConfigError([], `cannot read ${configPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'SY_CONFIG_UNREADABLE');
  }
  return parseConfig(text, configPath, env);
}

export function parseConfig(text: string, configPath: string, env: Env): Config {
  let document: unknown;
  try {
    document = parseYaml(text) ?? {};
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line})` : '';
    throw new ConfigError([], `not valid YAML${where}: ${(error as Error).message.split('\n')[0]}`, 'SY_CONFIG_YAML');
  }
  if (typeof document !== 'object' || Array.isArray(document)) throw new ConfigError([], 'the file must be a YAML mapping');
  return configFromObject(substituteTree(document, env), configPath);
}

/** Validates an already-substituted config object; `configPath` anchors its relative paths. */
export function configFromObject(raw: unknown, configPath: string): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw configErrorFromZod(result.error);
  checkRouting(result.data);
  return Object.freeze(resolvePaths(result.data, configPath));
}

/** Formats the first zod issue as `key.path: reason`. */
export function configErrorFromZod(error: z.ZodError, prefix: readonly (string | number)[] = []): ConfigError {
  const issue = error.issues[0];
  const keys = 'keys' in issue && Array.isArray(issue.keys) ? issue.keys : [];
  const issuePath = [...prefix, ...issue.path.map((part) => (typeof part === 'number' ? part : String(part))), ...(issue.code === 'unrecognized_keys' ? keys.slice(0, 1) : [])];
  const reason = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
  return new ConfigError(issuePath, reason);
}

/** Relative paths (database file, plugins_dir) resolve against the config file's folder (SPEC §2). */
function resolvePaths(config: RawConfig, configPath: string): Config {
  const base = path.dirname(configPath);
  const database = { ...config.database };
  if (database.client === 'sqlite3' && database.connection !== ':memory:' && !database.connection.startsWith('file:')) {
    database.connection = path.resolve(base, database.connection);
  }
  const logging = { ...config.logging, file: config.logging.file ? path.resolve(base, config.logging.file) : undefined };
  const metering = { ...config.metering, spill_file: spillFile(config, database, base) };
  return { ...config, database, logging, metering, plugins_dir: path.resolve(base, config.plugins_dir), configPath };
}

/** Next to the SQLite file by default; with PostgreSQL, `unwritten-usage.jsonl` in the config file's folder. */
function spillFile(config: RawConfig, database: RawConfig['database'], base: string): string | undefined {
  if (config.metering.spill_file) return path.resolve(base, config.metering.spill_file);
  if (database.client === 'pg') return path.resolve(base, 'unwritten-usage.jsonl');
  if (database.connection === ':memory:' || database.connection.startsWith('file:')) return undefined;
  return `${database.connection}.unwritten-usage.jsonl`;
}

/** Routing rules may only name configured provider entries, each once per rule. */
function checkRouting(config: RawConfig): void {
  const known = Object.keys(config.providers);
  config.routing.forEach((rule, ruleIndex) => {
    const seen = new Set<string>();
    rule.targets.forEach((target, targetIndex) => {
      const where = ['routing', ruleIndex, 'targets', targetIndex, 'provider'];
      if (!known.includes(target.provider)) {
        throw new ConfigError(where, `unknown provider entry '${target.provider}' (configured: ${known.join(', ') || 'none'})`);
      }
      if (seen.has(target.provider)) throw new ConfigError(where, `'${target.provider}' is already a target of this rule`);
      seen.add(target.provider);
    });
  });
}
