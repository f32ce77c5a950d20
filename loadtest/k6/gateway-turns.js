// k6 scenario: VUs open vlp.v1.json WebSockets to the gateway, run text turns and record client-side
// TTFT, turn duration, tokens per turn and errors by code. Runs on k6 v0.48+ and v1.x (module k6/ws).
import { check, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import ws from 'k6/ws';

/**
 * The fields of vlp.v1 server frames this script reads (protocol/messages.ts is the full schema).
 * @typedef {object} ServerFrame
 * @property {string} t
 * @property {number} seq
 * @property {string} [turn]
 * @property {string} [text]
 * @property {number} [n]
 * @property {string} [code]
 * @property {string} [message]
 * @property {boolean} [fatal]
 * @property {string} [finish]
 * @property {number} [tokens]
 * @property {number} [ttft_ms]
 * @property {number} [total_ms]
 * @property {string} [reason]
 */

const URL = __ENV.VLP_URL || 'ws://127.0.0.1:8080/v1/ws';
const VUS = Number(__ENV.VUS || 10);
const DURATION = __ENV.DURATION || '30s';
const MAX_NEW_TOKENS = Number(__ENV.MAX_NEW_TOKENS || 64);
/** Turns run one after another on each connection before it is closed. */
const TURNS_PER_CONN = Number(__ENV.TURNS_PER_CONN || 3);
/** A turn that has not finished after this long counts as failed, ms. */
const TURN_TIMEOUT_MS = Number(__ENV.TURN_TIMEOUT_MS || 30000);
const MODEL = __ENV.MODEL || '';
/** API key of a gateway with authentication on (auth.apiKeys), sent as `Authorization: Bearer`. */
const API_KEY = __ENV.VLP_API_KEY || '';

/** @type {import('k6/options').Options} */
export const options = {
  vus: VUS,
  duration: DURATION,
  thresholds: {
    checks: ['rate>0.99'],
    vlp_turn_ok: ['rate>0.99'],
    vlp_ttft_ms: ['p(95)<1000'],
    vlp_gen_done_total_ms: ['p(95)<10000'],
    vlp_errors: ['count<10'],
  },
};

/** Time from sending turn.start to the first gen.token, measured by the client (ms). */
const ttftMs = new Trend('vlp_ttft_ms', true);
/** Time from sending turn.start to gen.done, measured by the client (ms). */
const genDoneTotalMs = new Trend('vlp_gen_done_total_ms', true);
/** The gateway's own ttft_ms from gen.done, for comparison with the client-side figure. */
const serverTtftMs = new Trend('vlp_server_ttft_ms', true);
/** Upstream tokens per turn (sum of gen.token n). */
const tokensPerTurn = new Trend('vlp_tokens_per_turn');
/** gen.token frames per turn (below tokens when the gateway coalesces). */
const tokenFramesPerTurn = new Trend('vlp_token_frames_per_turn');
/** Error frames, tagged with their stable code. */
const errors = new Counter('vlp_errors');
const turnOk = new Rate('vlp_turn_ok');

const PROMPTS = [
  'What is the capital of France?',
  'Give me three tips for writing fast TypeScript.',
  'Explain what a WebSocket subprotocol is in two sentences.',
  'Name the planets of the solar system.',
];

export default function () {
  /** @type {{ id: string, sentAt: number, firstAt: number, tokens: number, frames: number } | undefined} */
  let turn;
  let turnsDone = 0;
  let turnCounter = 0;

  /** @type {Record<string, string>} */
  const headers = { 'Sec-WebSocket-Protocol': 'vlp.v1.json' };
  if (API_KEY) headers.Authorization = `Bearer ${API_KEY}`;
  const res = ws.connect(URL, { headers, tags: { name: 'vlp_ws' } }, (socket) => {
    const startTurn = () => {
      turnCounter += 1;
      const id = `t${turnCounter}`;
      const params = { max_new_tokens: MAX_NEW_TOKENS };
      /** @type {{ t: string, id: string, text: string, params: { max_new_tokens: number }, model?: string }} */
      const msg = { t: 'turn.start', id, text: PROMPTS[(__VU + __ITER + turnCounter) % PROMPTS.length], params };
      if (MODEL !== '') msg.model = MODEL;
      turn = { id, sentAt: Date.now(), firstAt: 0, tokens: 0, frames: 0 };
      socket.send(JSON.stringify(msg));
    };
    /** A goaway arrived: finish the running turn, start no other, then close. */
    let leaving = false;
    const finishTurn = (/** @type {boolean} */ ok) => {
      turnOk.add(ok);
      turn = undefined;
      turnsDone += 1;
      if (leaving || turnsDone >= TURNS_PER_CONN) socket.close(1000);
      else startTurn();
    };

    socket.on('open', () => {
      socket.send(JSON.stringify({ t: 'hello', client: `k6/vu${__VU}` }));
    });

    socket.on('message', (data) => {
      /** @type {ServerFrame} */
      const msg = JSON.parse(data);
      switch (msg.t) {
        case 'ready':
          startTurn();
          break;
        case 'gen.token':
          if (turn !== undefined && msg.turn === turn.id) {
            if (turn.firstAt === 0) {
              turn.firstAt = Date.now();
              ttftMs.add(turn.firstAt - turn.sentAt);
            }
            turn.tokens += msg.n || 1;
            turn.frames += 1;
          }
          break;
        case 'gen.done':
          if (turn !== undefined && msg.turn === turn.id) {
            genDoneTotalMs.add(Date.now() - turn.sentAt);
            tokensPerTurn.add(turn.tokens);
            tokenFramesPerTurn.add(turn.frames);
            if (typeof msg.ttft_ms === 'number') serverTtftMs.add(msg.ttft_ms);
            const ok = check(msg, {
              'gen.done arrives': (m) => m.t === 'gen.done',
              'gen.done finish is not error': (m) => typeof m.finish === 'string' && m.finish !== 'error',
              'gen.done tokens >= streamed tokens': (m) => turn === undefined || (m.tokens ?? 0) >= turn.tokens,
            });
            finishTurn(ok);
          }
          break;
        case 'turn.cancelled':
          if (turn !== undefined && msg.turn === turn.id) finishTurn(false);
          break;
        case 'error':
          errors.add(1, { code: msg.code || 'UNKNOWN' });
          if (msg.fatal) socket.close(1000);
          else if (turn !== undefined && (msg.turn === turn.id || msg.turn === undefined)) finishTurn(false);
          break;
        case 'goaway':
          // Shutdown or the session's maximum duration: the session stays usable until the time
          // left, so the running turn is let finish (the server cancels it if time runs out).
          leaving = true;
          if (turn === undefined) socket.close(1000);
          break;
        default:
          break;
      }
    });

    socket.on('error', (e) => {
      errors.add(1, { code: 'WS_ERROR' });
      console.error(`vu ${__VU}: websocket error: ${e.error()}`);
    });

    socket.on('close', () => {
      // A turn still open when the socket closes did not deliver gen.done.
      if (turn !== undefined) {
        check(null, { 'gen.done arrives': () => false });
        turnOk.add(false);
      }
    });

    socket.setTimeout(() => {
      if (turn !== undefined) errors.add(1, { code: 'CLIENT_TIMEOUT' });
      socket.close(1000);
    }, TURN_TIMEOUT_MS * TURNS_PER_CONN);
  });

  if (!check(res, { 'websocket upgrade is 101': (r) => r !== undefined && r.status === 101 })) {
    errors.add(1, { code: 'WS_UPGRADE' });
    console.error(`vu ${__VU}: upgrade to ${URL} failed: status ${res.status} ${res.error}`);
    sleep(1); // do not spin against a gateway that is down
  }
}
