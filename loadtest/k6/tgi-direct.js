// k6 baseline: load a TGI-compatible endpoint directly (POST /generate_stream and /generate), to
// compare with the gateway's numbers. Runs on k6 v0.48+ and v1.x (module k6/http).
import { check, sleep } from 'k6';
import http from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';

/**
 * One TGI SSE event payload (a StreamResponse, or an in-band error as the last event).
 * @typedef {object} TgiStreamEvent
 * @property {{ text: string, special: boolean }} [token]
 * @property {string | null} [generated_text]
 * @property {{ finish_reason: string, generated_tokens: number } | null} [details]
 * @property {string} [error]
 * @property {string} [error_type]
 */

const TGI_URL = (__ENV.TGI_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const VUS = Number(__ENV.VUS || 10);
const DURATION = __ENV.DURATION || '30s';
const MAX_NEW_TOKENS = Number(__ENV.MAX_NEW_TOKENS || 64);
/** stream = /generate_stream only, generate = /generate only, both = one of each per iteration. */
const MODE = __ENV.TGI_MODE || 'both';
const PROMPT = __ENV.PROMPT || '[INST] What is the capital of France? [/INST]';

/** @type {import('k6/options').Options} */
export const options = {
  vus: VUS,
  duration: DURATION,
  thresholds: {
    checks: ['rate>0.99'],
    tgi_ok: ['rate>0.99'],
    'http_req_waiting{endpoint:generate_stream}': ['p(95)<1000'],
  },
};

/** SSE data events per /generate_stream response (tokens plus nothing else on TGI). */
const streamEvents = new Trend('tgi_stream_events');
/** Whole /generate_stream response time, ms (the body is read to the end). */
const streamTotalMs = new Trend('tgi_stream_total_ms', true);
/** Time to the first response byte of /generate_stream, ms (about TTFT: headers precede tokens). */
const streamTtfbMs = new Trend('tgi_stream_ttfb_ms', true);
const generateTotalMs = new Trend('tgi_generate_total_ms', true);
/** In-band or HTTP errors, tagged with TGI's error_type or the HTTP status. */
const tgiErrors = new Counter('tgi_errors');
const tgiOk = new Rate('tgi_ok');

const HEADERS = { 'Content-Type': 'application/json' };

function body() {
  return JSON.stringify({ inputs: PROMPT, parameters: { max_new_tokens: MAX_NEW_TOKENS, details: true } });
}

/**
 * Payloads of the `data:` fields in an SSE body (TGI writes `data:` before v2.1 and `data: ` after;
 * `:` keep-alive comments and blank lines are skipped).
 * @param {string} text
 * @returns {string[]}
 */
function sseData(text) {
  /** @type {string[]} */
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    out.push(line.charAt(5) === ' ' ? line.slice(6) : line.slice(5));
  }
  return out;
}

function generateStream() {
  const res = http.post(`${TGI_URL}/generate_stream`, body(), {
    headers: { ...HEADERS, Accept: 'text/event-stream' },
    tags: { endpoint: 'generate_stream' },
    timeout: '120s',
  });
  const text = typeof res.body === 'string' ? res.body : '';
  const events = sseData(text);
  streamEvents.add(events.length);
  streamTotalMs.add(res.timings.duration);
  streamTtfbMs.add(res.timings.waiting);
  /** @type {TgiStreamEvent} */
  let last = {};
  try {
    last = events.length > 0 ? JSON.parse(events[events.length - 1]) : {};
  } catch {
    last = { error: 'final event is not JSON', error_type: 'parse' };
  }
  if (res.status !== 200) tgiErrors.add(1, { code: `HTTP_${res.status}` });
  else if (last.error !== undefined) tgiErrors.add(1, { code: last.error_type || 'unknown' });
  const ok = check(res, {
    'generate_stream status 200': (r) => r.status === 200,
    'generate_stream has data events': () => events.length > 0,
    'final event has generated_text': () => typeof last.generated_text === 'string',
  });
  tgiOk.add(ok);
}

function generate() {
  const res = http.post(`${TGI_URL}/generate`, body(), { headers: HEADERS, tags: { endpoint: 'generate' }, timeout: '120s' });
  generateTotalMs.add(res.timings.duration);
  if (res.status !== 200) tgiErrors.add(1, { code: `HTTP_${res.status}` });
  const ok = check(res, {
    'generate status 200': (r) => r.status === 200,
    'generate has generated_text': (r) => {
      try {
        /** @type {{ generated_text?: unknown }} */
        const json = JSON.parse(typeof r.body === 'string' ? r.body : '');
        return typeof json.generated_text === 'string';
      } catch {
        return false;
      }
    },
  });
  tgiOk.add(ok);
}

export default function () {
  if (MODE !== 'generate') generateStream();
  if (MODE !== 'stream') generate();
  sleep(0.1);
}
