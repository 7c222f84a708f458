/**
 * A gateway in its own process (`node --import tsx src/cli/main.ts serve --config <file>`), for what only a real process
 * shows: SIGTERM handling, exit codes, `kill -9`. Its config is written as YAML (JSON is YAML), its logs and its
 * stdout/stderr go to this suite's log folder so the log scan reads them too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, logFile, testConfigObject, type GatewayOptions } from './gateway.ts';

export interface ChildGateway {
  url: string;
  baseURL: string;
  process: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let launched = 0;

/** Writes the config into `dataDir` and returns its path. */
export function writeChildConfig(options: GatewayOptions, dataDir: string, name: string): string {
  const config = testConfigObject(options, dataDir);
  (config.logging as Record<string, unknown>).file = path.join(path.dirname(logFile()), `child-${name}.log`);
  const file = path.join(dataDir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** Starts `serve` with the given config file and resolves once it listens. */
export async function spawnGateway(configFile: string, startTimeoutMs = 60_000): Promise<ChildGateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', configFile], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = createWriteStream(path.join(path.dirname(logFile()), `child-output-${++launched}.log`));
  child.stdout!.pipe(output);
  child.stderr!.pipe(output, { end: false });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`the gateway did not start within ${startTimeoutMs} ms: ${seen.slice(-500)}`)), startTimeoutMs);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const match = /switchyard listening on (http:\/\/\S+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve(match[1]);
      }
    };
    const fail = (error: Error): void => {
      child.kill('SIGKILL');
      reject(error);
    };
    child.stderr!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited with ${code} before listening: ${seen.slice(-500)}`));
    });
  });
  return { url, baseURL: `${url}/v1`, process: child, exited };
}
