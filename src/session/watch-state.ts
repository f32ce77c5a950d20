// The presence of each watched label across frames (SPEC.md section 9b): which label a detection
// belongs to, and when a label enters (enter_frames frames in a row with it) or leaves (leave_frames
// frames in a row without it). Pure: the session's watch (watches.ts) feeds it one frame at a time.
import type { DetectionBox } from '../../protocol/messages.ts';

const words = (s: string): string[] => s.toLowerCase().split(/\s+/).filter((w) => w !== '');

/** Index of the watched label a detection's label belongs to, or -1. Grounding DINO's label is the
 *  caption phrase it grounded, sometimes only part of it ("car" for "red car") or empty: with one
 *  watched label every detection is that label's; otherwise an exact match, then a label that
 *  contains the other's words, then the most shared words. */
export function matchLabel(detected: string, labels: readonly string[]): number {
  if (labels.length === 1) return 0;
  const d = words(detected);
  if (d.length === 0) return -1;
  const joined = d.join(' ');
  const exact = labels.indexOf(joined);
  if (exact >= 0) return exact;
  let best = -1;
  let bestScore = 0;
  labels.forEach((label, i) => {
    const l = words(label);
    const shared = l.filter((w) => d.includes(w)).length;
    // Containment either way outranks a partial overlap of the same size.
    const contained = shared === Math.min(l.length, d.length) ? 0.5 : 0;
    const score = shared === 0 ? 0 : shared + contained;
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  });
  return best;
}

export interface PresenceChange {
  kind: 'enter' | 'leave';
  label: string;
  boxes: DetectionBox[];
}

interface LabelState {
  present: boolean;
  /** Frames in a row that disagree with `present`. */
  streak: number;
}

export class Presence {
  private readonly state: LabelState[];

  constructor(
    readonly labels: readonly string[],
    private readonly enterFrames: number,
    private readonly leaveFrames: number,
  ) {
    this.state = labels.map(() => ({ present: false, streak: 0 }));
  }

  /** The labels in view now. */
  get present(): string[] {
    return this.labels.filter((_, i) => this.state[i]?.present === true);
  }

  /** One frame's detections; returns the enters and leaves it decides, in label order. */
  frame(boxes: readonly DetectionBox[]): PresenceChange[] {
    const byLabel: DetectionBox[][] = this.labels.map(() => []);
    for (const b of boxes) {
      const i = matchLabel(b.label, this.labels);
      if (i >= 0) byLabel[i]?.push(b);
    }
    const changes: PresenceChange[] = [];
    this.labels.forEach((label, i) => {
      const st = this.state[i];
      const seen = byLabel[i] ?? [];
      if (!st) return;
      const inView = seen.length > 0;
      if (inView === st.present) {
        st.streak = 0;
        return;
      }
      st.streak++;
      if (st.streak < (inView ? this.enterFrames : this.leaveFrames)) return;
      st.present = inView;
      st.streak = 0;
      changes.push({ kind: inView ? 'enter' : 'leave', label, boxes: seen });
    });
    return changes;
  }
}
