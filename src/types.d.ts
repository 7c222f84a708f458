/** What the gateway keeps on `res.locals` while a request runs. */
import type { KeyRecord } from './db/keys-repo.ts';
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
    }
  }
}
