/**
 * A precise load driver (microsecond timings) for what autocannon rounds to whole milliseconds: latency at low
 * concurrency and time to the first streamed byte. Keep-alive undici pool, fixed concurrency, fixed request count.
 */
import { Pool } from 'undici';

export interface Timings {
  requests: number;
  errors: number;
  /** Milliseconds, ascending. */
  latencies: number[];
  ttfts: number[];
}

export interface DriveOptions {
  url: string;
  path: string;
  body: string;
  headers?: Record<string, string>;
  concurrency: number;
  requests: number;
}

export async function drive(options: DriveOptions): Promise<Timings> {
  const origin = new URL(options.url);
  const pool = new Pool(origin.origin, { connections: options.concurrency, keepAliveTimeout: 60_000 });
  const latencies: number[] = [];
  const ttfts: number[] = [];
  let errors = 0;
  let started = 0;
  const headers = { 'content-type': 'application/json', ...options.headers };
  const worker = async () => {
    while (started++ < options.requests) {
      const t0 = process.hrtime.bigint();
      try {
        const { statusCode, body } = await pool.request({ path: options.path, method: 'POST', headers, body: options.body });
        let first: bigint | undefined;
        for await (const _part of body) first ??= process.hrtime.bigint();
        const end = process.hrtime.bigint();
        if (statusCode !== 200) errors++;
        latencies.push(Number(end - t0) / 1e6);
        ttfts.push(Number((first ?? end) - t0) / 1e6);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  await pool.close();
  latencies.sort((a, b) => a - b);
  ttfts.sort((a, b) => a - b);
  return { requests: latencies.length, errors, latencies, ttfts };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
