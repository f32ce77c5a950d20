// The HTTP forms of the overloaded_429 / unavailable_503 faults, shared by every generation route.
// Real TGI reports overload in-band on streams; these model what sits in front of it (an ALB,
// SageMaker, a k8s ingress), so they answer before any route-specific work.
import type { ServerResponse } from 'node:http';
import type { SimContext } from './context.ts';
import { sendError } from './http.ts';
import type { Prepared } from './prepare.ts';

/** Answers the request when its fault is a proxy-level one; returns whether it did. */
export function answerProxyFault(ctx: SimContext, res: ServerResponse, p: Prepared): boolean {
  const kind = p.fault?.kind;
  if (kind !== 'overloaded_429' && kind !== 'unavailable_503') return false;
  res.once('close', () => {
    ctx.events.emit('request-closed', { id: p.id, route: p.route, atMs: performance.now(), completed: true, tokensSent: 0 });
  });
  if (kind === 'overloaded_429') sendError(res, 429, 'Model is overloaded', 'overloaded', { 'retry-after': '1' });
  else sendError(res, 503, 'unhealthy', 'healthcheck', { 'retry-after': '2' });
  return true;
}
