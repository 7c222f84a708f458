/** Child processes for the benchmark: start a server, wait until it listens, sample its RSS and CPU, stop it. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Service {
  name: string;
  url: string;
  child: ChildProcess;
  /** From spawn to the line that says it listens. */
  startMs: number;
  /** Resident memory once listening, before any request. */
  idleRssMiB: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** A line that carries the port once the server listens; by default `port=<n>` or `listening on http://…:<n>`. */
  ready?: RegExp;
}

const READY = [/port=(\d+)/, /listening on http:\/\/[^:]+:(\d+)/];

/**
 * Starts `node <args>` — plain JavaScript unless the args load a loader themselves, so no row pays for a loader
 * it would not have in production — and resolves once it prints its port.
 */
export async function startService(name: string, args: string[], options: StartOptions = {}): Promise<Service> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const patterns = options.ready ? [options.ready] : READY;
  let tail = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onLine = (line: string) => {
      tail = `${tail}\n${line}`.slice(-600);
      for (const pattern of patterns) {
        const match = pattern.exec(line);
        if (match) return resolve(Number(match[1]));
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before listening:${tail}`)));
  });
  const startMs = Number(process.hrtime.bigint() - started) / 1e6;
  // Keep draining output so a chatty child never blocks on a full pipe.
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    child,
    startMs,
    idleRssMiB: rssMiB(child.pid!),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resident memory of a process in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Clock ticks per second of /proc's CPU times (100 on every usual Linux, asked anyway). */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/**
 * CPU time a process has used, in milliseconds: user + system from /proc/<pid>/stat, which for a process (its
 * thread group) sums all its threads — the main thread, libuv's pool (sqlite3, DNS, fs), V8's GC and compiler
 * threads, and threads that have already exited. Divided by the requests served it gives CPU per request: a cost
 * the machine's noise hardly moves, unlike requests per second.
 */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // Fields 14 and 15 of the whole line (utime, stime), in clock ticks.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** Samples a process's RSS every 50 ms until stopped; returns the peak. */
export function sampleRss(pid: number): { stop(): number } {
  let peak = 0;
  const take = () => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // The process is gone: keep the peak seen so far.
    }
  };
  take();
  const timer = setInterval(take, 50);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}
