/** Opens the usage record of a model call before anything can fail, so refused requests leave a row too. */
import type { RequestHandler } from 'express';
import { CallRecord, type Endpoint } from '../proxy/call-record.ts';

/** Counts calls in progress and receives each finished one. */
export interface CallSink {
  begin(): void;
  finish(call: CallRecord): void;
}

export function startCall(endpoint: Endpoint, sink: CallSink): RequestHandler {
  const onFinish = (call: CallRecord): void => sink.finish(call);
  return function openCallRecord(_req, res, next) {
    sink.begin();
    const call = new CallRecord(res.locals.requestId, endpoint, onFinish);
    call.keyId = res.locals.key?.id ?? null;
    call.attach(res);
    res.locals.call = call;
    res.locals.route = endpoint;
    next();
  };
}

/** Names the route in logs and metrics. */
export function routeLabel(route: string): RequestHandler {
  return function labelRoute(_req, res, next) {
    res.locals.route = route;
    next();
  };
}
