/** A uPlot chart of one time axis and stacked bar series; it follows its container's width. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: number[];
}

export interface ChartProps {
  /** Epoch seconds, one per bar. */
  times: number[];
  series: ChartSeries[];
  format: (value: number) => string;
  /** Label of a time on the legend (a day, an hour). */
  timeLabel: (epochSeconds: number) => string;
  /** What one bar is, on the legend: "Day", "Hour". */
  timeTitle: string;
  /** Counts: ticks on whole numbers only. */
  integers?: boolean;
  height?: number;
  title: string;
}

const INTEGER_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000];
const PALETTE = ['#4f6bed', '#e8833a', '#3aa776', '#c2477d', '#8a6fd1', '#d4b21f', '#2fa4b8', '#9a5b3c', '#7f8c99'];
const STATUS_COLOURS: Record<string, string> = { '2xx': '#3aa776', '3xx': '#2fa4b8', '4xx': '#e8833a', '5xx': '#d64545' };

function colour(label: string, index: number): string {
  return STATUS_COLOURS[label] ?? PALETTE[index % PALETTE.length];
}

/**
 * Stacking by hand: each series is drawn as the running total of itself and the ones below it, tallest first, so
 * every bar shows its own slice on top of the others; the legend still shows each series' own value.
 */
function stackedData(props: ChartProps): uPlot.AlignedData {
  const running = props.times.map(() => 0);
  const totals = props.series.map((entry) => entry.values.map((value, i) => (running[i] += value)));
  return [props.times, ...totals.reverse()];
}

/** Seconds between two bars. */
function step(props: ChartProps): number {
  return props.times.length > 1 ? props.times[1] - props.times[0] : 86_400;
}

function options(props: ChartProps, width: number): uPlot.Options {
  const ordered = [...props.series].reverse();
  const bars = uPlot.paths.bars?.({ size: [0.7, 48], align: 0 });
  return {
    width,
    height: props.height ?? 220,
    title: props.title,
    legend: { live: true },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    // Half a bar of room at each end, so the first and the newest bar show whole.
    scales: {
      x: { time: true, range: (_u, min, max) => [min - step(props) / 2, max + step(props) / 2] },
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
    },
    axes: [
      { stroke: '#667', grid: { stroke: '#eef0f4' } },
      {
        stroke: '#667',
        grid: { stroke: '#eef0f4' },
        size: 84,
        values: (_u, splits) => splits.map(props.format),
        ...(props.integers ? { incrs: INTEGER_STEPS } : {}),
      },
    ],
    series: [
      { label: props.timeTitle, value: (_u, value) => (value === null ? '—' : props.timeLabel(value)) },
      ...ordered.map((entry, i) => {
        const index = props.series.length - 1 - i;
        const fill = colour(entry.label, index);
        return {
          label: entry.label,
          fill,
          stroke: fill,
          width: 0,
          paths: bars,
          points: { show: false },
          value: (_u: uPlot, _value: number | null, _series: number, at: number | null) =>
            at === null || at === undefined ? '—' : props.format(entry.values[at] ?? 0),
        };
      }),
    ],
  };
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  // Drawn again only when the numbers change, not each time a page refreshes to the same answer.
  const signature = JSON.stringify([props.title, props.times, props.series]);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const plot = new uPlot(options(props, Math.max(280, element.clientWidth)), stackedData(props), element);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(280, element.clientWidth), height: props.height ?? 220 }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [signature]);
  return <div class="chart" ref={box} />;
}
