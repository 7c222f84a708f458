/**
 * The last resort of a clean shutdown: usage rows (and their settlements) that could not reach the database before
 * exit are appended to a local file, and the next start claims that file and queues them again. A row is never
 * lost to a database outage at shutdown; its settlement is applied when it is finally written (a hold released in
 * the meantime is charged from the balance instead, so the books still balance).
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { FinishedRequest } from './usage-row.ts';

/** Appends the items as JSON lines; the file holds key ids and token counts, never secrets, but stays private. */
export function spillRows(file: string, items: readonly FinishedRequest[]): void {
  if (items.length === 0) return;
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, items.map((item) => `${JSON.stringify(item)}\n`).join(''), { mode: 0o600 });
}

/**
 * Takes the spill file, if there is one, and returns its items. The rename makes the claim atomic: of several
 * instances starting at once on one database, exactly one replays the rows, so no settlement is applied twice.
 */
export function claimSpilledRows(file: string): FinishedRequest[] {
  const claimed = `${file}.${process.pid}.replaying`;
  try {
    renameSync(file, claimed);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const items = readFileSync(claimed, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as FinishedRequest);
  // From here they are queued like any other row: a clean shutdown spills them again if they cannot be written.
  unlinkSync(claimed);
  return items;
}
