/** What one provider entry did lately: requests, errors, latency and TTFT over a sliding five-minute window. */

export const STATS_WINDOW_MS = 5 * 60_000;
/** Bounds memory per entry at any request rate; the window then covers the newest samples only. */
const MAX_SAMPLES = 5000;
/** Weight of the newest answer in the latency average lowest-latency ranks by. */
const EWMA_ALPHA = 0.3;

interface Sample {
  at: number;
  ok: boolean;
  latencyMs: number;
  ttftMs: number | undefined;
}

export interface StatsView {
  requests: number;
  errors: number;
  p50LatencyMs: number | null;
  p50TtftMs: number | null;
}

export class TargetStats {
  private samples: Sample[] = [];
  private head = 0;
  /** Time to the first answer byte (TTFT for streams, the whole answer otherwise), smoothed; undefined until measured. */
  responseMs: number | undefined;
  /** When `responseMs` last took a sample (clock ms): exploration measures the stalest target again. */
  measuredAt = 0;

  record(at: number, ok: boolean, latencyMs: number, ttftMs: number | undefined): void {
    this.samples.push({ at, ok, latencyMs, ttftMs });
    if (this.samples.length - this.head > MAX_SAMPLES) this.head++;
    this.prune(at);
  }

  /** Only answers that arrived say how fast a target is; failures say nothing about speed. */
  measure(at: number, responseMs: number): void {
    this.responseMs = this.responseMs === undefined ? responseMs : EWMA_ALPHA * responseMs + (1 - EWMA_ALPHA) * this.responseMs;
    this.measuredAt = at;
  }

  view(now: number): StatsView {
    this.prune(now);
    const live = this.samples.slice(this.head);
    const latencies = live.map((sample) => sample.latencyMs);
    const ttfts = live.flatMap((sample) => (sample.ttftMs === undefined ? [] : [sample.ttftMs]));
    return { requests: live.length, errors: live.filter((sample) => !sample.ok).length, p50LatencyMs: median(latencies), p50TtftMs: median(ttfts) };
  }

  private prune(now: number): void {
    while (this.head < this.samples.length && this.samples[this.head].at <= now - STATS_WINDOW_MS) this.head++;
    // Compacting now and then keeps `push` amortised O(1) without a ring buffer's bookkeeping.
    if (this.head > 1024 && this.head * 2 > this.samples.length) {
      this.samples = this.samples.slice(this.head);
      this.head = 0;
    }
  }
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return Math.round(sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2);
}
