// Integration-test harness: a real gateway (chosen transport, port 0) in front of a real
// simulated TGI on loopback, and a raw protocol client built on `ws` and the client codec.
import WebSocket from 'ws';
import pino from 'pino';
import { createClientCodec, type ClientCodec } from '../protocol/codec.ts';
import type { ClientMessage, ServerMessage, Subprotocol } from '../protocol/messages.ts';
import { ConfigSchema, type ConfigInput } from '../src/config/schema.ts';
import { Gateway } from '../src/gateway.ts';
import { startTgiSim, type TgiSim, type TgiSimOptions } from '../sim/tgi/index.ts';
import { startGroundedSamSim, type GroundedSamSim, type GroundedSamSimOptions } from '../sim/grounded-sam/index.ts';
import { startWhisperAsrSim, startWhisperLiveSim, type WhisperAsrSim, type WhisperLiveSim, type WhisperAsrSimOptions, type WhisperLiveSimOptions } from '../sim/asr/index.ts';
import { startSageMakerSim, type SageMakerSim } from '../sim/sagemaker/index.ts';

export type AsrKind = 'whisperlive' | 'whisper-asr' | 'sagemaker';
export const ASR_KINDS: AsrKind[] = ['whisperlive', 'whisper-asr', 'sagemaker'];
/** SageMaker endpoint name of the simulated Whisper in stacks with asr 'sagemaker'. */
export const SIM_WHISPER_ENDPOINT = 'whisper-large-v3-sm';

/** The simulated ASR service of a stack (one of them). */
export interface AsrSims {
  kind: AsrKind;
  whisperLive?: WhisperLiveSim;
  whisperAsr?: WhisperAsrSim;
  sagemaker?: SageMakerSim;
  close(): Promise<void>;
}

