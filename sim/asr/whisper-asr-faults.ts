// Faults of the simulated whisper-asr-webservice: the queue that picks each request's fault (its
// head, else the default) and the simulator-only admin route /__sim/faults (GET lists, POST
// {kind, count?} queues, DELETE clears).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../tgi/http.ts';
import { sendFastApiJson } from './fastapi-reply.ts';
import { WHISPER_ASR_FAULT_KINDS, type WhisperAsrFaultKind } from './whisper-asr-types.ts';

export type FaultQueue = { kind: WhisperAsrFaultKind; remaining: number }[];

/** The fault of the next request: the head of the queue (used up after `remaining` requests), else `dflt`. */
export function pickFault(queue: FaultQueue, dflt: WhisperAsrFaultKind | undefined): WhisperAsrFaultKind | undefined {
  const head = queue[0];
  if (head !== undefined) {
    if (--head.remaining <= 0) queue.shift();
    return head.kind;
  }
  return dflt;
}

/** Empty the queue; returns how many requests it would still have faulted. */
export function clearFaults(queue: FaultQueue): number {
  const n = queue.reduce((a, q) => a + q.remaining, 0);
  queue.length = 0;
  return n;
}

export async function handleFaultsAdmin(queue: FaultQueue, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const list = (): unknown => queue.map((q) => ({ kind: q.kind, remaining: q.remaining }));
  if (req.method === 'GET') return sendFastApiJson(res, 200, { queued: list() });
  if (req.method === 'DELETE') return sendFastApiJson(res, 200, { cleared: clearFaults(queue) });
  if (req.method !== 'POST') return sendFastApiJson(res, 405, { detail: 'Method Not Allowed' }, { allow: 'GET, POST, DELETE' });
  const body = await readBody(req, 65_536);
  let parsed: unknown;
  try {
    parsed = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
  } catch {
    return sendFastApiJson(res, 400, { error: 'body must be JSON: {"kind": "...", "count": 1}', kinds: WHISPER_ASR_FAULT_KINDS });
  }
  const { kind, count } = (parsed ?? {}) as { kind?: unknown; count?: unknown };
  if (typeof kind !== 'string' || !(WHISPER_ASR_FAULT_KINDS as readonly string[]).includes(kind)) {
    return sendFastApiJson(res, 400, { error: `unknown fault kind ${JSON.stringify(kind)}`, kinds: WHISPER_ASR_FAULT_KINDS });
  }
  const n = count ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return sendFastApiJson(res, 400, { error: '`count` must be a positive integer' });
  queue.push({ kind: kind as WhisperAsrFaultKind, remaining: n });
  return sendFastApiJson(res, 200, { queued: list() });
}
