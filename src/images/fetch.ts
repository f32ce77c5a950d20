// Fetches an image URL under an SSRF-safe policy: allowlisted http(s) hosts, vetted and pinned
// addresses, redirects followed by hand (each hop re-checked), one deadline, a byte cap.
import type { Readable } from 'node:stream';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import { VlpError } from '../../protocol/errors.ts';
import { sniffImageType } from './check.ts';
import { checkImageUrl } from './hosts.ts';
import { pinnedAgent } from './pinned.ts';
import { resolveVetted, systemResolver } from './resolve.ts';
import type { HostResolver } from './resolve.ts';

export interface FetchPolicy {
  /** Hostnames allowed (exact, or `*.example.com`); empty = every URL refused. */
  allowedHosts: string[];
  /** Allow private, loopback, link-local, ... addresses (tests and trusted networks only). */
  allowPrivate: boolean;
  /** Largest body, bytes (Content-Length checked up front, then the stream). */
  maxBytes: number;
  /** Deadline for the whole fetch, redirects included, ms. */
  timeoutMs: number;
  /** Redirects followed at most; one more is refused. */
  maxRedirects: number;
}

export interface FetchDeps {
  /** DNS resolution (default: node:dns lookup). */
  resolver?: HostResolver;
  /** Aborts the fetch when it aborts (the session closed, the image.put was replaced): the
   *  connection is closed at once and fetchImage rejects with an error named 'AbortError'. */
  signal?: AbortSignal;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const HEADERS = { accept: 'image/jpeg, image/png, image/webp;q=0.9, image/*;q=0.5', 'user-agent': 'vlp-live-image-fetch/1' } as const;
/** Content types that say nothing: the body is sniffed instead. */
const UNTYPED = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

/**
 * The bytes at `url`. Throws VlpError INPUT_IMAGE_URL_FORBIDDEN (policy), INPUT_IMAGE_TOO_LARGE
 * (over maxBytes) or INPUT_IMAGE_INVALID (unreachable, HTTP error, timeout, not an image), or an
 * error named 'AbortError' (not a VlpError: nothing to report) when `deps.signal` aborts.
 * The bytes are not yet inspected: pass them to inspectImage.
 */
export async function fetchImage(url: string, policy: FetchPolicy, deps: FetchDeps = {}): Promise<Uint8Array> {
  const caller = deps.signal;
  if (caller?.aborted) throw fetchAborted(caller.reason);
  // One signal for the request: the deadline or the caller, whichever comes first.
  const stop = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort();
  }, policy.timeoutMs);
  const onCallerAbort = (): void => stop.abort();
  caller?.addEventListener('abort', onCallerAbort, { once: true });
  try {
    return await fetchHops(url, policy, deps.resolver ?? systemResolver, stop.signal);
  } catch (err) {
    if (caller?.aborted) throw fetchAborted(caller.reason);
    if (timedOut) {
      throw new VlpError('INPUT_IMAGE_INVALID', `image URL fetch timed out after ${policy.timeoutMs} ms`, { cause: err });
    }
    if (err instanceof VlpError) throw err;
    throw new VlpError('INPUT_IMAGE_INVALID', `image URL could not be fetched (${errorCodeOf(err) ?? 'network error'})`, { cause: err });
  } finally {
    clearTimeout(timer);
    caller?.removeEventListener('abort', onCallerAbort);
  }
}

/** What fetchImage throws when its caller aborted it; the signal's reason travels as `cause`. */
function fetchAborted(reason: unknown): Error {
  const err = new Error('image URL fetch aborted', { cause: reason });
  err.name = 'AbortError';
  return err;
}

async function fetchHops(raw: string, policy: FetchPolicy, resolver: HostResolver, signal: AbortSignal): Promise<Uint8Array> {
  let url = checkImageUrl(raw, policy.allowedHosts);
  for (let redirects = 0; ; redirects++) {
    const addresses = await untilAborted(resolveVetted(url.hostname, policy.allowPrivate, resolver), signal);
    const agent = pinnedAgent(url.hostname, addresses, policy.timeoutMs);
    try {
      const res = await request(url, { method: 'GET', headers: HEADERS, dispatcher: agent, signal });
      if (REDIRECTS.has(res.statusCode)) {
        discard(res.body);
        const location = firstHeader(res.headers.location);
        if (location === undefined) throw new VlpError('INPUT_IMAGE_INVALID', `image URL answered HTTP ${res.statusCode} without a Location`);
        if (redirects >= policy.maxRedirects) {
          throw new VlpError('INPUT_IMAGE_URL_FORBIDDEN', `image URL refused: more than ${policy.maxRedirects} redirects`);
        }
        url = checkImageUrl(location, policy.allowedHosts, url);
        continue;
      }
      return await readImageBody(res, policy.maxBytes);
    } finally {
      agent.destroy().catch(() => undefined);
    }
  }
}

async function readImageBody(res: Dispatcher.ResponseData, maxBytes: number): Promise<Uint8Array> {
  if (res.statusCode < 200 || res.statusCode > 299) {
    discard(res.body);
    throw new VlpError('INPUT_IMAGE_INVALID', `image URL answered HTTP ${res.statusCode}`);
  }
  const type = (firstHeader(res.headers['content-type']) ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const untyped = UNTYPED.has(type);
  if (!untyped && !type.startsWith('image/')) {
    discard(res.body);
    throw new VlpError('INPUT_IMAGE_INVALID', 'image URL answered with a content type that is not an image');
  }
  const declared = Number(firstHeader(res.headers['content-length']) ?? Number.NaN);
  if (declared > maxBytes) {
    discard(res.body);
    throw tooLarge(maxBytes);
  }
  const bytes = await readCapped(res.body, maxBytes);
  if (untyped && sniffImageType(bytes) === undefined) {
    throw new VlpError('INPUT_IMAGE_INVALID', 'image URL answered with bytes that are not JPEG, PNG or WebP');
  }
  return bytes;
}

/** Reads the whole body, aborting (and closing the connection) once it passes `maxBytes`. */
async function readCapped(body: Readable, maxBytes: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    total += buf.byteLength;
    if (total > maxBytes) {
      discard(body);
      throw tooLarge(maxBytes);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}

/** Drops a body we will not read; the connection closes with it (the Agent is one-use). */
function discard(body: Readable): void {
  body.on('error', () => undefined); // undici errors a destroyed body with AbortError: expected here
  body.destroy();
}

function tooLarge(maxBytes: number): VlpError {
  return new VlpError('INPUT_IMAGE_TOO_LARGE', `image at the URL is over the limit of ${maxBytes} bytes`);
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `p`, or a rejection as soon as `signal` aborts (DNS lookups cannot be cancelled). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A node/undici error code (ECONNREFUSED, UND_ERR_…), looking into `cause` and AggregateError. */
function errorCodeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    if ('code' in e && typeof e.code === 'string') return e.code;
    if ('errors' in e && Array.isArray(e.errors) && e.errors.length > 0) e = e.errors[0];
    else e = 'cause' in e ? e.cause : undefined;
  }
  return undefined;
}
