/**
 * A fast mock upstream for benchmarks: answers as fast as node:http can. The model name picks the shape:
 * `bench-json` → one chat.completion (`bench-json-<ms>`: after that many milliseconds, like a model that thinks);
 * `bench-sse-<chunks>-<delayMs>` → an SSE stream with a usage chunk.
 * Prints `port=<n>` on stdout once listening.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const JSON_BODY = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1741569952,
    model: 'bench-json',
    choices: [
      { index: 0, message: { role: 'assistant', content: 'Hello from the benchmark upstream.', refusal: null }, logprobs: null, finish_reason: 'stop' },
    ],
    usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 },
  }),
);

function chunk(model: string, content: string): string {
  return `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1741569952,"model":"${model}","choices":[{"index":0,"delta":{"content":"${content}"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`;
}

async function stream(res: http.ServerResponse, model: string, chunks: number, delayMs: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (let i = 0; i < chunks; i++) {
    if (res.destroyed) return;
    res.write(chunk(model, ` tok${i}`));
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  res.write(
    `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1741569952,"model":"${model}","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":${chunks},"total_tokens":${12 + chunks}}}\n\n`,
  );
  res.end('data: [DONE]\n\n');
}

const server = http.createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => {
    const model = /"model"\s*:\s*"([^"]+)"/.exec(Buffer.concat(parts).toString())?.[1] ?? 'bench-json';
    const sse = /^bench-sse-(\d+)-(\d+)$/.exec(model);
    if (sse) return void stream(res, model, Number(sse[1]), Number(sse[2]));
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': JSON_BODY.length });
      res.end(JSON_BODY);
    };
    const delayMs = Number(/^bench-json-(\d+)$/.exec(model)?.[1] ?? 0);
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`port=${(server.address() as AddressInfo).port}`));
