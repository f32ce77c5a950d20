// A SageMaker JumpStart Whisper endpoint (huggingface-asr-whisper-*) behind the ASR port: one
// InvokeEndpoint per transcription with the utterance as a 16 kHz PCM16 WAV body, answered
// `{"text": ["<transcript>"]}` (backend-protocols §4.3). Utterances and partials: batch-stream.ts.
// Failures map through sagemaker/errors.ts, as for text generation.
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { createRuntimeClient, probeRuntimeClient, runtimeWhere } from '../sagemaker/client.ts';
import type { InvokeEndpointCommandInput } from '@aws-sdk/client-sagemaker-runtime';
import { VlpError } from '../../../protocol/errors.ts';
import { sageMakerError, sageMakerProtocolError } from '../sagemaker/errors.ts';
import type { AsrBackend, AsrStream } from './port.ts';
import { BatchAsrStream } from './batch-stream.ts';
import type { Transcribe, TranscribeOptions, Transcript } from './batch-stream.ts';
import { ASR_DEFAULTS, ASR_SAMPLE_RATE, resolveCommon } from './config.ts';
import type { SageMakerAsrConfig } from './config.ts';
import { tidy } from './text.ts';
import { encodeWavPcm16 } from '../../audio/wav.ts';

const SERVICE = 'SageMaker Whisper';
const decoder = new TextDecoder();

/**
 * The InvokeEndpoint body. Transcription with auto-detected language: the documented raw-audio
 * form (ContentType audio/wav, a 16 kHz PCM16 WAV). A language or the translate task can only be
 * passed in the container's JSON form (`{"audio_input": {"sampling_rate", "raw"}, "language",
 * "task"}`, `raw` = the float samples as a list literal): about 10 bytes per sample, so an
 * utterance over ~30 s exceeds the endpoint's ~5 MB payload limit in that form.
 */
export function invokeBody(samples: Int16Array, opts: TranscribeOptions): { ContentType: string; Body: Uint8Array } {
  if (opts.task === 'transcribe' && opts.language === undefined) {
    return { ContentType: 'audio/wav', Body: encodeWavPcm16(samples, ASR_SAMPLE_RATE) };
  }
  const parts = new Array<string>(samples.length);
  for (let i = 0; i < samples.length; i++) parts[i] = String(Math.round(((samples[i] as number) / 32768) * 1e5) / 1e5);
  const payload: Record<string, unknown> = {
    audio_input: { sampling_rate: ASR_SAMPLE_RATE, raw: `[${parts.join(', ')}]` },
    task: opts.task,
  };
  if (opts.language !== undefined) payload.language = opts.language;
  return { ContentType: 'application/json', Body: new TextEncoder().encode(JSON.stringify(payload)) };
}

/** `{"text": ["…"]}` (a list: num_return_sequences answers; the first is the transcript). A bare
 *  string is accepted too. */
export function parseWhisperAnswer(bytes: Uint8Array | undefined): Transcript {
  if (bytes === undefined) throw sageMakerProtocolError('the Whisper answer has no body');
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(bytes));
  } catch {
    // The parse error is not attached: it quotes the body, i.e. the transcript.
    throw sageMakerProtocolError('the Whisper answer is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !('text' in v)) throw sageMakerProtocolError('the Whisper answer has no `text`');
  const t: unknown = v.text;
  if (typeof t === 'string') return { text: tidy(t) };
  if (Array.isArray(t) && (t.length === 0 || typeof t[0] === 'string')) return { text: tidy((t[0] as string | undefined) ?? '') };
  throw sageMakerProtocolError('the Whisper answer `text` is not a list of strings');
}

/** A failed InvokeEndpoint, mapped by the shared SageMaker mapper (resets included). */
export function invokeError(err: unknown): VlpError {
  return sageMakerError(err, 'request');
}

export function createSageMakerAsrBackend(cfg: SageMakerAsrConfig): AsrBackend {
  const common = resolveCommon(cfg);
  const client = createRuntimeClient({
    ...(cfg.region !== undefined ? { region: cfg.region } : {}),
    ...(cfg.endpointUrl !== undefined ? { endpointUrl: cfg.endpointUrl } : {}),
    ...(cfg.credentials !== undefined ? { credentials: cfg.credentials } : {}),
    ...(cfg.connectTimeoutMs !== undefined ? { connectTimeoutMs: cfg.connectTimeoutMs } : {}),
  });
  const target: Pick<InvokeEndpointCommandInput, 'EndpointName' | 'TargetVariant' | 'InferenceComponentName'> = { EndpointName: cfg.endpointName };
  if (cfg.targetVariant !== undefined) target.TargetVariant = cfg.targetVariant;
  if (cfg.inferenceComponent !== undefined) target.InferenceComponentName = cfg.inferenceComponent;
  const streams = new Set<AsrStream>();
  const settings = { service: SERVICE, ...common, preRollMs: ASR_DEFAULTS.preRollMs };

  const transcribe: Transcribe = async (samples, signal, opts) => {
    const body = invokeBody(samples, opts); // copies the samples before any await
    let out;
    try {
      out = await client.send(new InvokeEndpointCommand({ ...target, ...body, Accept: 'application/json' }), { abortSignal: signal });
    } catch (err) {
      if (signal.aborted || err instanceof VlpError) throw err;
      throw invokeError(err);
    }
    return parseWhisperAnswer(out.Body);
  };

  return {
    id: `sagemaker-asr:${runtimeWhere(cfg)}/${cfg.endpointName}`,
    capabilities: { livePartials: false, translate: true },
    open(opts, handlers) {
      const stream: BatchAsrStream = new BatchAsrStream(transcribe, opts, handlers, settings, () => streams.delete(stream));
      streams.add(stream);
      return stream;
    },
    /** A local check that a region and credentials resolve (nothing is sent or billed), as for the
     *  text-generation adapter: the runtime API has no health call. */
    probe: (timeoutMs) => probeRuntimeClient(client, timeoutMs),
    async close() {
      for (const s of streams) s.close();
      streams.clear();
      client.destroy();
    },
  };
}
