// `npm run cli -- "prompt"` or `npm run cli -- --audio question.wav`: ask the gateway one question
// (typed or spoken) and stream the answer to stdout. runCli() holds all the logic (testable); the
// entry block only wires process streams and SIGINT.
import { readFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { DetectBoxesMsg, ErrorMsg, MaskFrameMsg, ServerMessage } from '../../protocol/messages.ts';
import { openAudioFile, openAudioStream, type AudioInput } from './audio-file.ts';
import { renderOverlay } from './overlay.ts';
import { parseCliArgs, USAGE, type CliConfig } from './cli-args.ts';
import { connect, VlpClientError, type VlpClient } from './sdk.ts';
import { isTerminal, turnOf } from './turn.ts';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  /** Audio for `--audio -` (default process.stdin). */
  stdin?: Readable;
  /** Aborted on Ctrl-C: the CLI cancels the turn and exits 130. */
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
}

/** --events: how long to wait for a turn's turn.metrics after its terminal frame, ms. */
const METRICS_WAIT_MS = 1_000;

/** After Ctrl-C or a timeout, how long to wait for turn.cancelled, ms. */
const CANCEL_GRACE_MS = 1_500;
/** After audio.end, a ping whose pong says the gateway has processed all the audio, ms. */
const FLUSH_PING_TIMEOUT_MS = 5_000;

