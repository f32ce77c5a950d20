// Hysteresis over successive partial-transcript intents: the reported top label changes only when a
// challenger persists with a margin, and is "stable" once it has held with a high enough score.
import type { IntentResult, LabelScore } from './classifier-port.ts';
import type { IntentLabel } from './labels.ts';

export interface TrackerOptions {
  /** Lead over the current label a challenger needs to take over after `persist` updates. */
  margin?: number;
  /** Consecutive updates a challenger must be the raw top (with `margin`), default 2. */
  persist?: number;
  /** Updates the top must hold, and the score it needs, to be reported stable. */
  stableUpdates?: number;
  stableScore?: number;
}

export interface TrackerUpdate {
  changed: boolean;
  stable: boolean;
  top: IntentLabel;
  labels: LabelScore[];
}

/**
 * A challenger replaces the current label when it has been the raw top for `persist` consecutive
 * updates and leads by `margin`, or for `persist + 1` updates whatever the lead. A margin alone
 * never switches: alternating inputs would otherwise flip the label on every update.
 */
export class IntentTracker {
  private readonly margin: number;
  private readonly persist: number;
  private readonly stableUpdates: number;
  private readonly stableScore: number;
  private current: IntentLabel | null = null;
  private held = 0;
  private challenger: IntentLabel | null = null;
  private run = 0;

  constructor(opts: TrackerOptions = {}) {
    this.margin = opts.margin ?? 0.15;
    this.persist = opts.persist ?? 2;
    this.stableUpdates = opts.stableUpdates ?? 2;
    this.stableScore = opts.stableScore ?? 0.6;
  }

  get top(): IntentLabel | null {
    return this.current;
  }

  reset(): void {
    this.current = null;
    this.held = 0;
    this.challenger = null;
    this.run = 0;
  }

  update(result: IntentResult): TrackerUpdate {
    const labels = result.labels;
    const raw = labels[0] ?? { label: 'chat', score: 0 };
    const scoreOf = (l: IntentLabel): number => labels.find((s) => s.label === l)?.score ?? 0;
    let changed = false;
    if (this.current === null) {
      this.adopt(raw.label);
      changed = true;
    } else if (raw.label === this.current) {
      this.held += 1;
      this.challenger = null;
      this.run = 0;
    } else {
      this.run = this.challenger === raw.label ? this.run + 1 : 1;
      this.challenger = raw.label;
      this.held = 0;
      const lead = raw.score - scoreOf(this.current);
      if ((this.run >= this.persist && lead >= this.margin) || this.run > this.persist) {
        this.adopt(raw.label);
        this.held = this.run;
        changed = true;
      }
    }
    const top = this.current ?? raw.label;
    const stable = raw.label === top && this.held >= this.stableUpdates && scoreOf(top) >= this.stableScore;
    return { changed, stable, top, labels };
  }

  private adopt(label: IntentLabel): void {
    this.current = label;
    this.held = 1;
    this.challenger = null;
    this.run = 0;
  }
}
