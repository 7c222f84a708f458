/** Lets at most N log lines through per interval; the next line let through says how many were skipped. */
export class LogSampler {
  private windowStart = 0;
  private inWindow = 0;
  private skipped = 0;

  constructor(
    private readonly perInterval: number,
    private readonly intervalMs: number,
  ) {}

  /** Undefined: skip this line. Else log it, with the number of lines skipped since the last one. */
  take(now = Date.now()): { skipped: number } | undefined {
    if (now - this.windowStart >= this.intervalMs) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perInterval) {
      this.skipped++;
      return undefined;
    }
    this.inWindow++;
    const skipped = this.skipped;
    this.skipped = 0;
    return { skipped };
  }
}
