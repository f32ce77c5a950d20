// Streaming output parser of a plan: turns the model's text, token by token, into plan steps as
// soon as each line is complete. A LangChain transform parser, so it sits at the end of a chain
// (`prompt.pipe(model).pipe(parser)`) and streams; parse() handles a whole text for invoke().
//
// Line rules (applied to each complete line, and to the last line when the text ends):
// - only list items count: `1.`, `1)`, `(1)`, `1:`, `1 -`, `Step 1:`, `Sub-task 1:`, `-`, `*`, `•`
//   (optionally bold, `**1.**`); their marker is stripped. Anything else — "Sure! Here are the
//   sub-tasks:", a closing remark, a prose answer — is dropped: a model that ignores the format
//   yields no plan rather than a "step" that answers the question;
// - a marker alone on its line (`1.` then the text on the next line) carries over to the next line;
// - empty items and duplicates (case, spacing and final punctuation ignored) are dropped;
// - a step longer than maxStepChars is cut at a word boundary and ends with "…"; a line that never
//   ends is buffered only up to a bound, so a runaway model cannot grow memory;
// - after maxSteps steps the parser stops reading (the planner aborts the upstream request).
import { BaseTransformOutputParser } from '@langchain/core/output_parsers';
import type { BaseMessage } from '@langchain/core/messages';
import type { PlanStepMsg } from '../../protocol/messages.ts';

/** One plan step: exactly the payload fields of the `plan.step` message besides `t` and `turn`. */
export type PlanStep = Omit<PlanStepMsg, 't' | 'seq' | 'turn'>;

/** The most steps a plan may have (the "up to 10 sub-tasks"). */
export const MAX_PLAN_STEPS = 10;
/** Default bound of one step's text, UTF-16 code units. */
export const DEFAULT_MAX_STEP_CHARS = 200;

export interface PlanStepParserOptions {
  /** Stop after this many steps (1..MAX_PLAN_STEPS, default MAX_PLAN_STEPS). */
  maxSteps?: number;
  /** Longest step text kept (default DEFAULT_MAX_STEP_CHARS, at least 16). */
  maxStepChars?: number;
  /** Sees every piece of model text as it streams in (e.g. to keep the raw output). */
  onText?: (delta: string) => void;
}

const ELLIPSIS = '…';
// Order matters: bold numbers, "Step 3:", "(3)", "3." / "3)" / "3:" / "3 -", then bullets.
const NUMBERED = /^(?:[-*•]\s*)?(?:\*\*)?(?:(?:step|sub-?task|task)\s*)?\(?\d{1,2}(?:\s*[.):\]]|\s+-)(?:\*\*)?(?=\s|$)\s*/i;
const BULLET = /^(?:[-*•‣▪●◦]|\u2013|\u2014)(?=\s)\s*/;

export function checkMaxSteps(maxSteps: number): number {
  if (!Number.isInteger(maxSteps) || maxSteps < 1 || maxSteps > MAX_PLAN_STEPS) {
    throw new RangeError(`maxSteps must be an integer in 1..${MAX_PLAN_STEPS}`);
  }
  return maxSteps;
}

/** Splits off a list marker: the item text, or undefined when the line is not a list item. */
export function stripListMarker(line: string): string | undefined {
  const t = line.trim();
  const m = NUMBERED.exec(t) ?? BULLET.exec(t);
  if (m === null) return undefined;
  return t.slice(m[0].length).trim();
}

/** Cuts `text` to at most `max` code units at a word boundary, ending with "…" when cut. */
export function boundText(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - ELLIPSIS.length);
  // Never leave half of a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  const space = cut.lastIndexOf(' ');
  if (space >= max / 2) cut = cut.slice(0, space);
  return `${cut.replace(/[\s,;:.-]+$/, '')}${ELLIPSIS}`;
}

function dedupKey(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').replace(/[\s.!;:,]+$/, '');
}

/**
 * The line state machine, shared by the streaming and whole-text paths. push() takes text and
 * returns the steps its complete lines produced; end() flushes the last line.
 */
