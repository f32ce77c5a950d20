// Liveness probe of an OpenAI-compatible server: GET /health (TGI, vLLM, SGLang, llama.cpp), and
// when the server has no such route, GET /v1/models (OpenAI itself, many proxies). 200 = up.
// One-shot requests on undici's global dispatcher: a probe must not queue behind the streams that
// fill the generation pool, or a busy server would read as down.
import { request } from 'undici';
import type { Endpoints } from './endpoints.ts';

async function statusOf(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<number> {
  const res = await request(url, { method: 'GET', headers, signal });
  await res.body.dump();
  return res.statusCode;
}

/** True when the server answers 200 within timeoutMs (both requests share the deadline). A 5xx
 *  from /health is the server saying it is not ready: no fallback then; a 4xx means "no such
 *  route here" (404/405, or 401/403 from a gateway guarding it), so /v1/models decides. */
export async function probeServer(ep: Endpoints, headers: Record<string, string>, timeoutMs: number): Promise<boolean> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const health = await statusOf(`${ep.origin}${ep.health}`, headers, signal);
    if (health === 200) return true;
    if (health < 400 || health >= 500) return false;
    return (await statusOf(`${ep.origin}${ep.models}`, headers, signal)) === 200;
  } catch {
    return false;
  }
}
