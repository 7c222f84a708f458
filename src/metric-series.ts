/**
 * prom-client's Counter and Histogram with cheaper updates, for the metrics every model call updates (nine of them).
 * prom-client finds a series by building a string from the label object and checking each label name on every
 * update, and a histogram finds its bucket by the bound's decimal string; that was ~4 % of the gateway's busy time.
 * Here a series is found with one Map lookup on its label values and kept as prom-client's own entry, so what
 * `/metrics` shows is exactly what prom-client would show. It relies on prom-client 15's entries in `hashMap`
 * (pinned; a unit test compares the output with prom-client's own updates), and falls back to prom-client for
 * anything unusual: a first update of a series, a value that is not finite, a counter going down.
 */
import { Counter, type CounterConfiguration, Histogram, type HistogramConfiguration, type LabelValues } from 'prom-client';

interface CounterEntry {
  value: number;
}

interface HistogramEntry {
  sum: number;
  count: number;
  bucketValues: Record<string, number>;
}

/** What prom-client keeps per series, by its own label hash (not part of its typed API). */
interface Internals<Entry> {
  hashMap: Record<string, Entry>;
}

/** A series' key: its label values in the metric's label order. */
function seriesKey(names: readonly string[], labels: Record<string, unknown>): string {
  let key = '';
  for (const name of names) key += `${labels[name]}\u0000`;
  return key;
}

/** The entry prom-client made for `labels` on its first update. */
function entryOf<Entry>(metric: Internals<Entry>, names: readonly string[], labels: Record<string, unknown>): Entry | undefined {
  const wanted = seriesKey(names, labels);
  for (const entry of Object.values(metric.hashMap) as (Entry & { labels: Record<string, unknown> })[]) {
    if (seriesKey(names, entry.labels) === wanted) return entry;
  }
  return undefined;
}

export class FastCounter<T extends string> extends Counter<T> {
  private readonly series = new Map<string, CounterEntry>();
  private readonly names: readonly string[];

  constructor(config: CounterConfiguration<T>) {
    super(config);
    this.names = config.labelNames ?? [];
    const slow = this.inc.bind(this) as (labels: LabelValues<T>, value?: number) => void;
    // prom-client sets `inc` on the instance, so it is replaced the same way.
    this.inc = ((labels: LabelValues<T> | number | undefined, value?: number) => {
      if (typeof labels !== 'object' || labels === null) return slow({} as LabelValues<T>, labels as number | undefined);
      const amount = value ?? 1;
      const key = seriesKey(this.names, labels);
      const entry = this.series.get(key);
      if (entry && Number.isFinite(amount) && amount >= 0) {
        entry.value += amount;
        return;
      }
      slow(labels, value);
      const made = entryOf(this as unknown as Internals<CounterEntry>, this.names, labels);
      if (made) this.series.set(key, made);
    }) as Counter<T>['inc'];
  }

  override reset(): void {
    super.reset();
    // Also called by prom-client's constructor, before this class's fields exist.
    this.series?.clear();
  }
}

export class FastHistogram<T extends string> extends Histogram<T> {
  private readonly series = new Map<string, HistogramEntry>();
  private readonly names: readonly string[];
  /** The bucket bounds, and the keys prom-client gives them in `bucketValues`. */
  private readonly bounds: readonly number[];
  private readonly boundKeys: readonly string[];

  constructor(config: HistogramConfiguration<T>) {
    super(config);
    this.names = config.labelNames ?? [];
    this.bounds = (this as unknown as { upperBounds: number[] }).upperBounds;
    this.boundKeys = this.bounds.map(String);
    const slow = this.observe.bind(this) as (labels: LabelValues<T>, value: number) => void;
    // prom-client sets `observe` on the instance, so it is replaced the same way.
    this.observe = ((labels: LabelValues<T> | number, value?: number) => {
      if (typeof labels !== 'object' || labels === null) return slow({} as LabelValues<T>, labels as number);
      const key = seriesKey(this.names, labels);
      const entry = this.series.get(key);
      if (entry && Number.isFinite(value)) {
        entry.sum += value!;
        entry.count += 1;
        const bucket = this.bucketOf(value!);
        if (bucket !== undefined) entry.bucketValues[bucket] += 1;
        return;
      }
      slow(labels, value!);
      const made = entryOf(this as unknown as Internals<HistogramEntry>, this.names, labels);
      if (made) this.series.set(key, made);
    }) as Histogram<T>['observe'];
  }

  /** The key of the first bucket whose bound is at least `value`; none above the last bound (only +Inf counts it). */
  private bucketOf(value: number): string | undefined {
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]) return this.boundKeys[i];
    return undefined;
  }

  override reset(): void {
    super.reset();
    // Also called by prom-client's constructor, before this class's fields exist.
    this.series?.clear();
  }
}
