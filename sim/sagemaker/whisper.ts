// A JumpStart Whisper container (huggingface-asr-whisper-*) behind a simulated SageMaker endpoint
// (shared/reference/backend-protocols.md §4.3). SIMULATED in-process, no model: InvokeEndpoint with
// `ContentType: audio/wav` (WAV bytes) or `application/json` (`{"audio_input": {"sampling_rate",
// "raw": "[floats]"}, "language"?, "task"?}`) answers `{"text": ["<transcript>"]}` from the clip book.
// The container's refusals are its 400s, which SageMaker turns into ModelError (424).
//
// From the notebook: 16 kHz audio, under 30 s, wrong content type → `{"error": "unsupported content
// type <type>"}`. UNVERIFIED and chosen here: other sample rates are resampled (the HF pipeline decodes
// bytes with ffmpeg), audio over 30 s is a 400, unreadable audio is a 400 with the HF pipeline's
// ffmpeg_read message, and the transcript keeps Whisper's leading space.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { loadClipBook, type AsrTask } from '../asr/clip-book.ts';
import { decodeAudio } from '../asr/decode.ts';
import { resolveWhisperLanguage } from '../asr/languages.ts';
import { pyJson } from '../asr/pyjson.ts';
import { ASR_RATE, resample } from '../asr/wav.ts';
import { asrDelayMs, DEFAULT_ASR_LATENCY } from '../asr/whisper-asr.ts';
import { fnv1a, mulberry32 } from '../random.ts';
import { sendModelError } from './errors.ts';
import type { Exchange } from './relay.ts';
import type { SageMakerWhisperEndpointConfig } from './types.ts';

export interface WhisperInvocation {
  endpoint: string;
  accountId: string;
  region: string;
  contentType: string | undefined;
  body: Buffer;
  ex: Exchange;
}

const BAD_AUDIO =
  'Soundfile is either not in the correct format or is malformed. Ensure that the soundfile has a valid audio file extension (e.g. wav, flac or mp3) and is not corrupted. If reading from a remote URL, ensure that the URL is the full address to **download** the audio file.';

class ContainerError extends Error {}

function essence(contentType: string | undefined): string {
  return (contentType ?? 'application/octet-stream').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/** The JSON form: `raw` is Python's repr of a list of floats (a string), or a plain array. */
function jsonInput(body: Buffer): { samples: Float32Array; task: AsrTask; language?: string } {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ContainerError('request body is not valid JSON');
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as { audio_input?: unknown; language?: unknown; task?: unknown };
  const ai = (typeof o.audio_input === 'object' && o.audio_input !== null ? o.audio_input : undefined) as { sampling_rate?: unknown; raw?: unknown } | undefined;
  if (ai === undefined) throw new ContainerError("'audio_input' is required");
  let raw: unknown = ai.raw;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new ContainerError("'raw' must be a list of floats");
    }
  }
  if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'number')) throw new ContainerError("'raw' must be a list of floats");
  const rate = typeof ai.sampling_rate === 'number' && ai.sampling_rate > 0 ? ai.sampling_rate : ASR_RATE;
  const samples = resample(Float32Array.from(raw as number[]), rate, ASR_RATE);
  const out: { samples: Float32Array; task: AsrTask; language?: string } = { samples, task: o.task === 'translate' ? 'translate' : 'transcribe' };
  if (typeof o.language === 'string') {
    const code = resolveWhisperLanguage(o.language);
    if (code === undefined) throw new ContainerError(`Unsupported language: ${o.language}`);
    out.language = code;
  }
  return out;
}

/** Serve one InvokeEndpoint on a Whisper endpoint (the caller has checked variants and faults). */
export async function invokeWhisper(ep: SageMakerWhisperEndpointConfig, inv: WhisperInvocation, res: ServerResponse): Promise<void> {
  const { ex } = inv;
  const modelError = (message: string): void => {
    ex.completed = true;
    sendModelError(res, { endpoint: inv.endpoint, accountId: inv.accountId, region: inv.region, status: 400, body: pyJson({ error: message }) });
  };
  const type = essence(inv.contentType);
  let input: { samples: Float32Array | Int16Array; task: AsrTask; language?: string };
  try {
    if (type === 'audio/wav') input = { samples: await decodeAudio(inv.body, { ffmpeg: 'ffmpeg' }).catch(() => Promise.reject(new ContainerError(BAD_AUDIO))), task: 'transcribe' };
    else if (type === 'application/json') input = jsonInput(inv.body);
    else return modelError(`unsupported content type ${inv.contentType ?? 'application/octet-stream'}`);
  } catch (err) {
    if (err instanceof ContainerError) return modelError(err.message);
    throw err;
  }
  if (ex.closed) return;
  const seconds = input.samples.length / ASR_RATE;
  const maxS = ep.maxAudioS ?? 30;
  if (seconds > maxS) return modelError(`audio is ${seconds.toFixed(1)} s long; this endpoint accepts at most ${maxS} s (SIMULATED limit)`);
  const latency = { ...DEFAULT_ASR_LATENCY, ...ep.latency };
  const ms = asrDelayMs(latency, seconds, mulberry32(fnv1a(`${inv.endpoint}:${ex.id}`)));
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    res.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
  if (ex.closed) return;
  const book = ep.clipBook ?? loadClipBook();
  const t = book.transcribe(input.samples, input.language === undefined ? { task: input.task } : { task: input.task, language: input.language });
  const json = pyJson({ text: [t.segments.map((s) => s.text).join('')] });
  ex.completed = true;
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    'x-amzn-invoked-production-variant': ex.variant,
    'x-amzn-requestid': randomUUID(),
  });
  res.end(json);
}
