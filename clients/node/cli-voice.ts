// A spoken question from the CLI (--audio): stream the audio, show the transcripts on stderr and
// print the answer of every voice turn the speech starts.
import type { ErrorMsg, ServerMessage } from '../../protocol/messages.ts';
import type { AudioInput } from './audio-file.ts';
import type { CliConfig } from './cli-args.ts';
import { sendImage } from './cli-image.ts';
import { EXIT, reportFailure, type CliIo } from './cli-io.ts';
import { StatusLine, TurnOutput, turnSummary } from './cli-output.ts';
import { CANCEL_GRACE_MS, METRICS_WAIT_MS, Waker } from './cli-wait.ts';
import { renderOverlay } from './overlay.ts';
import type { VlpClient } from './sdk.ts';
import { isTerminal, turnOf } from './turn.ts';

/** After audio.end, a ping whose pong says the gateway has processed all the audio, ms. */
const FLUSH_PING_TIMEOUT_MS = 5_000;

/**
 * --audio: stream the audio, show the transcripts on stderr, and print the answer of every voice
 * turn the speech starts (usually one; a pause can split the speech into several utterances, and
 * a newer one supersedes a turn still running). Done when the audio is sent, the gateway has seen
 * all of it, no utterance awaits its transcript and the last voice turn has ended.
 */
export async function runVoice(client: VlpClient, cfg: CliConfig, audio: AudioInput, io: CliIo): Promise<number> {
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
