// shapeFailure(): one answer per non-OK ShapeVerdict, and an unknown verdict still answers
// PROTO_MALFORMED (decode() never throws) instead of falling into another verdict's case.
import { describe, expect, it } from 'vitest';
import { SHAPE_EXT, SHAPE_MALFORMED, SHAPE_TOO_DEEP, SHAPE_TOO_MANY_VALUES } from './msgpack-shape.ts';
import type { ShapeVerdict } from './msgpack-shape.ts';
import { shapeFailure } from './wire-msgpack.ts';

describe('shapeFailure', () => {
  it('maps every verdict but OK to its code and message', () => {
    expect(shapeFailure(SHAPE_MALFORMED)).toMatchObject({ ok: false, code: 'PROTO_MALFORMED', message: 'the frame is not one valid msgpack value' });
    expect(shapeFailure(SHAPE_EXT)).toMatchObject({ ok: false, code: 'PROTO_MALFORMED', message: 'the frame uses a msgpack ext type, which vlp.v1 does not allow' });
    expect(shapeFailure(SHAPE_TOO_DEEP)).toMatchObject({ ok: false, code: 'PROTO_MALFORMED', message: 'the frame nests maps or arrays too deeply' });
    expect(shapeFailure(SHAPE_TOO_MANY_VALUES)).toMatchObject({ ok: false, code: 'PROTO_FIELD_TOO_LARGE', message: 'the frame holds too many values' });
  });

  it('answers an unknown verdict as malformed, without throwing', () => {
    const unknown = 9 as unknown as Exclude<ShapeVerdict, 0>;
    expect(shapeFailure(unknown)).toMatchObject({ ok: false, code: 'PROTO_MALFORMED', message: 'the frame failed the shape scan (verdict 9)' });
  });
});
