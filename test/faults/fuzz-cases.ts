/**
 * The fuzzer's request generators: a seeded PRNG picks one of several families of malformed or hostile requests.
 * Every generated request is certain to be refused (bad body, wrong types, bad key, bad route, bad HTTP), so the
 * only right answer is an OpenAI-shaped 4xx.
 */

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function prng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number): number => Math.floor(next() * max);
  return { next, int, pick: <T>(items: readonly T[]): T => items[int(items.length)] };
}

export interface Rng {
  next(): number;
  int(max: number): number;
  pick<T>(items: readonly T[]): T;
}

export type Headers = [string, string][];

/** Sent with an HTTP client. */
export interface HttpCase {
  kind: 'http';
  family: string;
  method: string;
  path: string;
  headers: Headers;
  body?: Buffer;
}

/** Sent as bytes over a raw socket: what no client library would produce. */
export interface RawCase {
  kind: 'raw';
  family: string;
  bytes: Buffer;
}

export type FuzzCase = HttpCase | RawCase;

export interface Keys {
  /** A valid, unlimited key: its requests must be refused for what they carry, not for who sends them. */
  valid: string;
  /** A valid key limited by `--models` to `allowed/*`. */
  limited: string;
}

const CHAT = '/v1/chat/completions';
const ODD = [
  '\u0000',
  '\u202e',
  '\u200b',
  '\ufeff',
  '\ud83d\ude00',
  '\uffff',
  'é',
  '\u0301',
  '\u2028',
  '\ud800',
  '\udfff',
  '𝕏',
  '\u0085',
  '"',
  '\\',
  '%00',
  '\r\n',
];

/** A string of odd characters; never holds a `/`, so it can never look like a routable `org/model` id. */
function oddString(rng: Rng, length: number): string {
  let out = '';
  while (out.length < length) out += rng.next() < 0.5 ? rng.pick(ODD) : String.fromCharCode(32 + rng.int(15));
  return out.replaceAll('/', '');
}

const base = (): Record<string, unknown> => ({ model: 'org/model', messages: [{ role: 'user', content: 'Hi' }] });

/** Fields the gateway checks, each with values its schema refuses. */
const WRONG: [string[], unknown[]][] = [
  [['model'], [5, null, [], {}, '', true, 'm'.repeat(600)]],
  [['messages'], [[], 'hi', {}, null, 5, [null], [1], ['hi'], [[]]]],
  [
    ['messages', '0', 'role'],
    [5, null, '', [], {}, 'r'.repeat(100)],
  ],
  [
    ['messages', '0', 'content'],
    [5, {}, true],
  ],
  [['stream'], ['yes', 1, [], {}]],
  [['stream_options'], ['x', 5, [], true]],
  [
    ['stream_options', 'include_usage'],
    ['x', 5, {}],
  ],
  [['max_tokens'], [-1, 0, 1.5, 'ten', 1e12, [], {}]],
  [['max_completion_tokens'], [-5, 0.1, '1', 1e9 * 1e3]],
  [['n'], [0, 200, 1.5, 'x', -1]],
  [['tools'], ['x', 5, {}, true]],
];

const COMPLETIONS = '/v1/completions';

/** Legacy completions fields with values the schema refuses, or that a translated provider cannot serve (400 too). */
const WRONG_COMPLETIONS: [string, unknown[]][] = [
  ['prompt', [5, null, [], {}, true, [null], [{}], [1.5], [['a']], [1, 2], [[1, 2]]]],
  ['max_tokens', [-1, 0, 'ten', 1.5, 1e12]],
  ['n', [0, 200, 'x']],
  ['best_of', [0, 'x', 2]],
  ['echo', [true]],
  ['suffix', ['tail']],
  ['logprobs', [0, 3]],
  ['stream', ['yes', 1]],
];

