// The leaf keys of a config schema, as dotted paths ("limits.outboxMaxFrames"). Objects that are
// always present (a default or prefault fills them) are walked into; an optional object (a block
// the operator supplies, like `asr.sagemaker`), an array and every scalar is one leaf.
import { z } from 'zod';

/** Peel default/prefault wrappers; report whether an optional wrapper was met on the way. */
function peel(schema: z.core.$ZodType): { inner: z.core.$ZodType; optional: boolean } {
  let inner = schema;
  let optional = false;
  for (;;) {
    if (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault) inner = inner.unwrap();
    else if (inner instanceof z.ZodOptional) {
      optional = true;
      inner = inner.unwrap();
    } else return { inner, optional };
  }
}

export function schemaLeaves(schema: z.ZodObject, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, field] of Object.entries(schema.shape)) {
    const path = prefix + key;
    const { inner, optional } = peel(field);
    if (inner instanceof z.ZodObject && !optional) out.push(...schemaLeaves(inner, `${path}.`));
    else out.push(path);
  }
  return out;
}
