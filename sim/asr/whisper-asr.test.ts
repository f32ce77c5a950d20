// The simulated whisper-asr-webservice over HTTP with fetch + FormData: transcripts of registered
// clips in every output format (bytes as the real writers print them), the query and body
// validation FastAPI does (and what it does not), language detection, latency and queueing, faults,
// and client aborts stopping the work.
import { once } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clipSamples, clipWav, s16leBytes } from './audio.testkit.ts';
import { startWhisperAsrSim, type WhisperAsrRequestClosedEvent, type WhisperAsrSim } from './whisper-asr.ts';

let sim: WhisperAsrSim;
let faster: WhisperAsrSim;

beforeAll(async () => {
  [sim, faster] = await Promise.all([
    startWhisperAsrSim({ baseMs: 5, perAudioSecondMs: 2, jitter: 0, concurrency: 4 }),
    startWhisperAsrSim({ baseMs: 5, perAudioSecondMs: 2, jitter: 0, concurrency: 4, engine: 'faster_whisper' }),
  ]);
});
afterAll(async () => {
  await Promise.all([sim.close(), faster.close()]);
});
beforeEach(() => {
  sim.clearFaults();
});

function form(bytes: Uint8Array, filename = 'clip.wav'): FormData {
  const f = new FormData();
  f.append('audio_file', new Blob([bytes], { type: 'audio/wav' }), filename);
  return f;
}

