/**
 * Sticky routing: one key's conversation stays on one target while that target is healthy, so the deployment's
 * prompt cache keeps serving it. A conversation is the gateway key plus, first found: the body's
 * `prompt_cache_key` (OpenAI's own name for this), its `user`, else the conversation's opening — the chat messages
 * up to the first user message (system prompt included), or a Responses call's `instructions` and first input
 * item — which every later turn repeats.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from '../plugin-sdk.ts';
import type { PoolTarget } from './strategies.ts';

/** A digest naming the conversation; undefined when the body holds nothing to recognise it by. */
export function conversationOf(keyId: string | null, body: JsonObject): string | undefined {
  const anchor = anchorOf(body);
  if (anchor === undefined) return undefined;
  return createHash('sha256')
    .update(`${keyId ?? ''}\u0000${anchor}`)
    .digest('hex');
}

function anchorOf(body: JsonObject): string | undefined {
  if (typeof body.prompt_cache_key === 'string' && body.prompt_cache_key) return `pck:${body.prompt_cache_key}`;
  if (typeof body.user === 'string' && body.user) return `user:${body.user}`;
  if (Array.isArray(body.messages) && body.messages.length > 0) {
    const firstUser = body.messages.findIndex((message) => (message as { role?: unknown } | null)?.role === 'user');
    return `messages:${JSON.stringify([body.system ?? null, ...body.messages.slice(0, firstUser + 1 || 1)])}`;
  }
  if (body.input !== undefined) {
    const first = Array.isArray(body.input) ? body.input[0] : body.input;
    return `input:${JSON.stringify([body.instructions ?? null, first ?? null])}`;
  }
  if (typeof body.prompt === 'string') return `prompt:${body.prompt}`;
  return undefined;
}

/**
 * Weighted rendezvous hashing: every target draws a score from (conversation, target) and the best one wins. Only
 * the conversations of a target that cools move (and come back when it recovers); no table is kept or shared, so
 * every instance sends a conversation to the same target. The runners-up, in order, are where a failed turn goes,
 * which is also where the next turns go while the first choice cools.
 */
export function stickyOrder(conversation: string, healthy: readonly PoolTarget[]): PoolTarget[] {
  const scored = healthy.map((target) => {
    const digest = createHash('sha256').update(`${conversation}\u0000${target.provider.name}`).digest();
    const uniform = (digest.readUIntBE(0, 6) + 1) / (2 ** 48 + 1);
    return { target, score: -Math.log(uniform) / target.weight };
  });
  return scored.sort((a, b) => a.score - b.score).map((entry) => entry.target);
}