/** `org/model` is served by translation to chat, so every body here is refused before any upstream call. */
function completionsWrongTypes(rng: Rng, keys: Keys): FuzzCase {
  const body: Record<string, unknown> = { model: 'org/model', prompt: 'Hi' };
  const roll = rng.int(8);
  if (roll === 0) delete body.prompt;
  else if (roll === 1) Object.assign(body, { prompt: ['one', 'two'], stream: true });
  else {
    const [field, values] = rng.pick(WRONG_COMPLETIONS);
    body[field] = rng.pick(values);
  }
  return json('completions-wrong-types', bearer(keys.valid), body, COMPLETIONS);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target as Record<string, unknown>;
  for (const part of path.slice(0, -1)) {
    if (!node[part] || typeof node[part] !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

function bearer(key: string): Headers {
  return [['authorization', `Bearer ${key}`]];
}

function json(family: string, headers: Headers, body: unknown, path = CHAT): HttpCase {
  return { kind: 'http', family, method: 'POST', path, headers: [['content-type', 'application/json'], ...headers], body: Buffer.from(JSON.stringify(body)) };
}

function wrongTypes(rng: Rng, keys: Keys): FuzzCase {
  const body = base();
  const roll = rng.int(10);
  if (roll === 0) delete body[rng.pick(['model', 'messages'])];
  else if (roll === 1)
    body.model = oddString(rng, 1 + rng.int(40)); // no `/`: no provider serves it → 404
  else if (roll === 2) body.provider = rng.pick(['nope', 5, '', '../openai', true]);
  else if (roll === 3)
    return json('wrong-types', bearer(keys.limited), body); // org/model is outside allowed/* → 403
  else {
    const [path, values] = rng.pick(WRONG);
    setPath(body, path, rng.pick(values));
  }
  return json('wrong-types', bearer(keys.valid), body);
}

function badJson(rng: Rng): FuzzCase {
  const text = JSON.stringify({ ...base(), temperature: 0.5 });
  const variants = [
    () => text.slice(0, rng.int(text.length)),
    () => `${text}${rng.pick(['}', ',', 'x', '{}', ' null'])}`,
    () => text.replaceAll('"', "'"),
    () => text.replace('0.5', rng.pick(['NaN', 'Infinity', '-', '0x10', '.5', '01'])),
    () => `\ufeff${text}`,
    () => rng.pick(['', 'null', '[]', '"string"', '123', 'true', '[{}]']),
    () => text.replace(':', rng.pick(['', '::', '='])),
    () => oddString(rng, 50),
  ];
  // A key that cannot exist: a body that happens to parse is refused with 401 instead of reaching an upstream.
  return {
    kind: 'http',
    family: 'bad-json',
    method: 'POST',
    path: CHAT,
    headers: [['content-type', 'application/json'], ...bearer('sk-sy-bogus')],
    body: Buffer.from(rng.pick(variants)()),
  };
}

function hugeStrings(rng: Rng, keys: Keys): FuzzCase {
  const size = rng.next() < 0.02 ? 5 * 1024 * 1024 : 1024 * (1 + rng.int(256));
  const big = 'A'.repeat(size);
  const bodies = [
    { model: big, messages: base().messages },
    { model: 'org/model', messages: [{ role: big, content: 'x' }] },
    { model: 'org/model', content: big },
  ];
  return json('huge-strings', bearer(keys.valid), rng.pick(bodies));
}

function deepNesting(rng: Rng, keys: Keys): FuzzCase {
  const depth = 65 + rng.int(rng.next() < 0.1 ? 100_000 : 500);
  const [open, close] = rng.pick([
    ['[', ']'],
    ['{"a":', '}'],
  ]);
  const text = `{"model":"org/model","messages":[{"role":"user","content":"Hi"}],"x":${open.repeat(depth)}1${close.repeat(depth)}}`;
  return {
    kind: 'http',
    family: 'deep-nesting',
    method: 'POST',
    path: CHAT,
    headers: [['content-type', 'application/json'], ...bearer(keys.valid)],
    body: Buffer.from(text),
  };
}

function oddUnicode(rng: Rng, keys: Keys): FuzzCase {
  const roll = rng.int(4);
  if (roll === 0) {
    // Invalid UTF-8 bytes inside a string of a body that also lacks `messages`.
    const bytes = Buffer.concat([Buffer.from('{"model":"'), Buffer.from([0xc0, 0xaf, 0xff, 0xfe, 0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    return {
      kind: 'http',
      family: 'odd-unicode',
      method: 'POST',
      path: CHAT,
      headers: [['content-type', 'application/json'], ...bearer(keys.valid)],
      body: bytes,
    };
  }
  if (roll === 1)
    return json('odd-unicode', bearer(keys.valid), { model: oddString(rng, 30), messages: [{ role: oddString(rng, 10), content: oddString(rng, 200) }] });
  // zod counts code points: 140 UTF-16 units are at least 70 of them, past the 64 a role may have.
  if (roll === 2) return json('odd-unicode', bearer(keys.valid), { model: 'org/model', messages: [{ role: oddString(rng, 140), content: 'x' }] });
  // UTF-8 bytes read as Latin-1: what a client sending raw non-ASCII in a header puts on the wire.
  const key = Buffer.from(oddString(rng, 20))
    .toString('latin1')
    .replace(/[\0\r\n]/g, '');
  return json('odd-unicode', [['authorization', `Bearer sk-sy-${key}`]], base());
}

function badHeaders(rng: Rng, keys: Keys): FuzzCase {
  const body = { model: 'org/model' }; // no messages: whoever is let in, the body is refused
  const variants: Headers[] = [
    [],
    [['authorization', rng.pick(['Bearer', 'Bearer ', 'bearer', 'Basic dXNlcjpwYXNz', `Token ${keys.valid}`, 'Bearer a b c', `Bearer ${keys.valid}x`])]],
    [['authorization', `Bearer sk-sy-${'Z'.repeat(43)}`]],
    [['authorization', `Bearer sk-sy-${Array.from({ length: 43 }, () => rng.pick([...'abcXYZ0189'])).join('')}`]],
    [
      ['x-api-key', 'sk-sy-short'],
      ['api-key', ''],
    ],
    [
      ['authorization', `Bearer ${keys.valid}`],
      ['authorization', 'Bearer sk-sy-second'],
    ],
    [
      ['authorization', 'Bearer sk-sy-first'],
      ['authorization', `Bearer ${keys.valid}`],
    ],
    [
      ['authorization', `Bearer ${keys.valid}`],
      ['content-type', rng.pick(['text/plain', 'application/json; charset=utf-16', 'application/json; charset=bogus', 'multipart/form-data'])],
    ],
    [
      ['authorization', `Bearer ${keys.valid}`],
      ['content-encoding', rng.pick(['gzip', 'br', 'deflate', 'identity, gzip', 'bogus'])],
    ],
    [
      ['authorization', `Bearer ${keys.valid}`],
      ['content-type', 'application/json'],
      ['content-type', 'text/html'],
    ],
  ];
  return json('bad-headers', rng.pick(variants), body);
}

function wrongRoutes(rng: Rng, _keys: Keys): FuzzCase {
  const method = rng.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'FOO', 'POST']);
  const path = rng.pick([
    CHAT,
    '/v1/models',
    '/v1/usage',
    '/health',
    '/metrics',
    '/admin/keys',
    '/v1/chat/completions/extra',
    '/v2/chat/completions',
    '/v1/../admin/keys',
    '//v1/chat/completions',
    '/v1/%zz',
    '/v1/models/%E0%A4%A',
    `/${oddString(rng, 20).replace(/[^\x21-\x7e]/g, '')}`,
    `/v1/${'a'.repeat(rng.int(4000))}`,
    '/v1/chat/completions?model=../../etc',
  ]);
  // GET /health, /metrics and the model list are real answers, and POST to the chat route is a real call: skip those.
  // (OPTIONS on them too: Express answers it with the Allow list, as HTTP says it should.)
  const real = (['GET', 'OPTIONS'].includes(method) && ['/health', '/metrics'].includes(path)) || (method === 'POST' && path === CHAT);
  const headers: Headers = rng.next() < 0.5 ? bearer('sk-sy-bogus') : [];
  return {
    kind: 'http',
    family: 'wrong-routes',
    method: real ? 'DELETE' : method,
    path,
    headers,
    body: ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? Buffer.from('{}') : undefined,
  };
}

const RAW: ((rng: Rng, keys: Keys) => string | Buffer)[] = [
  (rng) => Buffer.from(Array.from({ length: 1 + rng.int(200) }, () => rng.int(256))),
  () => 'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
  () => 'POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}',
  () => 'GET /v1/models HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n',
  () => 'GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n',
  (rng) => `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(17_000 + rng.int(10_000))}\r\n\r\n`,
  () => 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  () => 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}',
  () => 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
  () => 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n',
  () => 'GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
  () => 'POST http://evil.example/v1/chat/completions HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}',
  () => 'get /v1/models HTTP/1.1\r\nHost: x\r\n\r\n',
  () => 'GET /v1/models HTTP/1.0\r\n\r\n',
  (rng) => `GET /v1/models HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 250 }, (_, i) => `X-H${i}: ${rng.int(9)}`).join('\r\n')}\r\n\r\n`,
  () => 'GET /\u00ff\u00fe HTTP/1.1\r\nHost: x\r\n\r\n',
  (_rng, keys) =>
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.valid}\r\nConnection: close\r\nContent-Length: 11\r\n\r\n{"model":1}`,
];

function raw(rng: Rng, keys: Keys): RawCase {
  const bytes = rng.pick(RAW)(rng, keys);
  return { kind: 'raw', family: 'raw-http', bytes: typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes };
}

const FAMILIES: [number, (rng: Rng, keys: Keys) => FuzzCase][] = [
  [20, wrongTypes],
  [8, completionsWrongTypes],
  [14, (rng) => badJson(rng)],
  [6, hugeStrings],
  [8, deepNesting],
  [10, oddUnicode],
  [16, badHeaders],
  [16, wrongRoutes],
  [10, raw],
];
const TOTAL_WEIGHT = FAMILIES.reduce((sum, [weight]) => sum + weight, 0);

/** The next hostile request. */
export function nextCase(rng: Rng, keys: Keys): FuzzCase {
  let roll = rng.int(TOTAL_WEIGHT);
  for (const [weight, make] of FAMILIES) {
    if ((roll -= weight) < 0) return make(rng, keys);
  }
  throw new Error('unreachable');
}
