/** The benchmark's report: one table of every target with ratios to the bare passthrough and to Portkey, the detail per scenario, precise timings, start-up, and the targets. */
import type { SlowStreamResult } from './slow-streams.ts';

export interface ScenarioResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  peakRssMiB?: number;
  /** CPU the target process (all its threads) spent per request, in microseconds. */
  cpuUsPerRequest?: number;
}

export interface PreciseResult {
  p50: number;
  p99: number;
  ttftP50: number;
  errors: number;
}

export interface Report {
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string; loadAverage: number[] };
  startedAt: string;
  quick: boolean;
  durationS: number;
  reps: number;
  sseModel: string;
  portkeyVersion: string;
  /** Targets measured, in table order. */
  targets: string[];
  /** Targets that could not run, and why. */
  unavailable: Record<string, string>;
  services: Record<string, { startMs: number; idleRssMiB: number }>;
  /** scenario → target → one result per repetition */
  scenarios: Record<string, Record<string, ScenarioResult[]>>;
  precise: Record<string, { jsonC1: PreciseResult; sseC1: PreciseResult; sseC16: PreciseResult }>;
  slowStreams: (SlowStreamResult & { target: string })[];
  totalSeconds?: number;
}

const BARE = 'passthrough';
const PORTKEY = 'portkey';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const fixed = (value: number | undefined, digits = 2) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits));
const signed = (value: number, digits: number) => (Number.isNaN(value) ? '-' : `${value < 0 ? '−' : '+'}${Math.abs(value).toFixed(digits)}`);
const whole = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '-' : Math.round(value).toLocaleString('en-US'));

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Median rps of a target in a scenario (undefined when it did not run). */
function rps(report: Report, scenario: string, target: string): number | undefined {
  const runs = report.scenarios[scenario]?.[target];
  return runs ? median(runs.map((run) => run.rps)) : undefined;
}

function ratio(report: Report, scenario: string, target: string, baseline: string): number | undefined {
  const value = rps(report, scenario, target);
  const base = rps(report, scenario, baseline);
  return value === undefined || !base ? undefined : value / base;
}

function peakRss(report: Report, target: string, scenario?: string): number {
  const scenarios = scenario ? [scenario] : Object.keys(report.scenarios);
  return Math.max(0, ...scenarios.flatMap((name) => (report.scenarios[name]?.[target] ?? []).map((run) => run.peakRssMiB ?? 0)));
}

function cpu(report: Report, scenario: string, target: string): number | undefined {
  const runs = report.scenarios[scenario]?.[target];
  return runs?.[0]?.cpuUsPerRequest === undefined ? undefined : median(runs.map((run) => run.cpuUsPerRequest!));
}

const addedP50 = (report: Report, target: string) => report.precise[target].jsonC1.p50 - report.precise.direct.jsonC1.p50;
const addedTtft = (report: Report, target: string) => report.precise[target].sseC16.ttftP50 - report.precise.direct.sseC16.ttftP50;

/** The headline: every target in one table, with ratios (JSON c16 / JSON c64 / SSE c16) to the bare passthrough and to Portkey. */
function summary(report: Report): string {
  const ratios = (target: string, baseline: string) =>
    report.targets.includes(baseline)
      ? ['json c16', 'json c64', 'sse c16'].map((scenario) => fixed(ratio(report, scenario, target, baseline))).join(' / ')
      : '-';
  const rows = report.targets.map((target) => {
    const slow = report.slowStreams.find((run) => run.target === target);
    return [
      target,
      `${whole(rps(report, 'json c1', target))} / ${signed(addedP50(report, target), 2)} ms`,
      whole(rps(report, 'json c16', target)),
      whole(rps(report, 'json c64', target)),
      `${whole(rps(report, 'sse c16', target))} / ${signed(addedTtft(report, target), 1)} ms`,
      whole(cpu(report, 'json c16', target)),
      whole(peakRss(report, target)),
      slow ? `${whole(slow.peakRssMiB)} MiB, ${slow.completed}/${slow.streams}` : '-',
      ratios(target, BARE),
      ratios(target, PORTKEY),
    ];
  });
  for (const [target, reason] of Object.entries(report.unavailable)) rows.push([target, `not run: ${reason}`, ...Array<string>(8).fill('-')]);
  return table(
    [
      'target',
      'JSON c1 rps / added p50',
      'JSON c16 rps',
      'JSON c64 rps',
      'SSE c16 streams/s / added TTFT p50',
      'CPU µs/req (JSON c16)',
      'peak RSS MiB',
      'slow streams',
      '× bare (c16 / c64 / SSE)',
      '× Portkey (c16 / c64 / SSE)',
    ],
    rows,
  );
}

function details(report: Report): string {
  const rows: string[][] = [];
  for (const [scenario, byTarget] of Object.entries(report.scenarios)) {
    for (const [target, runs] of Object.entries(byTarget)) {
      rows.push([
        scenario,
        target,
        whole(median(runs.map((run) => run.rps))),
        fixed(median(runs.map((run) => run.p50)), 0),
        fixed(median(runs.map((run) => run.p99)), 0),
        fixed(ratio(report, scenario, target, BARE)),
        fixed(ratio(report, scenario, target, PORTKEY)),
        whole(peakRss(report, target, scenario)),
        whole(cpu(report, scenario, target)),
        String(runs.reduce((sum, run) => sum + run.errors, 0)),
      ]);
    }
  }
  return table(['scenario', 'target', 'rps', 'p50 ms', 'p99 ms', '×bare', '×Portkey', 'peak RSS MiB', 'CPU µs/req', 'errors'], rows);
}

