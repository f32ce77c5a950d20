// WhisperLive (collabora/WhisperLive) behind the ASR port: one `ws` WebSocket per stream; the
// options as the first text frame, then every sample of the stream as binary float32 LE frames
// (whisperlive-audio.ts), and the server's `segments` windows mapped onto the gateway VAD's
// utterances (whisperlive-segments.ts). This file: the stream's socket and lifecycle (options,
// SERVER_READY, status messages, finalizeTimeoutMs, close), settings and the backend factory.
// Wire format: backend-protocols §5.
//
// Sample clock: the server times segments in seconds of audio received; we send all audio, so
// server second t is our sample t × 16000 (+ whatever was dropped from the pre-ready buffer).
import { randomUUID } from 'node:crypto';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import WebSocket from 'ws';
import type { RawData } from 'ws';
import type { VlpError } from '../../../protocol/errors.ts';
import type { AsrBackend, AsrEvent, AsrHandlers, AsrOptions, AsrStream } from './port.ts';
import { ASR_DEFAULTS, ASR_SAMPLE_RATE, SAMPLES_PER_MS, positiveOption, resolveCommon } from './config.ts';
import type { ResolvedCommon, WhisperLiveConfig } from './config.ts';
import {
  asrProtocolError, asrTimeoutError, whisperLiveClosedError, whisperLiveDisconnectError, whisperLiveStatusError,
  whisperLiveTransportError, whisperLiveUpgradeError, whisperLiveWaitError,
} from './errors.ts';
import { AudioUplink, rawSocketSink, wsSendSink } from './whisperlive-audio.ts';
import { directWriter, socketFd, streamWriter } from './direct-write.ts';
import { UtteranceMapper, parseSegments } from './whisperlive-segments.ts';
import type { Utterance } from './whisperlive-segments.ts';

export { parseSegments };

const SERVICE = 'WhisperLive';
const END_OF_AUDIO = Buffer.from('END_OF_AUDIO');
/** After close(), a server that does not finish the close handshake is cut off after this, ms. */
const CLOSE_GRACE_MS = 1_000;

export interface WhisperLiveSettings extends ResolvedCommon {
  url: string;
  model: string;
  useVad: boolean;
  sendLastNSegments: number;
  noSpeechThresh: number | undefined;
  sameOutputThreshold: number | undefined;
  highWaterMarkBytes: number;
  preReadyBufferMs: number;
}

/** The first (text) frame: WhisperLive's client options. */
export function whisperLiveOptions(uid: string, opts: AsrOptions, s: WhisperLiveSettings): Record<string, unknown> {
  const o: Record<string, unknown> = {
    uid,
    language: opts.language ?? null,
    task: opts.task,
    model: s.model,
    use_vad: s.useVad,
    send_last_n_segments: s.sendLastNSegments,
    initial_prompt: opts.initialPrompt ?? null,
    word_timestamps: opts.wordTimestamps === true,
  };
  if (s.noSpeechThresh !== undefined) o.no_speech_thresh = s.noSpeechThresh;
  if (s.sameOutputThreshold !== undefined) o.same_output_threshold = s.sameOutputThreshold;
  return o;
}

const enum State {
  Connecting,
  /** Open, options sent, waiting for SERVER_READY. */
  Waiting,
  Ready,
  Dead,
}

export class WhisperLiveStream implements AsrStream {
  private readonly ws: WebSocket;
  private readonly audio: AudioUplink;
  private readonly map: UtteranceMapper;
  private state = State.Connecting;
  private readyTimer: NodeJS.Timeout | undefined;
  /** Samples written since the stream began. */
  private pos = 0;
  private readonly maxUtterance: number;
  /** finalizeTimeoutMs timers of utterances after their speechEnd. */
  private readonly finalizeTimers = new Map<Utterance, NodeJS.Timeout>();
  private language: string | undefined;

  constructor(
    private readonly opts: AsrOptions,
    private readonly handlers: AsrHandlers,
    private readonly s: WhisperLiveSettings,
    private readonly onClosed?: () => void,
  ) {
    this.maxUtterance = Math.round(s.maxUtteranceMs * SAMPLES_PER_MS);
    this.ws = new WebSocket(s.url, { perMessageDeflate: false, handshakeTimeout: s.requestTimeoutMs, maxPayload: 16 << 20 });
    this.audio = new AudioUplink(wsSendSink(this.ws), Math.round(s.preReadyBufferMs * SAMPLES_PER_MS), s.highWaterMarkBytes);
    // Server seconds of stream sample n.
    this.map = new UtteranceMapper((n) => Math.max(0, n - this.audio.dropped) / ASR_SAMPLE_RATE);
    this.ws.on('upgrade', this.onUpgrade);
    this.ws.on('unexpected-response', this.onUnexpectedResponse);
    this.ws.on('open', this.onOpen);
    this.ws.on('message', this.onMessage);
    this.ws.on('error', this.onError);
    this.ws.on('close', this.onClose);
    this.readyTimer = setTimeout(() => this.fail(asrTimeoutError(SERVICE, 'connecting and loading the model (SERVER_READY)', s.requestTimeoutMs)), s.requestTimeoutMs);
    this.readyTimer.unref();
  }

