import { describe, expect, it } from 'vitest';
import type { DetectionBox } from '../../protocol/messages.ts';
import { matchLabel, Presence } from './watch-state.ts';

const box = (label: string, id = 0): DetectionBox => ({ id, label, score: 0.8, box: [0, 0, 10, 10] });

describe('matchLabel', () => {
  it('gives every detection to the only label, even an empty or partial phrase', () => {
    expect(matchLabel('', ['red car'])).toBe(0);
    expect(matchLabel('car', ['red car'])).toBe(0);
  });

  it('prefers an exact match, then containment, then shared words; -1 when nothing matches', () => {
    const labels = ['car', 'red car', 'person'];
    expect(matchLabel('car', labels)).toBe(0);
    expect(matchLabel('Red  Car', labels)).toBe(1);
    expect(matchLabel('a person', labels)).toBe(2);
    expect(matchLabel('tree', labels)).toBe(-1);
    expect(matchLabel('', labels)).toBe(-1);
  });
});

describe('Presence', () => {
  it('enters on the first frame with the label and leaves after leave_frames frames without it', () => {
    const p = new Presence(['dog', 'cat'], 1, 2);
    expect(p.frame([box('dog'), box('dog', 1)])).toEqual([{ kind: 'enter', label: 'dog', boxes: [box('dog'), box('dog', 1)] }]);
    expect(p.present).toEqual(['dog']);
    expect(p.frame([])).toEqual([]);
    expect(p.frame([])).toEqual([{ kind: 'leave', label: 'dog', boxes: [] }]);
    expect(p.present).toEqual([]);
  });

  it('ignores a flicker shorter than enter_frames or leave_frames', () => {
    const p = new Presence(['dog'], 2, 2);
    expect(p.frame([box('dog')])).toEqual([]);
    expect(p.frame([])).toEqual([]); // the streak restarts
    expect(p.frame([box('dog')])).toEqual([]);
    expect(p.frame([box('dog')]).map((c) => c.kind)).toEqual(['enter']);
    expect(p.frame([])).toEqual([]);
    expect(p.frame([box('dog')])).toEqual([]); // back before leave_frames: still present, no event
    expect(p.frame([])).toEqual([]);
    expect(p.frame([]).map((c) => c.kind)).toEqual(['leave']);
  });

  it('reports several labels of one frame in label order and drops unmatched detections', () => {
    const p = new Presence(['person', 'dog'], 1, 1);
    const changes = p.frame([box('dog'), box('tree', 1), box('person', 2)]);
    expect(changes.map((c) => [c.kind, c.label, c.boxes.map((b) => b.id)])).toEqual([
      ['enter', 'person', [2]],
      ['enter', 'dog', [0]],
    ]);
    expect(p.frame([box('person')]).map((c) => [c.kind, c.label])).toEqual([['leave', 'dog']]);
  });
});