export function printReport(report: Report): void {
  const { machine } = report;
  console.log(
    `\nSwitchyard beside its peers — ${machine.cpus}× ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadAverage.map((load) => load.toFixed(1)).join(' ')}; ` +
      `${report.reps} × ${report.durationS} s runs${report.quick ? ' (--quick)' : ''}, SSE = ${report.sseModel}, Portkey ${report.portkeyVersion}\n`,
  );
  console.log(summary(report));
  console.log('\nAdded latency is against the mock upstream called directly (JSON at c1, time to first byte of SSE at c16); ratios are of median rps.\n');
  console.log(details(report));

  const precise = Object.entries(report.precise).map(([target, result]) => [
    target,
    fixed(result.jsonC1.p50, 3),
    target === 'direct' ? '-' : fixed(addedP50(report, target), 3),
    fixed(result.sseC1.ttftP50, 3),
    target === 'direct' ? '-' : fixed(result.sseC1.ttftP50 - report.precise.direct.sseC1.ttftP50, 3),
    fixed(result.sseC16.ttftP50, 3),
    target === 'direct' ? '-' : fixed(addedTtft(report, target), 3),
    String(result.jsonC1.errors + result.sseC1.errors + result.sseC16.errors),
  ]);
  console.log('\nPrecise timings (ms, microsecond clock):\n');
  console.log(table(['target', 'json c1 p50', 'added', 'sse c1 TTFT p50', 'added', 'sse c16 TTFT p50', 'added', 'errors'], precise));

  console.log('\nStart-up (spawn to listening) and memory before the first request:\n');
  console.log(
    table(
      ['target', 'start-up ms', 'idle RSS MiB'],
      Object.entries(report.services).map(([target, service]) => [target, whole(service.startMs), whole(service.idleRssMiB)]),
    ),
  );

  if (report.slowStreams.length > 0) {
    console.log('\nConcurrent slow streams (20 chunks × 100 ms each, all open at once):\n');
    console.log(
      table(
        ['target', 'streams', 'completed', 'seconds', 'peak RSS MiB'],
        report.slowStreams.map((run) => [run.target, String(run.streams), String(run.completed), fixed(run.seconds, 1), whole(run.peakRssMiB)]),
      ),
    );
  }
  printTargets(report);
}

function printTargets(report: Report): void {
  const checks: [string, boolean, string][] = [];
  const hasPortkey = report.targets.includes(PORTKEY);
  for (const target of report.targets.filter((name) => name.startsWith('switchyard'))) {
    for (const scenario of ['json c16', 'json c64']) {
      const bare = ratio(report, scenario, target, BARE) ?? 0;
      checks.push([`${target}: ${scenario} ≥ 0.5× bare`, bare >= 0.5, fixed(bare)]);
      if (hasPortkey) {
        const portkey = ratio(report, scenario, target, PORTKEY) ?? 0;
        checks.push([`${target}: ${scenario} ≥ 3× Portkey`, portkey >= 3, fixed(portkey)]);
      }
    }
    checks.push([`${target}: added p50 at c1 ≤ 0.4 ms`, addedP50(report, target) <= 0.4, `${fixed(addedP50(report, target), 3)} ms`]);
    const sse = ratio(report, 'sse c16', target, BARE) ?? 0;
    checks.push([`${target}: sse c16 ≥ 0.8× bare`, sse >= 0.8, fixed(sse)]);
    checks.push([`${target}: added TTFT p50 at c16 ≤ 2 ms`, addedTtft(report, target) <= 2, `${fixed(addedTtft(report, target), 3)} ms`]);
    const perRequest = cpu(report, 'json c16', target) ?? Infinity;
    checks.push([`${target}: CPU ≤ 300 µs per JSON request at c16 (all threads)`, perRequest <= 300, `${whole(perRequest)} µs`]);
    const peak = peakRss(report, target, 'json c64');
    checks.push([`${target}: peak RSS at c64 ≤ 160 MiB`, peak <= 160, `${whole(peak)} MiB`]);
    const slow = report.slowStreams.find((run) => run.target === target);
    if (slow)
      checks.push([
        `${target}: ${slow.streams} slow streams ≤ 250 MiB, all complete`,
        slow.peakRssMiB <= 250 && slow.completed === slow.streams,
        `${whole(slow.peakRssMiB)} MiB, ${slow.completed}/${slow.streams}`,
      ]);
  }
  if (report.targets.includes('switchyard-pg-redis')) {
    for (const scenario of ['json c16', 'json c64', 'sse c16']) {
      const share = ratio(report, scenario, 'switchyard-pg-redis', 'switchyard') ?? 0;
      checks.push([`PostgreSQL + Redis: ${scenario} within 15 % of SQLite`, share >= 0.85, fixed(share)]);
    }
  }
  if (report.targets.includes('switchyard-routing')) {
    // Not a target of its own: routing must cost nothing a run can tell apart from the noise for a request no pool matches.
    for (const scenario of ['json c16', 'json c64', 'sse c16']) {
      const share = ratio(report, scenario, 'switchyard-routing', 'switchyard') ?? 0;
      checks.push([`routing rules that do not match: ${scenario} within 5 % of no rules`, share >= 0.95, fixed(share)]);
    }
  }
  console.log('\nTargets:\n');
  for (const [name, ok, value] of checks) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${name}  (${value})`);
}
