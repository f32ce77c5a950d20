// A typed question from the CLI (no --audio): ask one turn, stream its answer (or, with --events,
// every frame as JSON), and turn how it ended into an exit code. Ctrl-C and the deadline cancel it.
import type { ServerMessage } from '../../protocol/messages.ts';
import type { CliConfig } from './cli-args.ts';
import { sendImage } from './cli-image.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { TurnOutput, turnSummary } from './cli-output.ts';
import { CANCEL_GRACE_MS, METRICS_WAIT_MS } from './cli-wait.ts';
import { renderOverlay } from './overlay.ts';
import type { VlpClient } from './sdk.ts';
import { isTerminal, turnOf } from './turn.ts';

/** Ask cfg.prompt as one turn and print its answer; resolves with the exit code. */
export async function runTurn(client: VlpClient, cfg: CliConfig, io: CliIo, deadline: number): Promise<number> {
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

/** The exit code for how the turn ended (or was stopped), with its stderr line. */
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