export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, INTERRUPTED: 130 } as const;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseCliArgs(argv, io.env ?? process.env);
  if (parsed.kind === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.OK;
  }
  if (parsed.kind === 'usage') {
    io.stderr.write(`vlp: ${parsed.error}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  const cfg = parsed.config;
  const deadline = Date.now() + cfg.timeoutMs;
  // The audio is opened first: an unreadable file or a missing ffmpeg fails before connecting.
  let audio: AudioInput | undefined;
  if (cfg.audio !== undefined) {
    try {
      audio =
        cfg.audio.path === '-'
          ? openAudioStream(io.stdin ?? process.stdin, cfg.audio.format)
          : await openAudioFile(cfg.audio.path, cfg.audio.format !== undefined ? { format: cfg.audio.format } : {});
    } catch (err) {
      return reportFailure(err, io);
    }
  }
  let client: VlpClient;
  try {
    client = await connect(cfg.url, {
      subprotocol: cfg.subprotocol,
      client: 'vlp-cli/0.1',
      connectTimeoutMs: cfg.timeoutMs,
      ...(cfg.options !== undefined && { options: cfg.options }),
    });
  } catch (err) {
    audio?.close();
    return reportFailure(err, io);
  }
  try {
    if (io.signal?.aborted === true) return EXIT.INTERRUPTED;
    return audio !== undefined ? await runVoice(client, cfg, audio, io) : await runTurn(client, cfg, io, deadline);
  } catch (err) {
    return reportFailure(err, io);
  } finally {
    audio?.close();
    await client.close();
  }
}

/** --image / --image-url: sent before the question. */
async function sendImage(client: VlpClient, cfg: CliConfig): Promise<{ image?: string; imageBytes?: Uint8Array }> {
  if (cfg.image === undefined) return {};
  const image = 'cli-image';
  if ('path' in cfg.image) {
    const imageBytes = new Uint8Array(await readFile(cfg.image.path));
    client.putImage(image, imageBytes);
    return { image, imageBytes };
  }
  client.send({ t: 'image.put', id: image, url: cfg.image.url });
  return { image };
}

/** What one turn prints: tokens (or a token-less answer) to stdout, boxes as notes; with --events
 *  (`quiet`) it only collects the boxes and masks for --save. */
class TurnOutput {
  wroteText = false;
  boxes: DetectBoxesMsg | undefined;
  readonly masks: MaskFrameMsg[] = [];

  constructor(
    readonly id: string,
    private readonly stdout: Writable,
    private readonly note: (line: string) => void,
    private readonly quiet: boolean,
  ) {}

  frame(msg: ServerMessage): void {
    if (msg.t === 'mask.frame') this.masks.push(msg);
    else if (msg.t === 'detect.boxes') this.boxes = msg;
    if (this.quiet) return;
    if (msg.t === 'gen.token') {
      this.stdout.write(msg.text);
      this.wroteText = true;
    } else if (msg.t === 'detect.boxes') {
      for (const b of msg.boxes) this.note(`box ${b.id} ${b.label} ${b.score.toFixed(2)} [${b.box.map((v) => Math.round(v)).join(', ')}]`);
    } else if (msg.t === 'gen.done' && !this.wroteText && msg.text.length > 0) {
      // Turns without tokens (detection/segmentation) answer in gen.done's text.
      this.stdout.write(msg.text);
      this.wroteText = true;
    }
  }

  /** Ends the answer's line on stdout. */
  endLine(): void {
    if (this.wroteText) this.stdout.write('\n');
    this.wroteText = false;
  }
}

async function runTurn(client: VlpClient, cfg: CliConfig, io: CliIo, deadline: number): Promise<number> {
  const frames = cfg.events ? client.events() : undefined;
  if (frames !== undefined) io.stdout.write(`${JSON.stringify(client.ready)}\n`);
  const { image, imageBytes } = await sendImage(client, cfg);
  const turn = client.ask(cfg.prompt, {
    ...(image !== undefined && { image }),
    ...(cfg.model !== undefined && { model: cfg.model }),
    ...(cfg.params !== undefined && { params: cfg.params }),
  });
  const out = new TurnOutput(turn.id, io.stdout, (line) => io.stderr.write(`${line}\n`), frames !== undefined);
  const iter = frames ?? turn[Symbol.asyncIterator]();

  // Ctrl-C or the deadline: cancel the turn, then wait up to CANCEL_GRACE_MS for turn.cancelled.
  let stopReason: 'interrupt' | 'timeout' | undefined;
  let wake = (): void => {};
  const stopped = new Promise<'stop'>((r) => (wake = () => r('stop')));
  const timers: NodeJS.Timeout[] = [];
  const stop = (why: 'interrupt' | 'timeout'): void => {
    if (stopReason !== undefined) return;
    stopReason = why;
    turn.cancel();
    timers.push(setTimeout(wake, CANCEL_GRACE_MS));
  };
  const onAbort = (): void => stop('interrupt');
  io.signal?.addEventListener('abort', onAbort, { once: true });
  timers.push(setTimeout(() => stop('timeout'), Math.max(0, deadline - Date.now())));

  let last: ServerMessage | undefined;
  try {
    for (;;) {
      if (last !== undefined) {
        // --events: the turn's turn.metrics follows its terminal frame; print it (briefly awaited).
        if (frames === undefined) break;
        const following = iter.next();
        following.catch(() => {});
        const r = await Promise.race([following, new Promise<'late'>((res) => timers.push(setTimeout(() => res('late'), METRICS_WAIT_MS)))]);
        if (r === 'late' || r.done === true) break;
        io.stdout.write(`${JSON.stringify(r.value)}\n`);
        if (r.value.t === 'turn.metrics' && r.value.turn === turn.id) break;
        continue;
      }
      const next = iter.next();
      next.catch(() => {}); // may settle after we stop waiting; its failure is not ours to report
      const r = await Promise.race([next, stopped]);
      if (r === 'stop' || r.done === true) break;
      const msg = r.value;
      if (frames !== undefined) io.stdout.write(`${JSON.stringify(msg)}\n`);
      out.frame(msg);
      if (msg.t === 'error' && msg.fatal) last = msg; // the close that follows ends the stream
      if (isTerminal(msg) && (turnOf(msg) === turn.id || (msg.t === 'error' && msg.turn === undefined && msg.ref === 'turn.start'))) {
        last = msg;
      }
    }
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    for (const t of timers) clearTimeout(t);
    if (frames !== undefined) void frames.return?.();
  }
  out.endLine();
  if (cfg.save !== undefined && imageBytes !== undefined && last?.t === 'gen.done') {
    await renderOverlay(imageBytes, out.boxes, out.masks, cfg.save);
    io.stderr.write(`saved ${cfg.save} (${out.boxes?.boxes.length ?? 0} boxes, ${out.masks.length} masks)\n`);
  }
  return outcome(last, stopReason, cfg, io);
}

/**
 * The stderr line for partial transcripts: on a terminal it is rewritten in place (and cleared
 * before any other line); elsewhere every partial is its own line.
 */
class StatusLine {
  private open = false;
  private readonly tty: boolean;

  constructor(private readonly out: Writable) {
    this.tty = (out as Partial<NodeJS.WriteStream>).isTTY === true;
  }

  partial(text: string): void {
    const line = `… partial: ${text}`;
    if (!this.tty) {
      this.out.write(`${line}\n`);
      return;
    }
    // Only the tail fits when the line is wider than the terminal (a wrapped line cannot be rewritten).
    const width = Math.max(20, ((this.out as Partial<NodeJS.WriteStream>).columns ?? 80) - 1);
    const chars = [...line];
    const shown = chars.length > width ? `…${chars.slice(chars.length - width + 1).join('')}` : line;
    this.out.write(`\r\x1b[2K${shown}`);
    this.open = true;
  }

  line(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
  }

  clear(): void {
    if (!this.open) return;
    this.out.write('\r\x1b[2K');
    this.open = false;
  }
}

/** One promise to wait on for "something changed" (a timer, the audio sender, a stop request). */
class Waker {
  private promise: Promise<'wake'> | undefined;
  private resolve: ((v: 'wake') => void) | undefined;

  wait(): Promise<'wake'> {
    this.promise ??= new Promise<'wake'>((r) => (this.resolve = r));
    return this.promise;
  }

  wake(): void {
    const r = this.resolve;
    this.promise = undefined;
    this.resolve = undefined;
    r?.('wake');
  }
}

/**
 * --audio: stream the audio, show the transcripts on stderr, and print the answer of every voice
 * turn the speech starts (usually one; a pause can split the speech into several utterances, and
 * a newer one supersedes a turn still running). Done when the audio is sent, the gateway has seen
 * all of it, no utterance awaits its transcript and the last voice turn has ended.
 */
async function runVoice(client: VlpClient, cfg: CliConfig, audio: AudioInput, io: CliIo): Promise<number> {
  const frames = client.events();
  if (cfg.events) io.stdout.write(`${JSON.stringify(client.ready)}\n`);
  const { imageBytes } = await sendImage(client, cfg);
  const status = new StatusLine(io.stderr);
  const waker = new Waker();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
      waker.wake();
    }, ms);
    timers.add(t);
    return t;
  };

  let sent = false;
  let flushed = false;
  let sendFailure: unknown;
  let failure: ErrorMsg | undefined;
  let transcriptTimer: NodeJS.Timeout | undefined;
  let transcriptExpired = false;
  let stopReason: 'interrupt' | 'timeout' | undefined;
  let graceOver = false;
  let inSpeech = false;
  let speechEnds = 0;
  let finals = 0;
  let current: TurnOutput | undefined;
  /** --events: the turn's terminal frame, held until its turn.metrics (or METRICS_WAIT_MS) is printed. */
  let pendingEnd: { msg: ServerMessage; expired: boolean } | undefined;
  let lastCode: number | undefined;
  let closed = false;
  let noTranscript = false;

  // The transcript wait restarts whenever the gateway shows it is still working on the speech.
  const armTranscriptTimer = (): void => {
    if (!sent) return;
    if (transcriptTimer !== undefined) {
      clearTimeout(transcriptTimer);
      timers.delete(transcriptTimer);
    }
    transcriptExpired = false;
    transcriptTimer = later(cfg.transcriptTimeoutMs, () => (transcriptExpired = true));
  };
  const sendAc = new AbortController();
  const stop = (why: 'interrupt' | 'timeout'): void => {
    if (stopReason !== undefined) return;
    stopReason = why;
    sendAc.abort();
    if (current !== undefined) {
      client.cancel(current.id);
      later(CANCEL_GRACE_MS, () => (graceOver = true));
    }
    waker.wake();
  };
  const onAbort = (): void => stop('interrupt');
  io.signal?.addEventListener('abort', onAbort, { once: true });

  client
    .streamAudio(audio.stream, {
      format: audio.format,
      pace: cfg.speed,
      signal: sendAc.signal,
      ...(cfg.language !== undefined && { language: cfg.language }),
      ...(cfg.task !== undefined && { task: cfg.task }),
    })
    .then(
      () => {
        sent = true;
        armTranscriptTimer();
        later(cfg.timeoutMs, () => stop('timeout'));
        // The gateway handles messages in order: once the pong is back, every vad event the audio
        // caused has been sent, so an utterance still in progress is known.
        client
          .ping(FLUSH_PING_TIMEOUT_MS)
          .catch(() => 0)
          .finally(() => {
            flushed = true;
            waker.wake();
          });
        waker.wake();
      },
      (err: unknown) => {
        if (!sendAc.signal.aborted) sendFailure = err;
        waker.wake();
      },
    );

  const endTurn = async (msg: ServerMessage): Promise<void> => {
    const t = current as TurnOutput;
    current = undefined;
    t.endLine();
    if (stopReason !== undefined) return;
    if (msg.t === 'gen.done' && cfg.save !== undefined && imageBytes !== undefined) {
      await renderOverlay(imageBytes, t.boxes, t.masks, cfg.save);
      status.line(`saved ${cfg.save} (${t.boxes?.boxes.length ?? 0} boxes, ${t.masks.length} masks)`);
    }
    lastCode = turnSummary(msg, (line) => status.line(line));
  };

  const handle = async (msg: ServerMessage): Promise<void> => {
    switch (msg.t) {
      case 'vad':
        if (msg.event === 'speech_start') inSpeech = true;
        else {
          inSpeech = false;
          speechEnds += 1;
          armTranscriptTimer();
        }
        return;
      case 'asr.partial': {
        const text = `${msg.stable}${msg.unstable}`.trim();
        if (text !== '') status.partial(text);
        armTranscriptTimer();
        return;
      }
      case 'asr.final':
        status.line(`you said: ${msg.text}`);
        finals += 1;
        current?.endLine(); // a turn still running is superseded by this one: its frames are ignored
        current = new TurnOutput(msg.turn, io.stdout, (line) => status.line(line), cfg.events);
        if (stopReason !== undefined) client.cancel(msg.turn);
        return;
      case 'asr.lag':
        status.line(`warning: the gateway dropped ${msg.dropped_ms} ms of audio (asr.lag, ${msg.total_dropped_ms} ms in all)`);
        return;
      case 'error':
        if (msg.turn !== undefined) {
          if (msg.turn === current?.id) await endTurn(msg);
        } else if (msg.fatal || msg.ref === 'audio.start' || msg.ref === 'audio') {
          failure = msg; // the audio cannot be heard (or the connection is closing)
        } else {
          status.line(`warning ${msg.code}: ${msg.message}`);
        }
        return;
      default: {
        if (current === undefined || turnOf(msg) !== current.id) return;
        current.frame(msg);
        if (msg.t === 'turn.metrics' && pendingEnd !== undefined) {
          const end = pendingEnd.msg;
          pendingEnd = undefined;
          await endTurn(end);
        } else if (isTerminal(msg)) {
          if (!cfg.events) return endTurn(msg);
          // turn.metrics follows the terminal frame: print it too before the turn counts as ended.
          const held = { msg, expired: false };
          pendingEnd = held;
          later(METRICS_WAIT_MS, () => {
            held.expired = true;
            waker.wake();
          });
        }
      }
    }
  };

  let pending: Promise<IteratorResult<ServerMessage, undefined>> | undefined;
  try {
    for (;;) {
      if (failure !== undefined || sendFailure !== undefined) break;
      if (pendingEnd?.expired === true) {
        const end = pendingEnd.msg;
        pendingEnd = undefined;
        await endTurn(end);
      }
      if (stopReason !== undefined && (current === undefined || graceOver)) break;
      if (sent && flushed && current === undefined) {
        const awaiting = (inSpeech || speechEnds > finals) && !transcriptExpired;
        if (finals > 0 && !awaiting) break;
        if (finals === 0 && transcriptExpired) {
          noTranscript = true;
          break;
        }
      }
      if (pending === undefined) {
        pending = frames.next();
        pending.catch(() => {}); // may settle after we stop waiting
      }
      const r = await Promise.race([pending, waker.wait()]);
      if (r === 'wake') continue;
      pending = undefined;
      if (r.done === true) {
        closed = true;
        break;
      }
      if (cfg.events) io.stdout.write(`${JSON.stringify(r.value)}\n`);
      await handle(r.value);
    }
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    sendAc.abort();
    for (const t of timers) clearTimeout(t);
    void frames.return?.();
  }
  if (current !== undefined && !closed && stopReason === undefined) client.cancel(current.id);
  current?.endLine();
  status.clear();

  if (stopReason === 'interrupt') {
    io.stderr.write('interrupted\n');
    return EXIT.INTERRUPTED;
  }
  if (failure !== undefined) {
    io.stderr.write(`error ${failure.code}: ${failure.message}\n`);
    return EXIT.ERROR;
  }
  if (sendFailure !== undefined) return reportFailure(sendFailure, io);
  if (stopReason === 'timeout') {
    io.stderr.write(`error CLIENT_TIMEOUT: no complete answer within ${cfg.timeoutMs} ms after the audio was sent\n`);
    return EXIT.ERROR;
  }
  if (noTranscript) {
    io.stderr.write(`error CLIENT_NO_TRANSCRIPT: no final transcript within ${cfg.transcriptTimeoutMs} ms after the audio ended (no speech heard?)\n`);
    return EXIT.ERROR;
  }
  if (closed || lastCode === undefined) {
    io.stderr.write('error CLIENT_CLOSED: the connection closed before the answer ended\n');
    return EXIT.ERROR;
  }
  return lastCode;
}

/** The stderr line for how a turn ended, and its exit code. */
function turnSummary(last: ServerMessage, note: (line: string) => void): number {
  if (last.t === 'error') {
    note(`error ${last.code}: ${last.message}`);
    return EXIT.ERROR;
  }
  if (last.t === 'gen.done') {
    note(`finish=${last.finish} tokens=${last.tokens} ttft_ms=${last.ttft_ms} total_ms=${last.total_ms}`);
    return last.finish === 'error' ? EXIT.ERROR : EXIT.OK;
  }
  if (last.t === 'turn.cancelled') {
    note(`error TURN_CANCELLED: the server cancelled the turn (${last.reason})`);
    return EXIT.ERROR;
  }
  note('error CLIENT_CLOSED: the connection closed before the answer ended');
  return EXIT.ERROR;
}

function outcome(last: ServerMessage | undefined, stopReason: 'interrupt' | 'timeout' | undefined, cfg: CliConfig, io: CliIo): number {
  if (stopReason === 'interrupt') {
    io.stderr.write('interrupted\n');
    return EXIT.INTERRUPTED;
  }
  if (last?.t === 'error') {
    io.stderr.write(`error ${last.code}: ${last.message}\n`);
    return EXIT.ERROR;
  }
  if (stopReason === 'timeout') {
    io.stderr.write(`error CLIENT_TIMEOUT: no complete answer within ${cfg.timeoutMs} ms\n`);
    return EXIT.ERROR;
  }
  if (last === undefined) {
    io.stderr.write('error CLIENT_CLOSED: the connection closed before the answer ended\n');
    return EXIT.ERROR;
  }
  return turnSummary(last, (line) => io.stderr.write(`${line}\n`));
}

function reportFailure(err: unknown, io: CliIo): number {
  if (err instanceof VlpClientError) io.stderr.write(`error ${err.code}: ${err.message}\n`);
  else io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT.ERROR;
}

function isEntryModule(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryModule()) {
  const ac = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT.INTERRUPTED); // second Ctrl-C: do not wait for the grace period
    ac.abort();
  });
  process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: ac.signal });
}
