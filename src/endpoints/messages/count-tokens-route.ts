/**
 * `POST /v1/messages/count_tokens`: the serving provider's own count when its plugin has one, else the gateway's
 * tokenizer count of system, messages and tools. Key-checked like every model route, but not a model call: nothing
 * is reserved or charged and no usage row is written.
 */
import type { RequestHandler } from 'express';
import { countMessagesTokens } from '../../dialects/messages/count-tokens.ts';
import type { JsonObject } from '../../plugin-sdk.ts';
import type { ProviderRegistry } from '../../plugins/registry.ts';
import { ClientClosedError } from '../../proxy/call-record.ts';
import { assertModelAllowed, bodyFor, pickClientHeaders } from '../../proxy/handler.ts';
import { validateBody } from '../../proxy/validate.ts';
import { countTokensSchema, MESSAGES_CLIENT_HEADERS } from '../messages.ts';

export function countTokensHandler(registry: ProviderRegistry): RequestHandler {
  return async function countMessageTokens(req, res) {
    const valid = validateBody(countTokensSchema, req.body);
    const targets = registry.resolve(valid.model, valid.provider);
    assertModelAllowed(res.locals.key!, valid.model);
    const target = targets[0];
    const provider = target.provider.provider;
    let answer: JsonObject = { input_tokens: countMessagesTokens(valid) };
    if (provider.countTokens) {
      const abort = new AbortController();
      res.once('close', () => abort.abort(new ClientClosedError()));
      const { provider: _provider, ...upstream } = req.body as JsonObject;
      const context = { requestId: res.locals.requestId, signal: abort.signal, clientHeaders: pickClientHeaders(req.headers, MESSAGES_CLIENT_HEADERS) };
      answer = (await provider.countTokens(bodyFor(target, upstream), context)).body;
    }
    const text = JSON.stringify(answer);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
}
