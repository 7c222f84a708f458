/**
 * Tool names longer than chat providers accept (64 characters) are shortened reversibly: the first 55 characters,
 * `_` and 8 hex digits of the name's SHA-256, so two long names with one prefix stay distinct. One instance per
 * call remembers what it shortened and restores the original names in answers and streams.
 */
import { createHash } from 'node:crypto';

export const MAX_TOOL_NAME = 64;
const KEEP = 55;

/** The name a chat provider sees. */
export function shortToolName(name: string): string {
  if (name.length <= MAX_TOOL_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, KEEP)}_${hash}`;
}

export class ToolNames {
  private readonly originals = new Map<string, string>();

  /** Shortens `name` if needed and remembers the original. */
  toUpstream(name: string): string {
    const short = shortToolName(name);
    if (short !== name) this.originals.set(short, name);
    return short;
  }

  /** The client's own name for a name the upstream answered with. */
  toClient(name: string): string {
    return this.originals.get(name) ?? name;
  }
}
