/** Model-id globs: `*` matches any run of characters, `/` included; a `:suffix` is ignored. */

/** The model id without its routing suffix (`org/model:fastest` → `org/model`). */
export function stripModelSuffix(model: string): string {
  const colon = model.lastIndexOf(':');
  // Only a suffix after the last path segment counts: `org/model:groq`, not `host:port/x`.
  return colon > model.lastIndexOf('/') && colon > 0 ? model.slice(0, colon) : model;
}

/** Compiles a glob once into a matcher; called at start-up, never per request. */
export function compileGlob(glob: string): (value: string) => boolean {
  if (!glob.includes('*')) return (value) => value === glob;
  const pattern = glob.split('*').map(escapeRegExp).join('.*');
  const re = new RegExp(`^${pattern}$`, 's');
  return (value) => re.test(value);
}

/** Compiles a list of globs; the matcher is true when any of them matches. */
export function compileGlobs(globs: readonly string[]): (value: string) => boolean {
  const matchers = globs.map(compileGlob);
  return (value) => matchers.some((match) => match(value));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
