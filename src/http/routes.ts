// Plain-HTTP routes: liveness, readiness (accepting + backends healthy) and metrics, open to anyone
// except /metrics, which needs an API key while client authentication is on; and the client-token
// route (client-tokens.ts).
import type { Authenticator } from '../auth/authenticator.ts';
import type { HttpHandler, HttpResponse } from '../transport/types.ts';
import type { Registry } from 'prom-client';
import { CLIENT_TOKENS_PATH, clientTokensRoute } from './client-tokens.ts';

export interface OpsState {
  /** False while shutting down. */
  accepting(): boolean;
  /** Backend health, cached by the caller. */
  backendsHealthy(): Promise<{ ok: boolean; detail: Record<string, boolean> }>;
  registry: Registry;
  auth: Authenticator;
}

const json = (status: number, body: unknown): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export function createOpsRoutes(state: OpsState): HttpHandler {
  return async (method, path, req) => {
    if (path === CLIENT_TOKENS_PATH) return clientTokensRoute(state.auth, method, req);
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    switch (path) {
      case '/healthz':
        return json(200, { status: 'ok' });
      case '/readyz': {
        if (!state.accepting()) return json(503, { status: 'draining' });
        const h = await state.backendsHealthy();
        return json(h.ok ? 200 : 503, { status: h.ok ? 'ready' : 'backends_unhealthy', backends: h.detail });
      }
      case '/metrics':
        return (
          state.auth.requireApiKey(req.header('authorization')) ?? {
            status: 200,
            headers: { 'content-type': state.registry.contentType },
            body: await state.registry.metrics(),
          }
        );
      default:
        return undefined;
    }
  };
}
