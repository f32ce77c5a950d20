// `npm run cli -- "prompt"`: ask the gateway one question and stream the answer to stdout.
// runCli() holds all the logic (testable); the entry block only wires process streams and SIGINT.
import { readFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { DetectBoxesMsg, MaskFrameMsg, ServerMessage } from '../../protocol/messages.ts';
import { renderOverlay } from './overlay.ts';
import { parseCliArgs, USAGE, type CliConfig } from './cli-args.ts';
import { connect, VlpClientError, type VlpClient } from './sdk.ts';
import { isTerminal, turnOf } from './turn.ts';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  /** Aborted on Ctrl-C: the CLI cancels the turn and exits 130. */
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
}

/** After Ctrl-C or a timeout, how long to wait for turn.cancelled, ms. */
const CANCEL_GRACE_MS = 1_500;

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
  let client: VlpClient;
  try {
    client = await connect(cfg.url, {
      subprotocol: cfg.subprotocol,
      client: 'vlp-cli/0.1',
      connectTimeoutMs: cfg.timeoutMs,
      ...(cfg.options !== undefined && { options: cfg.options }),
    });
  } catch (err) {
    return reportFailure(err, io);
  }
  try {
    if (io.signal?.aborted === true) return EXIT.INTERRUPTED;
    return await runTurn(client, cfg, io, deadline);
  } catch (err) {
    return reportFailure(err, io);
  } finally {
    await client.close();
  }
}

async function runTurn(client: VlpClient, cfg: CliConfig, io: CliIo, deadline: number): Promise<number> {
  const frames = cfg.events ? client.events() : undefined;
  if (frames !== undefined) io.stdout.write(`${JSON.stringify(client.ready)}\n`);
  let image: string | undefined;
  let imageBytes: Uint8Array | undefined;
  if (cfg.image !== undefined) {
    image = 'cli-image';
    if ('path' in cfg.image) {
      imageBytes = new Uint8Array(await readFile(cfg.image.path));
      client.putImage(image, imageBytes);
    } else client.send({ t: 'image.put', id: image, url: cfg.image.url });
  }
  let boxes: DetectBoxesMsg | undefined;
  const masks: MaskFrameMsg[] = [];
  const turn = client.ask(cfg.prompt, {
    ...(image !== undefined && { image }),
    ...(cfg.model !== undefined && { model: cfg.model }),
    ...(cfg.params !== undefined && { params: cfg.params }),
  });
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
  let wroteText = false;
  try {
    for (;;) {
      const next = iter.next();
      next.catch(() => {}); // may settle after we stop waiting; its failure is not ours to report
      const r = await Promise.race([next, stopped]);
      if (r === 'stop' || r.done === true) break;
      const msg = r.value;
      if (msg.t === 'mask.frame') masks.push(msg);
      else if (msg.t === 'detect.boxes') boxes = msg;
      if (frames !== undefined) io.stdout.write(`${JSON.stringify(msg)}\n`);
      else if (msg.t === 'gen.token') {
        io.stdout.write(msg.text);
        wroteText = true;
      } else if (msg.t === 'detect.boxes') {
        for (const b of msg.boxes) io.stderr.write(`box ${b.id} ${b.label} ${b.score.toFixed(2)} [${b.box.map((v) => Math.round(v)).join(', ')}]\n`);
      } else if (msg.t === 'gen.done' && !wroteText && msg.text.length > 0) {
        // Turns without tokens (detection/segmentation) answer in gen.done's text.
        io.stdout.write(msg.text);
        wroteText = true;
      }
      if (msg.t === 'error' && msg.fatal) last = msg; // the close that follows ends the stream
      if (isTerminal(msg) && (turnOf(msg) === turn.id || (msg.t === 'error' && msg.turn === undefined && msg.ref === 'turn.start'))) {
        last = msg;
        break;
      }
    }
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    for (const t of timers) clearTimeout(t);
    if (frames !== undefined) void frames.return?.();
  }
  if (wroteText) io.stdout.write('\n');
  if (cfg.save !== undefined && imageBytes !== undefined && last?.t === 'gen.done') {
    await renderOverlay(imageBytes, boxes, masks, cfg.save);
    io.stderr.write(`saved ${cfg.save} (${boxes?.boxes.length ?? 0} boxes, ${masks.length} masks)\n`);
  }
  return outcome(last, stopReason, cfg, io);
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
  if (last?.t === 'gen.done') {
    io.stderr.write(`finish=${last.finish} tokens=${last.tokens} ttft_ms=${last.ttft_ms} total_ms=${last.total_ms}\n`);
    return last.finish === 'error' ? EXIT.ERROR : EXIT.OK;
  }
  if (last?.t === 'turn.cancelled') {
    io.stderr.write(`error TURN_CANCELLED: the server cancelled the turn (${last.reason})\n`);
    return EXIT.ERROR;
  }
  io.stderr.write('error CLIENT_CLOSED: the connection closed before the answer ended\n');
  return EXIT.ERROR;
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
