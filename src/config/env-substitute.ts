/** `${VAR}` and `${VAR:-default}` substitution (defaults may nest: `${A:-${B:-x}}`), applied to YAML string values. */

export type Env = Readonly<Record<string, string | undefined>>;

/** Replaces every `${…}` in `text`; an unset variable without a default becomes the empty string. */
export function substituteEnv(text: string, env: Env): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start === -1) return out + text.slice(i);
    out += text.slice(i, start);
    const end = findClosingBrace(text, start + 2);
    if (end === -1) throw new Error(`unterminated \${ in "${text}"`);
    out += resolveExpression(text.slice(start + 2, end), env);
    i = end + 1;
  }
  return out;
}

function resolveExpression(expression: string, env: Env): string {
  const sep = expression.indexOf(':-');
  const name = sep === -1 ? expression : expression.slice(0, sep);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid variable name "${name}"`);
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  return sep === -1 ? '' : substituteEnv(expression.slice(sep + 2), env);
}

function findClosingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}' && --depth === 0) {
      return i;
    }
  }
  return -1;
}

/** Walks parsed YAML and substitutes every string; `path` names the key in error messages. */
export function substituteTree(value: unknown, env: Env, path: string[] = []): unknown {
  if (typeof value === 'string') {
    try {
      return substituteEnv(value, env);
    } catch (error) {
      throw new ConfigError(path, (error as Error).message);
    }
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteTree(item, env, [...path, String(index)]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteTree(item, env, [...path, key])]));
  }
  return value;
}

/** A boot error: not an HTTP error, it stops start-up with a coded message naming the key path. */
export class ConfigError extends Error {
  readonly code: string;
  constructor(path: readonly (string | number)[], reason: string, code = 'SY_CONFIG_INVALID') {
    super(path.length ? `${code}: ${formatKeyPath(path)}: ${reason}` : `${code}: ${reason}`);
    this.name = 'ConfigError';
    this.code = code;
  }
}

/** `routing.0.targets.1.provider` reads better as `routing[0].targets[1].provider`. */
export function formatKeyPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}