async function startAsrSim(kind: AsrKind, opts: { whisperLive?: WhisperLiveSimOptions; whisperAsr?: WhisperAsrSimOptions }): Promise<{ sims: AsrSims; config: Record<string, unknown> }> {
  switch (kind) {
    case 'whisperlive': {
      const wl = await startWhisperLiveSim({ modelLoadMs: 20, jitter: 0, ...opts.whisperLive });
      return { sims: { kind, whisperLive: wl, close: () => wl.close() }, config: { backend: 'whisperlive', url: wl.url } };
    }
    case 'whisper-asr': {
      const wa = await startWhisperAsrSim({ jitter: 0, ...opts.whisperAsr });
      return { sims: { kind, whisperAsr: wa, close: () => wa.close() }, config: { backend: 'whisper-asr', url: wa.url, partialIntervalMs: 400 } };
    }
    case 'sagemaker': {
      const sm = await startSageMakerSim({ endpoints: { [SIM_WHISPER_ENDPOINT]: { whisper: true } } });
      return {
        sims: { kind, sagemaker: sm, close: () => sm.close() },
        config: { backend: 'sagemaker', sagemaker: { endpointName: SIM_WHISPER_ENDPOINT, endpointUrl: sm.url, region: 'us-east-1' }, partialIntervalMs: 400 },
      };
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown asr kind ${String(never)}`);
    }
  }
}

export type TransportKind = 'ws' | 'uws';
export const TRANSPORTS: TransportKind[] = ['ws', 'uws'];

export interface Stack {
  gw: Gateway;
  sim: TgiSim;
  /** The simulated IDEFICS (vlm) TGI. */
  vlm: TgiSim;
  /** The simulated Grounded-SAM service. */
  gsam: GroundedSamSim;
  /** The simulated speech recognizer, when the stack has one (opts.asr). */
  asr: AsrSims | undefined;
  url: string;
  httpBase: string;
  close(): Promise<void>;
}

export async function startStack(
  transport: TransportKind,
  opts: {
    sim?: TgiSimOptions;
    config?: Partial<ConfigInput>;
    simUrl?: string;
    asr?: AsrKind;
    whisperLive?: WhisperLiveSimOptions;
    whisperAsr?: WhisperAsrSimOptions;
    gsam?: GroundedSamSimOptions;
    /** The gateway's wall clock (client token expiry). */
    nowMs?: () => number;
  } = {},
): Promise<Stack> {
  const sim = await startTgiSim({ ttftMs: 20, itlMs: 2, jitter: 0, ...opts.sim });
  const vlm = await startTgiSim({ kind: 'vlm', ttftMs: 20, itlMs: 2, jitter: 0, ...opts.sim });
  const url = opts.simUrl ?? sim.url;
  const vlmUrl = opts.simUrl ?? vlm.url;
  const gsam = await startGroundedSamSim({ detectMs: 20, perMaskMs: 10, jitter: 0, ...opts.gsam });
  const asrStarted = opts.asr === undefined ? undefined : await startAsrSim(opts.asr, opts);
  const base = opts.config ?? {};
  const config = ConfigSchema.parse({
    host: '127.0.0.1',
    port: 0,
    transport,
    logLevel: 'silent',
    ...base,
    // Background image descriptions are off unless a test asks: they would add VLM requests to
    // tests that count them.
    images: { describe: false, ...(base.images ?? {}) },
    segmenter: base.segmenter?.backend === 'sagemaker' ? base.segmenter : { url: gsam.url, ...(base.segmenter ?? {}) },
    ...(asrStarted ? { asr: { ...asrStarted.config, ...(base.asr ?? {}) } } : {}),
    models: base.models ?? [
      { id: 'llama-2-7b-chat', kind: 'llm', backend: 'tgi', urls: [url], template: 'llama2-chat', params: { max_new_tokens: 40 } },
      { id: 'idefics-9b-instruct', kind: 'vlm', backend: 'tgi', urls: [vlmUrl], template: 'idefics', params: { max_new_tokens: 40 } },
    ],
  });
  const gw = new Gateway(config, pino({ level: 'silent' }), {
    defaultMetrics: false,
    awsCredentials: { accessKeyId: 'SIMULATED', secretAccessKey: 'SIMULATED' },
    ...(opts.nowMs !== undefined && { nowMs: opts.nowMs }),
  });
  const port = await gw.start();
  return {
    gw,
    sim,
    vlm,
    gsam,
    asr: asrStarted?.sims,
    url: `ws://127.0.0.1:${port}/v1/ws`,
    httpBase: `http://127.0.0.1:${port}`,
    async close() {
      await gw.shutdown(0);
      await Promise.all([sim.close(), vlm.close(), gsam.close(), asrStarted?.sims.close()]);
    },
  };
}

/** A protocol-level test client: sends raw frames, records every decoded server frame. */
export class RawClient {
  readonly frames: ServerMessage[] = [];
  readonly codec: ClientCodec;
  closeCode: number | undefined;
  closeReason = '';
  private waiters: (() => void)[] = [];
  private readonly closed: Promise<void>;

  private constructor(readonly ws: WebSocket, sub: Subprotocol) {
    this.codec = createClientCodec(sub);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const r = this.codec.decode(isBinary ? new Uint8Array(data) : data.toString('utf8'));
      if (!r.ok) throw new Error(`server sent an undecodable frame: ${r.code} ${r.message}`);
      this.frames.push(r.msg);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.wake();
        resolve();
      });
    });
  }

  /** headers: extra upgrade request headers (Authorization, Origin). */
  static async open(url: string, sub: Subprotocol = 'vlp.v1.msgpack', headers: Record<string, string> = {}): Promise<RawClient> {
    const ws = new WebSocket(url, [sub], { perMessageDeflate: false, headers });
    const c = new RawClient(ws, sub);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }

  /** Open and complete hello → ready. */
  static async session(
    url: string,
    sub: Subprotocol = 'vlp.v1.msgpack',
    hello: Partial<Extract<ClientMessage, { t: 'hello' }>> = {},
    headers: Record<string, string> = {},
  ): Promise<RawClient> {
    const c = await RawClient.open(url, sub, headers);
    c.send({ t: 'hello', client: 'test', ...hello });
    await c.waitFor((m) => m.t === 'ready');
    return c;
  }

  send(msg: ClientMessage): void {
    this.ws.send(this.codec.encode(msg));
  }

  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolve with the first frame (from `from` on) matching `pred`. */
  async waitFor<T extends ServerMessage = ServerMessage>(pred: (m: ServerMessage) => boolean, timeoutMs = 5000, from = 0): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.slice(from).find(pred);
      if (hit) return hit as T;
      if (this.closeCode !== undefined) throw new Error(`connection closed (${this.closeCode}) before the frame arrived; got: ${this.frames.map((f) => f.t).join(',')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for frame; got: ${this.frames.map((f) => f.t).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClose(timeoutMs = 5000): Promise<number> {
    await Promise.race([this.closed, new Promise((_, rej) => setTimeout(() => rej(new Error('no close')), timeoutMs))]);
    return this.closeCode ?? -1;
  }

  framesOf(turn: string): ServerMessage[] {
    return this.frames.filter((f) => 'turn' in f && f.turn === turn);
  }

  close(): void {
    this.ws.close();
  }
}