  // ---------------------------------------------------------------------------------------------
  // Audio path

  write(samples: Int16Array): boolean {
    if (this.state === State.Dead) return true;
    this.pos += samples.length;
    const u = this.map.open;
    if (u !== undefined && this.pos - u.startSample > this.maxUtterance) this.cut();
    if (this.state !== State.Ready) {
      this.audio.hold(samples);
      return true;
    }
    return this.audio.write(samples);
  }

  onDrain(cb: () => void): void {
    this.audio.onDrain(cb);
  }

  // ---------------------------------------------------------------------------------------------
  // Utterances

  speechStart(atSample: number): void {
    if (this.state !== State.Dead) this.map.start(atSample);
  }

  speechEnd(atSample: number): void {
    if (this.state === State.Dead) return;
    const u = this.map.end(atSample);
    this.finalizeTimers.set(u, setTimeout(() => this.finalizeUpTo(u), this.s.finalizeTimeoutMs).unref());
    if (u.empty) this.update();
  }

  /** maxUtteranceMs reached: end the utterance here and go on with a new one. */
  private cut(): void {
    const at = this.pos;
    this.speechEnd(at);
    this.speechStart(at);
  }

  /** Emits finals of utterances that are complete, then the partial of the first waiting one. */
  private update(): void {
    while (!this.dead) {
      const step = this.map.next();
      switch (step.kind) {
        case 'final':
          this.final(step.utterance, step.text);
          break;
        case 'partial':
          this.emit({ kind: 'partial', stable: step.stable, unstable: step.unstable });
          return;
        case 'idle':
          return;
        default:
          throw new Error(`unhandled mapper step ${String(step satisfies never)}`);
      }
    }
  }

  /** finalizeTimeoutMs after `u`'s speechEnd: final from the latest segments, in progress or not
   *  (and the same for any utterance before it). */
  private finalizeUpTo(u: Utterance): void {
    if (this.state === State.Dead || !this.map.waiting(u)) return;
    while (!this.dead) {
      const step = this.map.forceFinal();
      if (step === undefined) break;
      this.final(step.utterance, step.text);
      if (step.utterance === u) break;
    }
    this.update();
  }

  /** Emits the final of `u`, which has left the mapper. */
  private final(u: Utterance, text: string): void {
    clearTimeout(this.finalizeTimers.get(u));
    this.finalizeTimers.delete(u);
    const language = this.opts.language ?? this.language;
    this.emit(language === undefined ? { kind: 'final', text } : { kind: 'final', text, language });
    this.map.prune(this.pos);
  }

  // ---------------------------------------------------------------------------------------------
  // Socket events

  /** The handshake's response carries the TCP (or TLS) socket ws goes on with: audio frames are
   *  written to it directly (float32-frame.ts, direct-write.ts), everything else through ws. */
  private readonly onUpgrade = (res: IncomingMessage): void => {
    const socket = res.socket;
    if (!(socket instanceof Socket)) return;
    const fd = socketFd(socket);
    this.audio.attach(rawSocketSink(this.ws, fd === undefined ? streamWriter(socket) : directWriter(socket, fd)));
  };

  /** The upgrade was answered with an HTTP status instead of 101 (a proxy, a server at capacity).
   *  With this listener ws leaves the request to us: fail() terminates the socket, which aborts it
   *  (the body is never read). Without it ws would report only "Unexpected server response: 503",
   *  losing the Retry-After. */
  private readonly onUnexpectedResponse = (_req: ClientRequest, res: IncomingMessage): void => {
    if (this.state === State.Dead) {
      this.ws.terminate();
      return;
    }
    this.fail(whisperLiveUpgradeError(res.statusCode ?? 0, res.headers['retry-after']));
  };

