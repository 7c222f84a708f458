/**
 * Which pool target produced a stored Responses API response: a call continuing it with `previous_response_id`
 * must reach the same upstream account (the response lives there), whatever the strategy. Per instance, bounded,
 * oldest forgotten first.
 */
import type { SseEvent } from '../upstream/sse.ts';

const MAX_OWNERS = 10_000;

export class ResponseOwners {
  private readonly owners = new Map<string, string>();

  remember(responseId: string, provider: string): void {
    this.owners.delete(responseId);
    this.owners.set(responseId, provider);
    if (this.owners.size > MAX_OWNERS) this.owners.delete(this.owners.keys().next().value!);
  }

  ownerOf(previousResponseId: unknown): string | undefined {
    return typeof previousResponseId === 'string' ? this.owners.get(previousResponseId) : undefined;
  }
}

/** The response id a Responses stream announces in its first event (`response.created`). */
export function streamedResponseId(event: SseEvent): string | undefined {
  if (!event.data.includes('"response.created"')) return undefined;
  try {
    const id = (JSON.parse(event.data) as { response?: { id?: unknown } }).response?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
