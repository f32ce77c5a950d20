// Speaks answers as their tokens stream (the Web Speech API's speechSynthesis), one utterance per
// sentence, and knows how much of each answer has been spoken: when the user cuts it short (speaks
// over it, presses Stop) the page tells the gateway how many characters were heard
// (playback.truncate), so the dialogue history keeps only that. The page drives it per turn:
// begin() at turn.started, add() per token, finish() at gen.done, silence() when the user speaks
// over an answer still streaming, stop() when the answer is over.

/** Where a sentence ends: the text up to here is spoken as one utterance (CJK full stops need no
 *  space after them). */
const SENTENCE_END = /[.!?](?:\s|$)|[。！？]|\n/g;
/** Text without a sentence end is still spoken once it is this long, up to its last space. */
const MAX_PENDING_CHARS = 200;

/** What the speaker needs of the Web Speech API (window.speechSynthesis). */
export type SpeechEngine = Pick<SpeechSynthesis, 'speak' | 'cancel' | 'getVoices'>;

export class AnswerSpeaker {
  private turn: string | undefined;
  /** The turn's streamed text, and how much of it has been handed to utterances. */
  private text = '';
  private queued = 0;
  /** UTF-16 length spoken for sure: completed utterances plus the current one's last boundary. */
  private heard = 0;
  /** The answer's last token has come (finish()). */
  private finished = false;
  /** The voice was cut while the answer streamed: its text is still counted, not spoken. */
  private silenced = false;
  /** An utterance failed (no voice, an engine error): what was heard is unknown, and the user
   *  read the answer anyway, so nothing is truncated. */
  private failed = false;

  constructor(private readonly synth: SpeechEngine | undefined = globalThis.speechSynthesis) {}

  /** The browser can speak: speech synthesis with at least one voice (voices may load late:
   *  listen for the synth's `voiceschanged`). */
  get available(): boolean {
    return this.synth !== undefined && this.synth.getVoices().length > 0;
  }

  /** The turn this speaker follows (undefined between answers). */
  get current(): string | undefined {
    return this.turn;
  }

  /** A new answer: whatever was being spoken stops (the caller truncates it first if it wants). */
  begin(turn: string): void {
    this.reset(turn);
  }

  /** The answer's next token: whole sentences are queued for speaking as they complete. */
  add(turn: string, text: string): void {
    if (this.turn !== turn) return; // not begun (speech was off at its start), or stopped
    this.text += text;
    if (this.silenced) return;
    let end = this.queued;
    SENTENCE_END.lastIndex = this.queued;
    for (let m = SENTENCE_END.exec(this.text); m !== null; m = SENTENCE_END.exec(this.text)) end = m.index + m[0].length;
    if (end === this.queued && this.text.length - this.queued >= MAX_PENDING_CHARS) {
      const space = this.text.lastIndexOf(' ');
      end = space > this.queued ? space + 1 : this.text.length;
    }
    if (end > this.queued) this.speak(end);
  }

  /** The answer is complete: speak what is left. */
  finish(turn: string): void {
    if (this.turn !== turn) return;
    this.finished = true;
    if (!this.silenced && this.text.length > this.queued) this.speak(this.text.length);
  }

  /** The user spoke over `turn` while it still streams: the voice stops now; stop() later says
   *  how much was heard. */
  silence(turn: string): void {
    if (this.turn !== turn || this.silenced) return;
    this.silenced = true;
    this.synth?.cancel();
  }

  /** Ends `turn`: the voice stops; returns the characters (code points) the user heard, or
   *  undefined when there is nothing to truncate (another turn, spoken whole, speech failed, or
   *  nothing spoken yet: the user has only read it). */
  stop(turn: string): number | undefined {
    if (this.turn !== turn) return undefined;
    const whole = this.finished && !this.silenced && this.heard >= this.text.length;
    const nothing = this.queued === 0;
    const heard = Array.from(this.text.slice(0, this.heard)).length;
    const failed = this.failed;
    this.reset(undefined);
    return whole || nothing || failed ? undefined : heard;
  }

  /** Speech switched off: the voice stops and nothing is truncated. */
  drop(): void {
    this.reset(undefined);
  }

  private reset(turn: string | undefined): void {
    if (this.turn !== undefined) this.synth?.cancel();
    this.turn = turn;
    this.text = '';
    this.queued = 0;
    this.heard = 0;
    this.finished = false;
    this.silenced = false;
    this.failed = false;
  }

  private speak(end: number): void {
    const synth = this.synth;
    if (synth === undefined) return;
    const start = this.queued;
    const turn = this.turn;
    const live = (): boolean => this.turn === turn && !this.silenced;
    const u = new SpeechSynthesisUtterance(this.text.slice(start, end));
    u.onboundary = (ev) => {
      if (live()) this.heard = Math.max(this.heard, start + ev.charIndex);
    };
    u.onend = () => {
      if (live()) this.heard = Math.max(this.heard, end);
    };
    u.onerror = (ev) => {
      // cancel() reports 'canceled'/'interrupted' errors: those are ours, not failures.
      if (this.turn === turn && ev.error !== 'canceled' && ev.error !== 'interrupted') this.failed = true;
    };
    this.queued = end;
    synth.speak(u);
  }
}
