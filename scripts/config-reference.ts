/**
 * Writes docs/configuration.md from the zod schemas themselves (the core's and each shipped plugin's), so the
 * reference cannot drift from what the gateway accepts: every key, its type and bounds, its default, what it means.
 * `node --import tsx scripts/config-reference.ts` writes the file; `--check` fails when the file is not current.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { configSchema, providerEntrySchema } from '../src/config/schema.ts';
import type { PluginDefinition } from '../src/plugin-sdk.ts';
import { KEY_MEANINGS } from './config-meanings.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REFERENCE_FILE = path.join(ROOT, 'docs', 'configuration.md');
const SHIPPED_PLUGINS = ['huggingface', 'openai', 'openai-compatible', 'anthropic'];

interface Row {
  key: string;
  type: string;
  default: string;
  meaning: string;
}

type Def = Record<string, unknown> & { type: string };
const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;

/** What a value of this schema looks like, with its bounds: `whole number ≥ 1`, `sqlite3 | pg`, `list of string`. */
function typeOf(schema: unknown): string {
  const def = defOf(schema);
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
      return typeOf(def.innerType);
    case 'pipe':
      return typeOf(defOf(def.out).type === 'transform' ? def.in : def.out);
    case 'number':
      return numberType(def);
    case 'string':
      return (def as { format?: string }).format === 'url' ? 'URL' : 'string';
    case 'enum':
      return Object.values(def.entries as Record<string, string>).join(' \\| ');
    case 'array':
      return `list of ${typeOf(def.element)}`;
    case 'record':
      return `map of name → ${typeOf(def.valueType)}`;
    case 'object':
      return 'mapping';
    case 'union':
      return (def.options as unknown[]).map(typeOf).join(' or ');
    default:
      return def.type;
  }
}

function numberType(def: Def): string {
  let whole = false;
  const bounds: string[] = [];
  for (const check of (def.checks as { _zod: { def: { check: string; format?: string; value?: number } } }[] | undefined) ?? []) {
    const { check: kind, format, value } = check._zod.def;
    if (kind === 'number_format' && format?.includes('int')) whole = true;
    if (kind === 'greater_than') bounds.push(`≥ ${value}`);
    if (kind === 'less_than') bounds.push(`≤ ${value}`);
  }
  return [whole ? 'whole number' : 'number', ...bounds].join(' ');
}

/** The default as YAML would write it; `-` for an optional key without one, **required** for a key without either. */
function defaultOf(schema: unknown): string {
  const def = defOf(schema);
  if (def.type === 'default') {
    const value = def.defaultValue;
    if (typeof value === 'string') return value === '' ? "`''` (empty)" : `\`${value}\``;
    return `\`${JSON.stringify(value)}\``;
  }
  if (def.type === 'prefault') return '(section)';
  return def.type === 'optional' ? '-' : '**required**';
}

/** The object schema behind defaults, optionals and preprocess pipes, if there is one. */
function objectShape(schema: unknown): Record<string, unknown> | undefined {
  let node = schema;
  for (let depth = 0; depth < 10; depth++) {
    if (!(node as { _zod?: unknown })?._zod) return undefined;
    const def = defOf(node);
    if (def.type === 'object') return def.shape as Record<string, unknown>;
    if (def.innerType) node = def.innerType;
    else if (def.type === 'pipe') node = defOf(def.out).type === 'transform' ? def.in : def.out;
    else return undefined;
  }
  return undefined;
}

/** The value schema of a map of named entries (`pricing`, `headers`), looking through defaults and optionals. */
function recordValue(schema: unknown): unknown {
  let def = defOf(schema);
  while (def.innerType) def = defOf(def.innerType);
  return def.type === 'record' ? def.valueType : undefined;
}

/** The object a list's elements may be (`routing`, a rule's `targets`), looking through defaults and a union that also takes a bare name. */
function elementObject(schema: unknown): unknown {
  let def = defOf(schema);
  while (def.innerType) def = defOf(def.innerType);
  if (def.type !== 'array') return undefined;
  const element = defOf(def.element);
  const options = element.type === 'union' ? (element.options as unknown[]) : [def.element];
  return options.find((option) => objectShape(option) !== undefined);
}

/** One row per key, depth first; a map of named entries shows its value's keys under `<name>`, a list of mappings under `[]`. */
function rowsOf(schema: unknown, prefix: string, meanings: Readonly<Record<string, string>>, skip: ReadonlySet<string> = new Set()): Row[] {
  const shape = schema === undefined ? undefined : objectShape(schema);
  if (!shape) return [];
  const rows: Row[] = [];
  for (const [name, child] of Object.entries(shape)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (skip.has(key)) continue;
    rows.push({ key, type: typeOf(child), default: defaultOf(child), meaning: meanings[key] ?? '' });
    rows.push(...rowsOf(child, key, meanings, skip));
    const entries = recordValue(child);
    if (entries) rows.push(...rowsOf(entries, `${key}.<name>`, meanings, skip));
    const element = elementObject(child);
    if (element) rows.push(...rowsOf(element, `${key}[]`, meanings, skip));
  }
  return rows;
}