async function asr(s: WhisperAsrSim, query: string, body: FormData | string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${s.url}/asr${query}`, { method: 'POST', body, ...init });
}

describe('POST /asr', () => {
  it('returns the registered transcript (txt), text/plain with Asr-Engine and Content-Disposition', async () => {
    const res = await asr(sim, '', form(await clipWav('segment-dog'), 'my clip.wav'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('asr-engine')).toBe('openai_whisper');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="my%20clip.wav.txt"');
    expect(res.headers.get('content-length')).toBeNull(); // StreamingResponse
    expect(await res.text()).toBe('Segment the dog in this picture.\n');
  });

  it('decodes a 22050 Hz WAV (encode=true) and raw s16le (encode=false) to the same transcript', async () => {
    expect(await (await asr(sim, '?encode=true', form(await clipWav('what-in-image', 22_050)))).text()).toBe('What is in this image?\n');
    const raw = s16leBytes(await clipSamples('detect-cars'));
    expect(await (await asr(sim, '?encode=false', form(raw, 'audio.raw'))).text()).toBe('Detect the cars on the street.\n');
    // encode=false with WAV bytes: the header is read as samples, the speech still matches.
    expect(await (await asr(sim, '?encode=false', form(await clipWav('detect-cars')))).text()).toBe('Detect the cars on the street.\n');
  });

  it('writes vtt, srt and tsv like the openai_whisper writers (two sentences → two cues)', async () => {
    const wav = await clipWav('describe-long');
    const vtt = await (await asr(sim, '?output=vtt', form(wav))).text();
    expect(vtt).toMatch(/^WEBVTT\n\n00:00\.\d{3} --> 00:0\d\.\d{3}\nPlease describe everything you can see in this photograph\.\n\n00:0\d\.\d{3} --> 00:0\d\.\d{3}\nThen tell me which of the objects are closest to the camera, and what colour each one is\.\n\n$/);
    const srt = await (await asr(sim, '?output=srt', form(wav))).text();
    expect(srt).toMatch(/^1\n00:00:00,\d{3} --> 00:00:0\d,\d{3}\nPlease describe [^\n]+\n\n2\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\nThen tell me [^\n]+\n\n$/);
    const tsv = await (await asr(sim, '?output=tsv', form(wav))).text();
    expect(tsv).toMatch(/^start\tend\ttext\n\d+\t\d+\tPlease describe [^\n]+\n\d+\t\d+\tThen tell me [^\n]+\n$/);
    expect(tsv.split('\n')[1]?.split('\t')[0]).toMatch(/^(280|300)$/); // 300 ms of leading silence, 20 ms steps
  });

  it('openai_whisper json: Python json.dumps of {text, segments, language}; word_timestamps adds words', async () => {
    const res = await asr(sim, '?output=json&word_timestamps=true', form(await clipWav('hello-how-are-you')));
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8'); // even for json
    const text = await res.text();
    expect(text).toMatch(/^\{"text": " Hello, how are you today\?", "segments": \[\{"id": 0, "seek": 0, "start": 0\.[23]\d?, "end": 1\.\d+, "text": " Hello, how are you today\?", "tokens": \[5\d+, /);
    const j = JSON.parse(text) as { text: string; language: string; segments: Record<string, unknown>[] };
    expect(Object.keys(j)).toEqual(['text', 'segments', 'language']);
    expect(j.language).toBe('en');
    expect(Object.keys(j.segments[0] ?? {})).toEqual(['id', 'seek', 'start', 'end', 'text', 'tokens', 'temperature', 'avg_logprob', 'compression_ratio', 'no_speech_prob', 'words']);
    expect(text).toContain('"temperature": 0.0');
    const words = j.segments[0]?.words as { word: string }[];
    expect(words.map((w) => w.word).join('')).toBe(' Hello, how are you today?');
    // With words the openai writer makes subtitles from words: one cue for the whole utterance here.
    const vtt = await (await asr(sim, '?output=vtt&word_timestamps=true', form(await clipWav('describe-long')))).text();
    expect(vtt.match(/-->/g)).toHaveLength(1);
  });

  it('faster_whisper json: {language, segments (ids from 1, words null), text}', async () => {
    const res = await asr(faster, '?output=json', form(await clipWav('detect-cars')));
    expect(res.headers.get('asr-engine')).toBe('faster_whisper');
    const j = JSON.parse(await res.text()) as { segments: Record<string, unknown>[] };
    expect(Object.keys(j)).toEqual(['language', 'segments', 'text']);
    expect(j.segments[0]).toMatchObject({ id: 1, text: ' Detect the cars on the street.', words: null });
    expect(Object.keys(j.segments[0] ?? {})).toEqual(['id', 'seek', 'start', 'end', 'text', 'tokens', 'avg_logprob', 'compression_ratio', 'no_speech_prob', 'words', 'temperature']);
  });

  it('Chinese: transcript (json escapes non-ASCII like Python), translate, and language=en', async () => {
    const wav = await clipWav('zh-what-picture');
    expect(await (await asr(sim, '', form(wav))).text()).toBe('这张图片里有什么？\n');
    const json = await (await asr(sim, '?output=json', form(wav))).text();
    expect(json).toContain('"text": "\\u8fd9\\u5f20\\u56fe\\u7247');
    expect(json).toContain('"language": "zh"');
    expect(await (await asr(sim, '?task=translate', form(wav))).text()).toBe('What is in this picture?\n');
    expect(await (await asr(sim, '?language=en', form(wav))).text()).toBe('What is in this picture?\n');
  });

  it('validation: 422 FastAPI bodies for unparsable booleans/integers and a missing file; 400 for a broken multipart', async () => {
    const res = await asr(sim, '?encode=maybe&min_speakers=two', 'x', { headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({
      detail: [
        { type: 'bool_parsing', loc: ['query', 'encode'], msg: 'Input should be a valid boolean, unable to interpret input', input: 'maybe' },
        { type: 'int_parsing', loc: ['query', 'min_speakers'], msg: 'Input should be a valid integer, unable to parse string as an integer', input: 'two' },
        { type: 'missing', loc: ['body', 'audio_file'], msg: 'Field required', input: null },
      ],
    });
    const f = new FormData();
    f.append('audio_file', 'not a file');
    expect((await (await asr(sim, '', f)).json()) as unknown).toMatchObject({ detail: [{ type: 'value_error', loc: ['body', 'audio_file'] }] });
    const broken = await asr(sim, '', '--xyz\r\nnonsense', { headers: { 'content-type': 'multipart/form-data; boundary=xyz' } });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toEqual({ detail: 'There was an error parsing the body' });
  });

  it('the enum lists are schema-only: output=text falls back to txt, a bad language is a 500; strictEnums gives 422', async () => {
    const wav = await clipWav('what-in-image');
    const text = await asr(sim, '?output=text', form(wav, 'a.wav'));
    expect(text.status).toBe(200);
    expect(text.headers.get('content-disposition')).toBe('attachment; filename="a.wav.text"');
    expect(await text.text()).toBe('What is in this image?\n');
    const lang = await asr(sim, '?language=xx', form(wav));
    expect(lang.status).toBe(500);
    expect(await lang.text()).toBe('Internal Server Error');
    expect((await asr(faster, '?task=summarize', form(wav))).status).toBe(500);
    const strict = await startWhisperAsrSim({ baseMs: 1, perAudioSecondMs: 0, jitter: 0, strictEnums: true });
    try {
      const res = await asr(strict, '?output=text', form(wav));
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({
        detail: [{ type: 'literal_error', loc: ['query', 'output'], msg: "Input should be 'txt', 'vtt', 'srt', 'tsv' or 'json'", input: 'text', ctx: { expected: "'txt', 'vtt', 'srt', 'tsv' or 'json'" } }],
      });
    } finally {
      await strict.close();
    }
  });

  it('audio ffmpeg cannot read is a 500; odd raw bytes with encode=false too', async () => {
    expect((await asr(sim, '', form(new TextEncoder().encode('this is not audio at all'), 'x.txt'))).status).toBe(500);
    expect((await asr(sim, '?encode=false', form(new Uint8Array(7)))).status).toBe(500);
  });
});

describe('other routes', () => {
  it('POST /detect-language: compact JSON; the openai engine reports P("zh") as confidence, faster_whisper the real one', async () => {
    const zh = await clipWav('zh-what-picture');
    const en = await clipWav('segment-dog');
    const a = (await (await fetch(`${sim.url}/detect-language`, { method: 'POST', body: form(zh) })).json()) as Record<string, unknown>;
    expect(a).toMatchObject({ detected_language: 'chinese', language_code: 'zh' });
    expect(a.confidence).toBeGreaterThan(0.8);
    const raw = await (await fetch(`${sim.url}/detect-language`, { method: 'POST', body: form(en) })).text();
    expect(raw).toMatch(/^\{"detected_language":"english","language_code":"en","confidence":[0-9.e-]+\}$/);
    expect((JSON.parse(raw) as { confidence: number }).confidence).toBeLessThan(0.01);
    const b = (await (await fetch(`${faster.url}/detect-language`, { method: 'POST', body: form(en) })).json()) as { confidence: number };
    expect(b.confidence).toBeGreaterThan(0.8);
  });

  it('GET / redirects to /docs; unknown paths 404, wrong methods 405, FastAPI style', async () => {
    const root = await fetch(`${sim.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(307);
    expect(root.headers.get('location')).toBe('/docs');
    expect((await fetch(`${sim.url}/docs`)).status).toBe(200);
    const nf = await fetch(`${sim.url}/nope`);
    expect([nf.status, await nf.json()]).toEqual([404, { detail: 'Not Found' }]);
    const na = await fetch(`${sim.url}/asr`);
    expect([na.status, await na.json(), na.headers.get('allow')]).toEqual([405, { detail: 'Method Not Allowed' }, 'POST']);
  });
});

