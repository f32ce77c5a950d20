// Simulator-only admin route (real TGI has no such route): POST /__sim/faults {kind, count?, afterTokens?}
// queues a fault for the next `count` generation requests, DELETE /__sim/faults clears the queue,
// GET /__sim/faults lists it.
import type { ServerResponse } from 'node:http';
import { FAULT_KINDS, isFaultKind } from '../faults.ts';
import type { SimContext } from './context.ts';
import { sendJson } from './http.ts';

export const ADMIN_FAULTS_PATH = '/__sim/faults';

function bad(res: ServerResponse, message: string): void {
  sendJson(res, 400, JSON.stringify({ error: message, kinds: FAULT_KINDS }));
}

export function handleFaultsAdmin(ctx: SimContext, method: string, body: Buffer | null, res: ServerResponse): void {
  if (method === 'GET') return sendJson(res, 200, JSON.stringify({ queued: ctx.faults.pending() }));
  if (method === 'DELETE') return sendJson(res, 200, JSON.stringify({ cleared: ctx.faults.clear() }));
  if (method !== 'POST') {
    res.writeHead(405, { allow: 'GET,POST,DELETE', 'content-length': 0 });
    res.end();
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
  } catch {
    return bad(res, 'body must be JSON: {"kind": "...", "count": 1, "afterTokens": 3}');
  }
  if (typeof parsed !== 'object' || parsed === null) return bad(res, 'body must be a JSON object');
  const { kind, count, afterTokens } = parsed as { kind?: unknown; count?: unknown; afterTokens?: unknown };
  if (!isFaultKind(kind)) return bad(res, `unknown fault kind ${JSON.stringify(kind)}`);
  const n = count === undefined ? 1 : count;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return bad(res, '`count` must be a positive integer');
  if (afterTokens !== undefined && (typeof afterTokens !== 'number' || !Number.isInteger(afterTokens) || afterTokens < 0)) {
    return bad(res, '`afterTokens` must be a non-negative integer');
  }
  ctx.faults.enqueue(kind, n, afterTokens);
  sendJson(res, 200, JSON.stringify({ queued: ctx.faults.pending() }));
}
