/**
 * A request refused before its body was read (413, 415, a 401 for a missing key) may still be arriving. Answering and
 * closing at once makes the kernel reset the connection over the unread bytes, and a client still writing (the
 * OpenAI SDK, fetch) then sees a connection error instead of the answer. So the rest of the body is read and thrown
 * away, up to a bound, before the answer goes out with `connection: close`; past the bound the connection is cut.
 */
import type { Request, Response } from 'express';

/** Reads and discards what is left of the body; resolves true when it ended within `maxBytes`. */
export function discardBody(req: Request, maxBytes: number): Promise<boolean> {
  if (req.complete || req.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let seen = 0;
    const settle = (ended: boolean): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onFail);
      req.off('close', onFail);
      resolve(ended);
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > maxBytes) {
        req.pause();
        settle(false);
      }
    };
    const onEnd = (): void => settle(true);
    const onFail = (): void => settle(false);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onFail);
    req.once('close', onFail);
    req.resume();
  });
}

/**
 * Calls `answer` once the unread body is gone. The connection closes after the answer either way: the client may
 * have meant to send more than the server will read.
 */
export function answerAfterBody(req: Request, res: Response, maxBytes: number, answer: () => void): void {
  if (req.complete) return answer();
  res.setHeader('connection', 'close');
  void discardBody(req, maxBytes).then((ended) => {
    if (res.writableEnded || res.destroyed) return;
    answer();
    // Past the bound: what is still arriving will never be read, so do not wait for the client to stop.
    if (!ended) res.once('finish', () => req.socket.destroy());
  });
}
