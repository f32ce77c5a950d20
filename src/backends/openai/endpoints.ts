// Where an OpenAI-compatible server's routes are, from its configured base URL: the base may name
// the server root (http://tgi:8080) or its API root (http://vllm:8000/v1); /v1 is never doubled
// and a path prefix before it (a reverse proxy's /llama) is kept.

export interface Endpoints {
  /** scheme://host:port, without credentials (the Pool's origin). */
  origin: string;
  /** Path prefix before /v1, without a trailing slash ('' at the root). */
  root: string;
  chat: string;
  models: string;
  health: string;
}

export function endpoints(url: string): Endpoints {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, '');
  const root = path.endsWith('/v1') ? path.slice(0, -'/v1'.length) : path;
  return {
    origin: u.origin,
    root,
    chat: `${root}/v1/chat/completions`,
    models: `${root}/v1/models`,
    health: `${root}/health`,
  };
}
