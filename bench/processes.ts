/** Child processes for the benchmark: start a script, wait for its `port=` line, sample its RSS, stop it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Service {
  name: string;
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `node --import tsx <args>` and resolves once it prints a `port=` line (or `listening on http://…:port`). */
export async function startService(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Service> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    const onLine = (line: string) => {
      const match = /port=(\d+)/.exec(line) ?? /listening on http:\/\/[^:]+:(\d+)/.exec(line);
      if (match) resolve(Number(match[1]));
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before listening`)));
  });
  // Keep draining output so a chatty child never blocks on a full pipe.
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    child,
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

/**
 * CPU time a process has used, in milliseconds (user + system, from /proc/<pid>/stat). Divided by the requests
 * served, it gives CPU per request: a cost the machine's noise hardly moves, unlike requests per second.
 */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // Fields 14 and 15 of the whole line (utime, stime), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
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
