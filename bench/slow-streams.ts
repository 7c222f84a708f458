/** Holds many slow streams open at once through one target and checks that every one completes, and at what memory. */
import { Pool } from 'undici';
import { sampleRss } from './processes.ts';

export interface SlowStreamResult {
  streams: number;
  completed: number;
  peakRssMiB: number;
  seconds: number;
}

/** Each stream: 20 chunks, 100 ms apart (about two seconds), all `count` of them open at the same time. */
export async function slowStreams(url: string, headers: Record<string, string>, pid: number, count: number): Promise<SlowStreamResult> {
  const pool = new Pool(url, { connections: count, keepAliveTimeout: 10_000 });
  const rss = sampleRss(pid);
  const started = Date.now();
  const body = JSON.stringify({ model: 'bench-sse-20-100', messages: [{ role: 'user', content: 'Say hello slowly' }], max_tokens: 64, stream: true });
  const one = async (): Promise<boolean> => {
    try {
      const response = await pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
      let tail = '';
      for await (const part of response.body) tail = (tail + part.toString()).slice(-64);
      return response.statusCode === 200 && tail.includes('data: [DONE]');
    } catch {
      return false;
    }
  };
  const results = await Promise.all(Array.from({ length: count }, one));
  const seconds = (Date.now() - started) / 1000;
  await pool.close();
  return { streams: count, completed: results.filter(Boolean).length, peakRssMiB: rss.stop(), seconds };
}
