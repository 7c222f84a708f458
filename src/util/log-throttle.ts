/**
 * One log line per interval for a failure that repeats at request rate (an outage): the first goes out at once,
 * the next ones wait for the interval and say how many were held back meanwhile.
 */
export class LogThrottle {
  private last = Number.NEGATIVE_INFINITY;
  private held = 0;

  constructor(private readonly intervalMs: number) {}

  /** Calls `write` with the count of lines held back since the last one, unless this one is to be held back too. */
  log(write: (suppressed: number) => void, now = Date.now()): void {
    if (now - this.last < this.intervalMs) {
      this.held++;
      return;
    }
    this.last = now;
    const suppressed = this.held;
    this.held = 0;
    write(suppressed);
  }
}
