/** Key expiry as users write it: a date (the key works through that day, UTC), an ISO time, or a duration (`30d`). */

const DAY_MS = 86_400_000;

/**
 * Epoch ms of the first instant the key no longer works. Throws a RangeError saying what is accepted. `now` is the
 * clock a duration counts from.
 */
export function expiryFrom(text: string, now: number): number {
  const value = text.trim();
  const duration = /^(\d{1,5})\s*([dh])$/i.exec(value);
  if (duration) {
    const amount = Number(duration[1]);
    if (amount <= 0) throw new RangeError(`an expiry duration must be more than zero, got '${text}'`);
    return now + amount * (duration[2].toLowerCase() === 'd' ? DAY_MS : 3_600_000);
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const day = Date.parse(`${value}T00:00:00Z`);
    if (Number.isNaN(day) || new Date(day).toISOString().slice(0, 10) !== value) throw new RangeError(`'${text}' is not a calendar date`);
    // A date means "through that day": the key stops working at the next midnight, UTC.
    return day + DAY_MS;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return at;
  }
  throw new RangeError(`an expiry must be a date (2027-01-31), an ISO time or a number of days (30d), got '${text.slice(0, 60)}'`);
}
