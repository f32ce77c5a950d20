// Builds the JSON body sent to a TGI container behind a SageMaker endpoint (TGI's /invocations =
// compat generate route): the native TGI parameters of tgi/request.ts, plus the top-level `stream`
// flag, which must be true for a streamed answer (backend-protocols §4.2).
import type { GenParams } from '../../../protocol/messages.ts';
import { tgiParameters } from '../tgi/request.ts';

export interface SageMakerBody {
  /** UTF-8 JSON bytes for InvokeEndpoint(WithResponseStream).Body. */
  body: Uint8Array;
  /** The stop sequences sent (to strip a matched one from the final text). */
  stop: readonly string[];
}

const encoder = new TextEncoder();

/** `return_full_text: false` comes from tgiParameters and matters more here than on /generate:
 *  the compat route defaults it to true for text-generation models, which would put the whole
 *  rendered prompt in front of generated_text. */
export function sageMakerBody(inputs: string, p: GenParams, templateStops: readonly string[], stream: boolean): SageMakerBody {
  const parameters = tgiParameters(p, templateStops);
  const stop = Array.isArray(parameters.stop) ? (parameters.stop as string[]) : [];
  return { body: encoder.encode(JSON.stringify({ inputs, parameters, stream })), stop };
}