describe('latency, queueing, faults, aborts', () => {
  it('one transcription at a time by default: the second request waits for the first', async () => {
    const serial = await startWhisperAsrSim({ baseMs: 120, perAudioSecondMs: 0, jitter: 0 });
    try {
      const wav = await clipWav('what-in-image');
      const t0 = performance.now();
      const done: number[] = [];
      await Promise.all([0, 1].map(async () => {
        await (await asr(serial, '', form(wav))).text();
        done.push(performance.now() - t0);
      }));
      done.sort((x, y) => x - y);
      expect(done[0]).toBeGreaterThanOrEqual(115);
      expect(done[1]).toBeGreaterThanOrEqual(235);
    } finally {
      await serial.close();
    }
  });

  it('per-audio-second cost: an 8.8 s clip takes base + 8.8 × perAudioSecondMs', async () => {
    const timed = await startWhisperAsrSim({ baseMs: 20, perAudioSecondMs: 30, jitter: 0 });
    try {
      const t0 = performance.now();
      await (await asr(timed, '', form(await clipWav('describe-long')))).text();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(20 + 30 * 8.7);
    } finally {
      await timed.close();
    }
  });

  it('faults: error_500, slow, reset (admin route and queueFault)', async () => {
    const wav = await clipWav('what-in-image');
    await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ kind: 'error_500' }) });
    const e = await asr(sim, '', form(wav));
    expect([e.status, await e.text()]).toEqual([500, 'Internal Server Error']);
    sim.queueFault('slow');
    const t0 = performance.now();
    await (await asr(sim, '', form(wav))).text();
    expect(performance.now() - t0).toBeGreaterThanOrEqual((5 + 2 * 1.7) * 10 - 5);
    sim.queueFault('reset');
    await expect(asr(sim, '', form(wav))).rejects.toThrow();
    expect(await (await asr(sim, '', form(wav))).text()).toBe('What is in this image?\n'); // queue drained
  });

  it('a client abort stops the work: request-closed (completed false) at once, the next request is served', async () => {
    const serial = await startWhisperAsrSim({ baseMs: 5000, perAudioSecondMs: 0, jitter: 0 });
    try {
      const started = once(serial.events, 'request');
      const closed = once(serial.events, 'request-closed') as Promise<[WhisperAsrRequestClosedEvent]>;
      const ac = new AbortController();
      const p = asr(serial, '', form(await clipWav('what-in-image')), { signal: ac.signal }).catch((err: unknown) => err);
      await started;
      expect(serial.stats()).toMatchObject({ running: 1, queued: 0 });
      const t0 = performance.now();
      ac.abort();
      const [ev] = await closed;
      expect(ev).toMatchObject({ route: 'asr', completed: false, status: null });
      expect(ev.atMs - t0).toBeLessThan(100);
      await p;
      expect(serial.stats()).toMatchObject({ running: 0, aborted: 1 });
    } finally {
      await serial.close();
    }
  });

  it('stall never answers until the client leaves', async () => {
    sim.queueFault('stall');
    const closed = once(sim.events, 'request-closed') as Promise<[WhisperAsrRequestClosedEvent]>;
    const res = await asr(sim, '', form(await clipWav('what-in-image')), { signal: AbortSignal.timeout(300) }).catch((err: unknown) => err);
    expect(res).toBeInstanceOf(Error);
    expect((await closed)[0].completed).toBe(false);
  });
});
