// Speaks answers as their tokens stream (the Web Speech API's speechSynthesis), one utterance per
// sentence, and knows how much of each answer has been spoken: at a barge-in the page stops the
// voice and tells the gateway how many characters the user heard (playback.truncate), so the
// dialogue history keeps only that. No-op where the browser has no speech synthesis.

/** Where a sentence ends: the text up to here is spoken as one utterance. */
const SENTENCE_END = /[.!?。！？]\s|\n/g;

export class AnswerSpeaker {
  private turn: string | undefined;
  /** The turn's streamed text, and how much of it has been handed to utterances. */
  private text = '';
  private queued = 0;
  /** Characters spoken for sure: completed utterances plus the current one's last boundary. */
  private heard = 0;
  /** The answer's last token has come (finish()). */
  private finished = false;
  /** An utterance of it failed (no voice, an engine error): what was heard is unknown, and the
   *  user read the answer anyway, so nothing is truncated. */
  private failed = false;

  constructor(private readonly synth: SpeechSynthesis | undefined = globalThis.speechSynthesis) {}

  /** The browser can speak: speech synthesis with at least one voice (voices may load late:
   *  listen for the synth's `voiceschanged`). */
  get available(): boolean {
    return this.synth !== undefined && this.synth.getVoices().length > 0;
  }

  /** The answer's next token: whole sentences are queued for speaking as they complete. */
  add(turn: string, text: string): void {
    if (this.turn !== turn) this.reset(turn);
    this.text += text;
    SENTENCE_END.lastIndex = this.queued;
    let end = this.queued;
    for (let m = SENTENCE_END.exec(this.text); m !== null; m = SENTENCE_END.exec(this.text)) end = m.index + m[0].length;
    if (end > this.queued) this.speak(end);
  }

  /** The answer is complete: speak what is left. */
  finish(turn: string): void {
    if (this.turn !== turn) return;
    this.finished = true;
    if (this.text.length > this.queued) this.speak(this.text.length);
  }

  /** Stops speaking `turn` (a barge-in, the Stop button); returns the characters (code points)
   *  the user heard, or undefined when it is not the turn being spoken or was spoken whole. */
  stop(turn: string): number | undefined {
    if (this.turn !== turn) return undefined;
    const whole = this.failed || (this.finished && this.heard >= this.text.length);
    const heard = Array.from(this.text.slice(0, this.heard)).length;
    this.reset(undefined);
    return whole ? undefined : heard;
  }

  private reset(turn: string | undefined): void {
    if (this.turn !== undefined) this.synth?.cancel();
    this.turn = turn;
    this.text = '';
    this.queued = 0;
    this.heard = 0;
    this.finished = false;
    this.failed = false;
  }

  private speak(end: number): void {
    const synth = this.synth;
    if (synth === undefined) return;
    const start = this.queued;
    const turn = this.turn;
    const u = new SpeechSynthesisUtterance(this.text.slice(start, end));
    u.onboundary = (ev) => {
      if (this.turn === turn) this.heard = Math.max(this.heard, start + ev.charIndex);
    };
    u.onend = () => {
      if (this.turn === turn) this.heard = Math.max(this.heard, end);
    };
    u.onerror = (ev) => {
      // cancel() reports 'canceled'/'interrupted' errors: those are ours, not failures.
      if (this.turn === turn && ev.error !== 'canceled' && ev.error !== 'interrupted') this.failed = true;
    };
    this.queued = end;
    synth.speak(u);
  }
}