function table(rows: readonly Row[]): string {
  const cell = (text: string) => text.replaceAll('\n', ' ');
  return [
    '| key | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| \`${row.key}\` | ${cell(row.type)} | ${row.default} | ${cell(row.meaning)} |`),
  ].join('\n');
}

async function pluginSchema(name: string): Promise<z.ZodType> {
  const module = (await import(path.join(ROOT, 'plugins', name, 'index.ts'))) as { default: PluginDefinition };
  return module.default.configSchema;
}

/** The whole reference, as the file should read. */
export async function renderConfigReference(): Promise<string> {
  const shape = objectShape(configSchema)!;
  const sections = Object.keys(shape).filter((key) => key !== 'providers');
  const parts = [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs:config` from the zod schemas (src/config/schema.ts and each plugin); do not edit by hand. -->',
    '',
    'The gateway reads one YAML file: `--config PATH`, else `$SWITCHYARD_CONFIG`, else `config/gateway.yaml`. In every',
    'string value, `${VAR}` and `${VAR:-default}` are replaced from the environment (and a `.env` file in the working',
    'directory); defaults may nest (`${HUG_API_KEY:-${HF_TOKEN:-}}`), and numbers and booleans may arrive that way as',
    "strings (`true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`). Relative paths resolve against the file's folder.",
    '',
    'A bad file stops the start with a coded message naming the key: `SY_CONFIG_INVALID: providers.hf.baseurl: unknown',
    "key (did you mean 'base_url'?)`, `SY_CONFIG_INVALID: server.request_timeout_ms: must be a whole number, got",
    "'thirty'`, or `SY_CONFIG_YAML: not valid YAML at line 4, column 3: …` followed by the line and a caret.",
    '',
    'A key whose default is `-` is unset unless given; a **required** key must be given. `<name>` stands for a name you',
    'choose (a provider entry, a model glob). Sizes (`body_limit`) are a number with `b`, `kb`, `mb` or `gb`.',
    '',
    '## Example',
    '',
    'The file the project ships, `config/gateway.yaml`:',
    '',
    '```yaml',
    readFileSync(path.join(ROOT, 'config', 'gateway.yaml'), 'utf8').trimEnd(),
    '```',
    '',
  ];
  for (const section of sections) {
    const single: Row = { key: section, type: typeOf(shape[section]), default: defaultOf(shape[section]), meaning: KEY_MEANINGS[section] ?? '' };
    const rows = objectShape(shape[section])
      ? rowsOf(shape[section], section, KEY_MEANINGS)
      : [
          single,
          ...(recordValue(shape[section]) ? rowsOf(recordValue(shape[section]), `${section}.<name>`, KEY_MEANINGS) : []),
          ...rowsOf(elementObject(shape[section]), `${section}[]`, KEY_MEANINGS),
          ...(recordValue(shape[section]) ? rowsOf(elementObject(recordValue(shape[section])), `${section}.<name>[]`, KEY_MEANINGS) : []),
        ];
    parts.push(`## \`${section}\``, '', KEY_MEANINGS[`${section}.`] ?? '', '', table(rows), '');
  }
  parts.push(
    '## `providers`',
    '',
    KEY_MEANINGS['providers.'] ?? '',
    '',
    '### Keys every entry takes',
    '',
    table(rowsOf(providerEntrySchema, 'providers.<name>', KEY_MEANINGS)),
    '',
  );
  for (const plugin of SHIPPED_PLUGINS) {
    parts.push(
      `### \`plugin: ${plugin}\``,
      '',
      KEY_MEANINGS[`plugin:${plugin}`] ?? '',
      '',
      table(rowsOf(await pluginSchema(plugin), 'providers.<name>', pluginMeanings(plugin))),
      '',
    );
  }
  return `${parts
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

/** A plugin's keys are described under `<plugin>.<key>` in the meanings table. */
function pluginMeanings(plugin: string): Record<string, string> {
  const prefix = `${plugin}.`;
  return Object.fromEntries(
    Object.entries(KEY_MEANINGS)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, text]) => [`providers.<name>.${key.slice(prefix.length)}`, text]),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = await renderConfigReference();
  if (process.argv.includes('--check')) {
    const current = readFileSync(REFERENCE_FILE, 'utf8');
    if (current !== text) {
      console.error('docs/configuration.md is not current: run `npm run docs:config`');
      process.exit(1);
    }
    console.log('docs/configuration.md is current');
  } else {
    writeFileSync(REFERENCE_FILE, text);
    console.log(`wrote ${path.relative(ROOT, REFERENCE_FILE)}`);
  }
}
