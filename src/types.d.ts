/** What the gateway keeps on `res.locals` while a request runs. */
import type { KeyRecord } from './db/keys-repo.ts';
import type { AuthFailure } from './middleware/authenticate.ts';
import type { GatewayError } from './errors/gateway-error.ts';
import type { CallRecord } from './proxy/call-record.ts';

declare global {
  namespace Express {
    interface Locals {
      requestId: string;
      /** Set by `authenticate`. */
      key?: KeyRecord;
      /** Set on model-call routes: the usage row in the making. */
      call?: CallRecord;
      /** Route label for logs and metrics. */
      route?: string;
      /** Set by `authenticate` when it refuses the key: why, for metrics. */
      authFailure?: AuthFailure;
      /**
       * Renders errors in the route's own dialect (Anthropic's shape on `/v1/messages`); set before any middleware
       * that can fail, so auth, rate-limit and body errors take the same shape. Absent: OpenAI error JSON.
       */
      errorShape?: (error: GatewayError) => unknown;
    }
  }
}

export {};
