// Voice turns on the client side: the server starts them from speech and names them in asr.final,
// possibly before anyone follows them. VoiceTurnBuffers keeps their frames until followTurn() takes
// them (bounded; a watch's turns, named in watch.event, are kept the same way);
// voiceTurnIterator() turns asr.final frames into followed VoiceTurns.
import type { AsrFinalMsg, ServerMessage } from '../../protocol/messages.ts';
import { VlpClientError } from './errors.ts';
import type { BoundedQueue } from './queue.ts';
import { isTerminal, type TurnHandle } from './turn.ts';

/** A voice turn the server started from a final transcript (asr.final). */
export interface VoiceTurn {
  /** Server-chosen turn id (v1, v2, ...). */
  id: string;
  /** The final transcript: the turn's question. */
  text: string;
  /** Language the ASR reported, when it did. */
  language?: string;
  /** The turn's frames, like an ask() handle (cancel(), text(), for await). An utterance the
   *  gateway took for the assistant's own voice (options.echo_guard) or for a backchannel
   *  (options.ignore_backchannels) is yielded too: its frames are only turn.cancelled with reason
   *  "echo" or "backchannel" (no answer, text() resolves to ""). */
  turn: TurnHandle;
}

/** Server-started turns (asr.final, watch.event) whose frames are kept until followTurn() takes them. */
const MAX_UNFOLLOWED_VOICE_TURNS = 16;
/** Ids of server-started turns whose kept frames were dropped, remembered so followTurn() can say so. */
const MAX_LOST_VOICE_IDS = 256;

interface VoiceBuffer {
  frames: ServerMessage[];
  ended: boolean;
}

/**
 * Frames of announced server-started turns (voice and watch turns) nobody follows yet, oldest turn
 * first. At most maxBacklog frames over the last MAX_UNFOLLOWED_VOICE_TURNS turns are kept; past
 * that the oldest turn's frames are dropped and its id is remembered as lost.
 */
export class VoiceTurnBuffers {
  private readonly buffers = new Map<string, VoiceBuffer>();
  private buffered = 0;
  private readonly lost = new Set<string>();

  constructor(private readonly maxBacklog: number) {}

  has(id: string): boolean {
    return this.buffers.has(id);
  }

  /** asr.final or watch.event named a turn the server is starting: keep its frames until
   *  handOver() takes them. */
  announce(id: string): void {
    if (this.buffers.has(id)) return;
    this.buffers.set(id, { frames: [], ended: false });
    while (this.buffers.size > MAX_UNFOLLOWED_VOICE_TURNS) this.dropOldest();
  }

  /** A frame of turn `id` nobody follows: kept when the turn was announced and has not ended. */
  keep(id: string, msg: ServerMessage): void {
    const buf = this.buffers.get(id);
    if (buf === undefined || buf.ended) return;
    buf.frames.push(msg);
    this.buffered += 1;
    if (isTerminal(msg)) buf.ended = true;
    while (this.buffered > this.maxBacklog) this.dropOldest();
  }

  /**
   * followTurn() took turn `id`: its kept frames go to `handle`, or the handle fails with
   * CLIENT_SLOW_CONSUMER when they were dropped. True when the handle is finished with that (its
   * terminal frame was kept, or it failed); false when it still needs the turn's live frames.
   */
  handOver(id: string, handle: TurnHandle): boolean {
    const buf = this.buffers.get(id);
    if (buf !== undefined) {
      this.buffers.delete(id);
      this.buffered -= buf.frames.length;
      for (const f of buf.frames) handle.deliver(f);
      return handle.finished;
    }
    if (this.lost.has(id)) {
      handle.fail(
        new VlpClientError(
          'CLIENT_SLOW_CONSUMER',
          `turn ${id}: its frames were dropped before it was followed (more than ${this.maxBacklog} frames or ${MAX_UNFOLLOWED_VOICE_TURNS} server-started turns waiting); follow a turn when the asr.final or watch.event naming it arrives`,
          { retryable: false, turn: id },
        ),
      );
      return true;
    }
    return false;
  }

  private dropOldest(): void {
    const oldest = this.buffers.entries().next();
    if (oldest.done === true) return;
    const [id, buf] = oldest.value;
    this.buffers.delete(id);
    this.buffered -= buf.frames.length;
    this.lost.add(id);
    if (this.lost.size > MAX_LOST_VOICE_IDS) {
      const first = this.lost.values().next();
      if (first.done !== true) this.lost.delete(first.value);
    }
  }
}

/** The VoiceTurns of a queue of asr.final frames, each turn followed with `follow` as it is read. */
export function voiceTurnIterator(q: BoundedQueue<AsrFinalMsg>, follow: (id: string) => TurnHandle): AsyncIterableIterator<VoiceTurn, undefined> {
  const iter: AsyncIterableIterator<VoiceTurn, undefined> = {
    next: async (): Promise<IteratorResult<VoiceTurn, undefined>> => {
      const r = await q.next();
      if (r.done === true) return { value: undefined, done: true };
      const f = r.value;
      return {
        value: { id: f.turn, text: f.text, ...(f.language !== undefined && { language: f.language }), turn: follow(f.turn) },
        done: false,
      };
    },
    return: async (): Promise<IteratorResult<VoiceTurn, undefined>> => {
      await q.return();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iter,
  };
  return iter;
}
