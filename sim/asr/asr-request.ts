// Reading and validating a POST /asr or /detect-language request of the simulated
// whisper-asr-webservice the way FastAPI would: body limit, the multipart form, then the parameters.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../tgi/http.ts';
import { QueryChecks, lastValues } from './asr-query.ts';
import { sendFastApiJson } from './fastapi-reply.ts';
import { WHISPER_LANGUAGES } from './languages.ts';
import type { WhisperAsrRoute } from './whisper-asr-types.ts';

export interface AsrRequest {
  query: Record<string, string>;
  file: { bytes: Uint8Array; filename: string | null };
  encode: boolean;
  task: string;
  language: string | null;
  output: string;
  wordTimestamps: boolean;
}

/** Read and validate a request the way FastAPI would; answers and returns undefined on failure. */
export async function parseRequest(req: IncomingMessage, res: ServerResponse, route: WhisperAsrRoute, strictEnums: boolean): Promise<AsrRequest | undefined> {
  const url = new URL(req.url ?? '/', 'http://x');
  const query = lastValues(url);
  const body = await readBody(req, 1 << 30);
  if (body === null) {
    sendFastApiJson(res, 413, { detail: 'Request body too large (SIMULATED limit 1 GiB)' });
    return undefined;
  }
  // The form is read before parameters are validated; a malformed multipart body is a 400.
  let file: { bytes: Uint8Array; filename: string | null } | undefined;
  let fieldValue: string | undefined;
  const ctype = (req.headers['content-type'] ?? '').toLowerCase();
  if (ctype.startsWith('multipart/form-data') || ctype.startsWith('application/x-www-form-urlencoded')) {
    try {
      const form = await new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
      const v = form.get('audio_file');
      if (v !== null && typeof v !== 'string') file = { bytes: new Uint8Array(await v.arrayBuffer()), filename: v.name };
      else if (typeof v === 'string') fieldValue = v;
    } catch {
      sendFastApiJson(res, 400, { detail: 'There was an error parsing the body' });
      return undefined;
    }
  }
  const checks = new QueryChecks(query, strictEnums);
  const errors = checks.errors;
  // Declaration order of the service's endpoint parameters (query first, then the body).
  const encode = checks.bool('encode', true);
  let wordTimestamps = false;
  if (route === 'asr') {
    checks.literal('task', ['transcribe', 'translate']);
    checks.literal('language', Object.keys(WHISPER_LANGUAGES).sort());
    checks.bool('vad_filter', false);
    wordTimestamps = checks.bool('word_timestamps', false);
    checks.bool('diarize', false);
    checks.int('min_speakers');
    checks.int('max_speakers');
    checks.literal('output', ['txt', 'vtt', 'srt', 'tsv', 'json']);
  }
  if (file === undefined) {
    if (fieldValue !== undefined) {
      errors.push({ type: 'value_error', loc: ['body', 'audio_file'], msg: "Value error, Expected UploadFile, received: <class 'str'>", input: fieldValue, ctx: { error: {} } });
    } else {
      errors.push({ type: 'missing', loc: ['body', 'audio_file'], msg: 'Field required', input: null });
    }
  }
  if (errors.length > 0 || file === undefined) {
    sendFastApiJson(res, 422, { detail: errors });
    return undefined;
  }
  return {
    query,
    file,
    encode,
    task: query.task ?? 'transcribe',
    language: query.language === undefined || query.language === '' ? null : query.language,
    output: query.output ?? 'txt',
    wordTimestamps,
  };
}
