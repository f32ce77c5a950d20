// Simulator-only admin route of the SageMaker sim (AWS has no such route): POST /__sim/faults
// {kind, count?, afterEvents?} queues a SageMaker-level fault, GET lists, DELETE clears. TGI fault
// kinds belong to the TGI simulator's own /__sim/faults (or a directive in `inputs`).
import type { ServerResponse } from 'node:http';
import { isSageMakerFaultKind, SAGEMAKER_FAULT_KINDS, type SageMakerFaultQueue } from './faults.ts';

export const SAGEMAKER_ADMIN_PATH = '/__sim/faults';

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function handleSageMakerAdmin(queue: SageMakerFaultQueue, method: string, body: Buffer | null, res: ServerResponse): void {
  if (method === 'GET') return json(res, 200, { queued: queue.pending() });
  if (method === 'DELETE') return json(res, 200, { cleared: queue.clear() });
  if (method !== 'POST') {
    res.writeHead(405, { allow: 'GET,POST,DELETE', 'content-length': 0 });
    res.end();
    return;
  }
  const bad = (error: string): void => json(res, 400, { error, kinds: SAGEMAKER_FAULT_KINDS });
  let parsed: unknown;
  try {
    parsed = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
  } catch {
    return bad('body must be JSON: {"kind": "...", "count": 1, "afterEvents": 3}');
  }
  if (typeof parsed !== 'object' || parsed === null) return bad('body must be a JSON object');
  const { kind, count, afterEvents } = parsed as { kind?: unknown; count?: unknown; afterEvents?: unknown };
  if (!isSageMakerFaultKind(kind)) return bad(`unknown SageMaker fault kind ${JSON.stringify(kind)} (TGI kinds go to the TGI simulator)`);
  const n = count === undefined ? 1 : count;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return bad('`count` must be a positive integer');
  if (afterEvents !== undefined && (typeof afterEvents !== 'number' || !Number.isInteger(afterEvents) || afterEvents < 0)) {
    return bad('`afterEvents` must be a non-negative integer');
  }
  queue.enqueue(kind, n, afterEvents);
  json(res, 200, { queued: queue.pending() });
}
