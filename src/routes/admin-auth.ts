/** Constant-time check of an `Authorization: Bearer` token against a configured one. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Both sides are hashed first, so the comparison takes the same time whatever the lengths. */
export function tokenMatches(authorization: string | undefined, expected: string): boolean {
  if (!expected) return false;
  const presented = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected)) && presented.length > 0;
}
