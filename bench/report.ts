/** The benchmark's report: medians over repetitions, ratios to the passthrough, added latency, and the targets. */
import type { SlowStreamResult } from './slow-streams.ts';

export interface ScenarioResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  peakRssMiB?: number;
  /** CPU the target process spent per request, in microseconds. */
  cpuUsPerRequest?: number;
}

export interface PreciseResult {
  p50: number;
  p99: number;
  ttftP50: number;
  errors: number;
}

export interface Report {
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  startedAt: string;
  durationS: number;
  reps: number;
  sseModel: string;
  /** scenario → target → one result per repetition */
  scenarios: Record<string, Record<string, ScenarioResult[]>>;
  precise: Record<string, { jsonC1: PreciseResult; sseC1: PreciseResult; sseC16: PreciseResult }>;
  slowStreams: (SlowStreamResult & { target: string })[];
  totalSeconds?: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const fixed = (value: number | undefined, digits = 2) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits));

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function printReport(report: Report): void {
  const rows: string[][] = [];
  for (const [scenario, byTarget] of Object.entries(report.scenarios)) {
    const baseline = median(byTarget.passthrough.map((run) => run.rps));
    for (const [target, runs] of Object.entries(byTarget)) {
      const peak = Math.max(...runs.map((run) => run.peakRssMiB ?? 0));
      rows.push([
        scenario,
        target,
        fixed(median(runs.map((run) => run.rps)), 0),
        fixed(median(runs.map((run) => run.p50)), 0),
        fixed(median(runs.map((run) => run.p99)), 0),
        target === 'direct' ? '-' : fixed(median(runs.map((run) => run.rps)) / baseline),
        peak ? fixed(peak, 0) : '-',
        runs[0].cpuUsPerRequest === undefined ? '-' : fixed(median(runs.map((run) => run.cpuUsPerRequest!)), 0),
        String(runs.reduce((sum, run) => sum + run.errors, 0)),
      ]);
    }
  }
  console.log(`\nSwitchyard benchmark — ${report.machine.cpus}× ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}; ${report.reps} × ${report.durationS}s runs, SSE = ${report.sseModel}\n`);
  console.log(table(['scenario', 'target', 'rps', 'p50 ms', 'p99 ms', '×passthrough', 'peak RSS MiB', 'CPU µs/req', 'errors'], rows));

  const direct = report.precise.direct;
  const precise = Object.entries(report.precise).map(([target, result]) => [
    target,
    fixed(result.jsonC1.p50, 3),
    target === 'direct' ? '-' : fixed(result.jsonC1.p50 - direct.jsonC1.p50, 3),
    fixed(result.sseC1.ttftP50, 3),
    target === 'direct' ? '-' : fixed(result.sseC1.ttftP50 - direct.sseC1.ttftP50, 3),
    fixed(result.sseC16.ttftP50, 3),
    String(result.jsonC1.errors + result.sseC1.errors + result.sseC16.errors),
  ]);
  console.log('\nPrecise timings (ms, microsecond clock):\n');
  console.log(table(['target', 'json c1 p50', 'added vs direct', 'sse c1 TTFT p50', 'added TTFT', 'sse c16 TTFT p50', 'errors'], precise));

  if (report.slowStreams.length > 0) {
    console.log('\nConcurrent slow streams (20 chunks × 100 ms each, all open at once):\n');
    console.log(table(['target', 'streams', 'completed', 'seconds', 'peak RSS MiB'], report.slowStreams.map((run) => [run.target, String(run.streams), String(run.completed), fixed(run.seconds, 1), fixed(run.peakRssMiB, 0)])));
  }
  printTargets(report);
}

function printTargets(report: Report): void {
  const ratio = (scenario: string, target: string) => median(report.scenarios[scenario][target].map((run) => run.rps)) / median(report.scenarios[scenario].passthrough.map((run) => run.rps));
  const checks: [string, boolean, string][] = [];
  for (const target of Object.keys(report.precise).filter((name) => name.startsWith('switchyard'))) {
    for (const scenario of Object.keys(report.scenarios).filter((name) => /^(json c16|json c64|sse c16)/.test(name))) {
      checks.push([`${target}: ${scenario} rps ≥ 0.8× passthrough`, ratio(scenario, target) >= 0.8, fixed(ratio(scenario, target))]);
    }
    const added = report.precise[target].jsonC1.p50 - report.precise.direct.jsonC1.p50;
    checks.push([`${target}: added p50 at c1 ≤ 0.6 ms`, added <= 0.6, `${fixed(added, 3)} ms`]);
    const ttft = report.precise[target].sseC1.ttftP50 - report.precise.direct.sseC1.ttftP50;
    checks.push([`${target}: added SSE TTFT p50 at c1 ≤ 1 ms`, ttft <= 1, `${fixed(ttft, 3)} ms`]);
    const peak = Math.max(...report.scenarios['json c64'][target].map((run) => run.peakRssMiB ?? 0));
    checks.push([`${target}: peak RSS at c64 ≤ 200 MiB`, peak <= 200, `${fixed(peak, 0)} MiB`]);
    const slow = report.slowStreams.find((run) => run.target === target);
    if (slow) checks.push([`${target}: ${slow.streams} slow streams ≤ 300 MiB, all complete`, slow.peakRssMiB <= 300 && slow.completed === slow.streams, `${fixed(slow.peakRssMiB, 0)} MiB, ${slow.completed}/${slow.streams}`]);
  }
  console.log('\nTargets:\n');
  for (const [name, ok, value] of checks) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${name}  (${value})`);
}
