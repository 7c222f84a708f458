/**
 * Turns what zod and the YAML parser report into one config error a person can act on: a typo'd key is called
 * unknown and named with its path (`providers.hf.baseurl`) and the nearest valid key, before the missing key it
 * was meant to be; a YAML syntax error shows its line with a caret under the column.
 */
import type { YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './env-substitute.ts';

type Issue = z.core.$ZodIssue;

export interface ExplainOptions {
  /** Where the validated object sits in the file, e.g. `['providers', 'hf']`. */
  prefix?: readonly string[];
  /** The schema, for the valid keys an unknown one is compared with. */
  schema?: z.ZodType;
  /** The validated object, to find a typo standing in for a required key. */
  input?: unknown;
  /** Keys valid beside the schema's at the top level (a provider entry's core keys, beside its plugin's). */
  alsoKnown?: readonly string[];
}

/** The first issue worth reporting, as `key.path: reason`; unknown keys first, since they explain missing ones. */
export function configErrorFromZod(error: z.ZodError, { prefix = [], schema, input, alsoKnown = [] }: ExplainOptions = {}): ConfigError {
  const typo = error.issues.map((issue) => typoForMissing(issue, input)).find(Boolean);
  if (typo) return new ConfigError([...prefix, ...typo.path], `unknown key (did you mean '${typo.meant}'?)`);
  const issue = error.issues.find((candidate) => candidate.code === 'unrecognized_keys') ?? error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const known = [...(schema ? knownKeys(schema, issue.path) : []), ...(issue.path.length === 0 ? alsoKnown : [])];
    const nearest = nearestKey(
      issue.keys[0],
      known.filter((key) => !issue.keys.includes(key)),
    );
    const hint = nearest ? ` (did you mean '${nearest}'?)` : known.length > 0 ? ` (known keys: ${known.join(', ')})` : '';
    return new ConfigError([...prefix, ...issue.path.map(keyPart), issue.keys[0]], `unknown key${hint}`);
  }
  return new ConfigError([...prefix, ...issue.path.map(keyPart)], issue.message);
}

/** A required key reported missing where the object has a key two edits from it (`pluign:` for `plugin:`). */
function typoForMissing(issue: Issue, input: unknown): { path: string[]; meant: string } | undefined {
  if (issue.code !== 'invalid_type' || issue.path.length === 0) return undefined;
  let parent = input;
  for (const segment of issue.path.slice(0, -1)) parent = (parent as Record<PropertyKey, unknown> | undefined)?.[segment];
  const meant = String(issue.path.at(-1));
  if (!parent || typeof parent !== 'object' || (parent as Record<string, unknown>)[meant] !== undefined) return undefined;
  const typed = nearestKey(meant, Object.keys(parent));
  return typed ? { path: [...issue.path.slice(0, -1).map(String), typed], meant } : undefined;
}

/** The keys an object schema takes at `path` (through defaults, optionals, pipes, records and arrays). */
export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  for (const segment of [...path, undefined]) {
    node = unwrap(node);
    const def = (node as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
    if (!def) return [];
    if (segment === undefined) return def.type === 'object' ? Object.keys(def.shape as object) : [];
    if (def.type === 'object') node = (def.shape as Record<string, unknown>)[String(segment)];
    else if (def.type === 'record') node = def.valueType;
    else if (def.type === 'array') node = def.element;
    else return [];
  }
  return [];
}

/** Looks through wrappers (default, optional, preprocess pipes…) to the schema that holds the shape. */
function unwrap(node: unknown): unknown {
  for (let depth = 0; depth < 10; depth++) {
    const def = (node as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
    if (!def) return node;
    if (def.innerType) node = def.innerType;
    else if (def.type === 'pipe') node = (def.out as { _zod: { def: { type: string } } })._zod.def.type === 'transform' ? def.in : def.out;
    else return node;
  }
  return node;
}

/** The known key within two edits of `typed`, if exactly one is nearest. */
export function nearestKey(typed: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const key of known) {
    const distance = editDistance(typed.toLowerCase(), key.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [key, distance];
  }
  return best;
}

/** Damerau-Levenshtein (optimal string alignment): a swapped pair of letters counts as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}

/** `not valid YAML at line 3, column 9: <reason>` and the line itself with a caret under the column. */
export function yamlError(error: YAMLParseError, text: string): ConfigError {
  const reason = error.message.split(' at line ')[0].split('\n')[0];
  const position = error.linePos?.[0];
  if (!position) return new ConfigError([], `not valid YAML: ${reason}`, 'SY_CONFIG_YAML');
  const line = text.split(/\r?\n/)[position.line - 1] ?? '';
  const gutter = `${position.line} | `;
  const excerpt = `\n  ${gutter}${line}\n  ${' '.repeat(gutter.length + position.col - 1)}^`;
  return new ConfigError([], `not valid YAML at line ${position.line}, column ${position.col}: ${reason}${excerpt}`, 'SY_CONFIG_YAML');
}

/** Array indices stay numbers, so a key path prints as `routing[0].targets[1]`; other keys as strings. */
function keyPart(part: PropertyKey): string | number {
  return typeof part === 'number' ? part : String(part);
}