  private readonly onOpen = (): void => {
    if (this.state !== State.Connecting) return;
    this.state = State.Waiting;
    this.ws.send(JSON.stringify(whisperLiveOptions(randomUUID(), this.opts, this.s)));
  };

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.state === State.Dead || isBinary) return;
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      // The parse error is not attached: it quotes the frame, i.e. the transcript.
      return this.fail(asrProtocolError(SERVICE, 'a text frame is not JSON'));
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.fail(asrProtocolError(SERVICE, 'a message is not a JSON object'));
    const m = msg as Record<string, unknown>;
    if (m.status !== undefined) {
      if (m.status === 'WAIT') return this.fail(whisperLiveWaitError(m.message));
      if (m.status === 'ERROR') return this.fail(whisperLiveStatusError(m.message));
      return; // WARNING (backend fallback) and unknown statuses are informational
    }
    if (m.message === 'SERVER_READY') return this.onReady();
    if (m.message === 'DISCONNECT') return this.fail(whisperLiveDisconnectError());
    if (m.segments !== undefined) {
      if (!Array.isArray(m.segments)) return this.fail(asrProtocolError(SERVICE, '`segments` is not an array'));
      const segs = parseSegments(m.segments);
      if (segs === undefined) return this.fail(asrProtocolError(SERVICE, 'a segment lacks numeric start/end or text'));
      this.map.addWindow(segs, this.pos);
      return this.update();
    }
    if (typeof m.language === 'string') this.language = m.language;
    // translated_segments and unknown messages are ignored.
  };

  private onReady(): void {
    if (this.state !== State.Waiting) return;
    if (this.readyTimer !== undefined) clearTimeout(this.readyTimer);
    this.readyTimer = undefined;
    this.state = State.Ready;
    this.audio.ready();
    this.handlers.onReady?.();
  }

  private readonly onError = (err: Error): void => {
    if (this.state === State.Dead) return;
    this.fail(whisperLiveTransportError(err, this.state !== State.Connecting));
  };

  private readonly onClose = (code: number): void => {
    if (this.state === State.Dead) return;
    this.fail(whisperLiveClosedError(code, this.state === State.Ready));
  };

  // ---------------------------------------------------------------------------------------------
  // Ending

  /** A getter, not a narrowed field read: consumers may close the stream inside onEvent. */
  private get dead(): boolean {
    return this.state === State.Dead;
  }

  close(): void {
    if (this.state === State.Dead) return;
    this.shutdown();
  }

  private shutdown(): void {
    const wasOpen = this.ws.readyState === WebSocket.OPEN;
    this.state = State.Dead;
    if (this.readyTimer !== undefined) clearTimeout(this.readyTimer);
    this.audio.stop();
    for (const timer of this.finalizeTimers.values()) clearTimeout(timer);
    this.finalizeTimers.clear();
    this.map.clear();
    if (wasOpen) {
      this.ws.send(END_OF_AUDIO);
      this.ws.close(1000);
      const ws = this.ws;
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    } else {
      this.ws.terminate();
    }
    this.onClosed?.();
  }

  private fail(error: VlpError): void {
    if (this.state === State.Dead) return;
    this.shutdown();
    this.handlers.onEvent({ kind: 'error', error });
  }

  private emit(ev: AsrEvent): void {
    if (this.state !== State.Dead) this.handlers.onEvent(ev);
  }
}

export function resolveWhisperLive(cfg: WhisperLiveConfig): WhisperLiveSettings {
  const url = new URL(cfg.url);
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error('asr backend whisperlive: url must be ws:// or wss://');
  return {
    ...resolveCommon(cfg),
    url: cfg.url,
    model: cfg.model ?? ASR_DEFAULTS.whisperLiveModel,
    useVad: cfg.useVad ?? false,
    sendLastNSegments: positiveOption('sendLastNSegments', cfg.sendLastNSegments, ASR_DEFAULTS.sendLastNSegments),
    noSpeechThresh: cfg.noSpeechThresh,
    sameOutputThreshold: cfg.sameOutputThreshold,
    highWaterMarkBytes: positiveOption('highWaterMarkBytes', cfg.highWaterMarkBytes, ASR_DEFAULTS.highWaterMarkBytes),
    preReadyBufferMs: positiveOption('preReadyBufferMs', cfg.preReadyBufferMs, ASR_DEFAULTS.preReadyBufferMs),
  };
}

export function createWhisperLiveBackend(cfg: WhisperLiveConfig): AsrBackend {
  const s = resolveWhisperLive(cfg);
  const streams = new Set<WhisperLiveStream>();
  const url = new URL(s.url);
  return {
    // Origin and path only: never credentials or a ?token= from the URL.
    id: `whisperlive:${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`,
    capabilities: { livePartials: true, translate: true, readySignal: true },
    open(opts, handlers) {
      const stream: WhisperLiveStream = new WhisperLiveStream(opts, handlers, s, () => streams.delete(stream));
      streams.add(stream);
      return stream;
    },
    /** Opens a WebSocket and closes it (the server logs a client that left before sending its
     *  options; no model is loaded). */
    probe: (timeoutMs) =>
      new Promise<boolean>((resolve) => {
        const ws = new WebSocket(s.url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
        const done = (ok: boolean): void => {
          clearTimeout(timer);
          ws.removeAllListeners();
          ws.on('error', () => undefined);
          if (ok) ws.close(1000);
          else ws.terminate();
          resolve(ok);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        timer.unref();
        ws.once('open', () => done(true));
        ws.once('error', () => done(false));
      }),
    async close() {
      for (const st of streams) st.close();
      streams.clear();
    },
  };
}
