/**
 * `node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]`: what a V8 CPU profile's busy time went to,
 * as shares of the main thread's non-idle samples — by package or area (Node's HTTP code, Express, undici, knex,
 * our own modules…) and by the functions with the most self time. The benchmark's `--cpu-prof` writes the profiles.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The area a frame belongs to: a package under node_modules, a Node internal module, or our own source folder. */
function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : `(native) ${name}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const internal = /^node:(internal\/)?([^/]+(?:\/[^/]+)?)/.exec(url);
  if (internal) return `node:${internal[2].replace(/\.js$/, '')}`;
  const own = /\/(dist|src|plugins)\/(.+?)(\.[jt]s)?$/.exec(url);
  if (own) return `${own[1]}/${own[2].split('/').slice(0, -1).join('/') || own[2]}`;
  return url;
}

function summarize(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  for (const [index, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  let busy = 0;
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    busy += micros;
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + micros);
    const where = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist|src)\//, '$1/')}:${lineNumber + 1}`;
    functions.set(where, (functions.get(where) ?? 0) + micros);
  }
  const share = (micros: number) => `${((100 * micros) / busy).toFixed(1).padStart(5)} %`;
  const print = (title: string, entries: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [name, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${share(micros)}  ${name}`);
  };
  console.log(`${file}: ${(busy / 1e6).toFixed(2)} s busy (self time, idle and "(program)" excluded)`);
  print('By area (self time):', areas);
  print('By function (self time):', functions);
}

summarize(process.argv[2] ?? '', Number(process.argv[3] ?? 30));
