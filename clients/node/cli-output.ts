// What the CLI prints about a turn: its answer on stdout (TurnOutput), the partial-transcript line
// on stderr (StatusLine), and the stderr line for how the turn ended with its exit code (turnSummary).
import type { Writable } from 'node:stream';
import type { DetectBoxesMsg, MaskFrameMsg, ServerMessage } from '../../protocol/messages.ts';
import { EXIT } from './cli-io.ts';

/** What one turn prints: tokens (or a token-less answer) to stdout, boxes as notes; with --events
 *  (`quiet`) it only collects the boxes and masks for --save. */
export class TurnOutput {
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

/**
 * The stderr line for partial transcripts: on a terminal it is rewritten in place (and cleared
 * before any other line); elsewhere every partial is its own line.
 */
export class StatusLine {
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

/** The stderr line for how a turn ended, and its exit code. */
export function turnSummary(last: ServerMessage, note: (line: string) => void): number {
  if (last.t === 'error') {
    note(`error ${last.code}: ${last.message}`);
    return EXIT.ERROR;
  }
  if (last.t === 'gen.done') {
    note(`finish=${last.finish} tokens=${last.tokens} ttft_ms=${last.ttft_ms} total_ms=${last.total_ms}`);
    return last.finish === 'error' ? EXIT.ERROR : EXIT.OK;
  }
  if (last.t === 'turn.cancelled') {
    // Barge-in is the user speaking over the answer, not a failure: said as such (the exit code
    // still tells a script that this answer did not finish).
    if (last.reason === 'barge_in') note('interrupted: new speech cut this answer off (barge-in)');
    else if (last.reason === 'max_session') note('error SESSION_EXPIRED: the session reached its maximum duration before the answer ended; ask again');
    else note(`error TURN_CANCELLED: the server cancelled the turn (${last.reason})`);
    return EXIT.ERROR;
  }
  note('error CLIENT_CLOSED: the connection closed before the answer ended');
  return EXIT.ERROR;
}
