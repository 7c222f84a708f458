/**
 * Legacy completions in the mocks. The native `POST /v1/completions` (OpenAI, or a compatible server such as vLLM):
 * `text_completion` JSON with `len(prompts) × n` choices, or its SSE stream with the usage chunk when asked. And the
 * chat `echo` scenario the translation is checked with: each choice says `echo {j}: {prompt}`, with usage derived
 * from the prompt, so tests can tell which answer went where and what it cost.
 */
import type http from 'node:http';

type Json = Record<string, unknown>;

/** What the native completions route reports for every answer. */
export const NATIVE_COMPLETION_USAGE = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };

/** The text of echo choice `j` for `prompt` (chat `echo` scenario and native completions alike). */
export function echoText(prompt: string, j: number): string {
  return `echo ${j}: ${prompt}`;
}

/** The usage the chat `echo` scenario reports for one call: tests compute expected costs from it. */
export function echoUsage(prompt: string, n: number): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const prompt_tokens = 10 + prompt.length;
  const completion_tokens = n * (3 + prompt.length);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

/** The last user message of a chat request, as text. */
export function lastUserText(body: Json): string {
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string; content?: unknown }[]) : [];
  const content = messages.filter((message) => message.role === 'user').at(-1)?.content;
  return typeof content === 'string' ? content : JSON.stringify(content ?? '');
}

/** A chat completion whose `n` choices echo the prompt. */
export function echoChatCompletion(body: Json): Json {
  const prompt = lastUserText(body);
  const n = typeof body.n === 'number' ? body.n : 1;
  const choices = Array.from({ length: n }, (_, j) => ({
    index: j,
    message: { role: 'assistant', content: echoText(prompt, j), refusal: null },
    logprobs: null,
    finish_reason: 'stop',
  }));
  return {
    id: 'chatcmpl-echo',
    object: 'chat.completion',
    created: 1741569952,
    model: body.model,
    choices,
    usage: echoUsage(prompt, n),
    system_fingerprint: null,
  };
}

/** The stream pieces of the echo answer (choice 0). */
export function echoPieces(body: Json): string[] {
  return echoText(lastUserText(body), 0).split(/(?= )/);
}

function prompts(body: Json): string[] {
  const prompt = body.prompt;
  if (Array.isArray(prompt)) return prompt.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
  return [typeof prompt === 'string' ? prompt : JSON.stringify(prompt)];
}

/** The native answer: choices prompt-major, `native {j}: {prompt}`, so a test can tell it from a translation. */
export function nativeCompletion(body: Json): Json {
  const n = typeof body.n === 'number' ? body.n : 1;
  const choices = prompts(body).flatMap((prompt, i) =>
    Array.from({ length: n }, (_, j) => ({ text: `native ${j}: ${prompt}`, index: i * n + j, logprobs: null, finish_reason: 'length' })),
  );
  // A model named `…/no-usage` answers without `usage`, as some servers do.
  const usage = String(body.model).endsWith('/no-usage') ? {} : { usage: NATIVE_COMPLETION_USAGE };
  return { id: 'cmpl-native', object: 'text_completion', created: 1741569952, model: body.model, choices, ...usage };
}

/** The native stream: one chunk per word of choice 0, a finish chunk, the usage chunk when asked, `[DONE]`. */
export function streamNativeCompletion(res: http.ServerResponse, body: Json, withUsage: boolean): void {
  const wantsUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const head = { id: 'cmpl-native', object: 'text_completion', created: 1741569952, model: body.model };
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (data: unknown): boolean => res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  for (const piece of `native 0: ${prompts(body)[0]}`.split(/(?= )/)) {
    send({ ...head, choices: [{ text: piece, index: 0, logprobs: null, finish_reason: null }] });
  }
  send({ ...head, choices: [{ text: '', index: 0, logprobs: null, finish_reason: 'length' }] });
  if (wantsUsage && withUsage) send({ ...head, choices: [], usage: NATIVE_COMPLETION_USAGE });
  send('[DONE]');
  res.end();
}