export class PlanLineSplitter {
  readonly maxSteps: number;
  readonly maxStepChars: number;
  /** Steps produced so far. */
  count = 0;
  #line = '';
  #overflow = false;
  #pendingMarker = false;
  readonly #seen = new Set<string>();

  constructor(opts: PlanStepParserOptions = {}) {
    this.maxSteps = checkMaxSteps(opts.maxSteps ?? MAX_PLAN_STEPS);
    this.maxStepChars = Math.max(16, Math.floor(opts.maxStepChars ?? DEFAULT_MAX_STEP_CHARS));
  }

  get full(): boolean {
    return this.count >= this.maxSteps;
  }

  push(text: string): PlanStep[] {
    const out: PlanStep[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1 && !this.full; nl = text.indexOf('\n', start)) {
      this.#append(text.slice(start, nl));
      this.#completeLine(out);
      start = nl + 1;
    }
    if (!this.full) this.#append(text.slice(start));
    return out;
  }

  end(): PlanStep[] {
    const out: PlanStep[] = [];
    if (!this.full) this.#completeLine(out);
    return out;
  }

  #append(piece: string): void {
    if (this.#overflow || piece === '') return;
    // Keep a little more than a step so the cut can still find a word boundary and a marker.
    const room = this.maxStepChars + 32 - this.#line.length;
    if (piece.length > room) {
      this.#line += piece.slice(0, Math.max(0, room));
      this.#overflow = true;
    } else {
      this.#line += piece;
    }
  }

  #completeLine(out: PlanStep[]): void {
    const line = this.#line.replace(/\r$/, '');
    this.#line = '';
    this.#overflow = false;
    if (line.trim() === '') return; // blank lines separate items; a pending marker survives them
    let item = stripListMarker(line);
    if (item === undefined && this.#pendingMarker) item = line.trim();
    this.#pendingMarker = false;
    if (item === undefined) return; // not a list item: preamble, epilogue or prose
    // Emphasis around the whole item (`**Look at the sign**`) is noise in a step.
    item = item.replace(/^\*\*(.*)\*\*$/, '$1').trim();
    if (item === '') {
      // A marker alone on its line: the text follows on the next one.
      if (stripListMarker(line) !== undefined) this.#pendingMarker = true;
      return;
    }
    if (!/[\p{L}\p{N}]/u.test(item)) return;
    const text = boundText(item, this.maxStepChars);
    const key = dedupKey(text);
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    out.push({ index: this.count++, text });
  }
}

function textOf(input: string | BaseMessage): string {
  return typeof input === 'string' ? input : input.text;
}

/**
 * LangChain output parser of plan steps. Streaming (`stream`/`transform`) yields `[step]` — one
 * step per chunk, the moment its line is complete, like LangChain's list parsers; `parse` /
 * `invoke` return every step of a whole text.
 */
export class PlanStepParser extends BaseTransformOutputParser<PlanStep[]> {
  static override lc_name(): string {
    return 'PlanStepParser';
  }

  lc_namespace = ['vlp_live', 'planning'];

  readonly #opts: PlanStepParserOptions;

  constructor(opts: PlanStepParserOptions = {}) {
    super();
    checkMaxSteps(opts.maxSteps ?? MAX_PLAN_STEPS);
    this.#opts = opts;
  }

  override async *_transform(inputGenerator: AsyncGenerator<string | BaseMessage>): AsyncGenerator<PlanStep[]> {
    const lines = new PlanLineSplitter(this.#opts);
    for await (const input of inputGenerator) {
      const text = textOf(input);
      if (text === '') continue;
      this.#opts.onText?.(text);
      for (const step of lines.push(text)) yield [step];
      if (lines.full) return; // stop reading: leaving the loop closes the model's stream
    }
    for (const step of lines.end()) yield [step];
  }

  parse(text: string): Promise<PlanStep[]> {
    const lines = new PlanLineSplitter(this.#opts);
    return Promise.resolve([...lines.push(text), ...lines.end()]);
  }

  getFormatInstructions(): string {
    const n = this.#opts.maxSteps ?? MAX_PLAN_STEPS;
    return `Write at most ${n} sub-tasks, one per line, numbered "1.", "2.", and so on. Write nothing else.`;
  }
}
