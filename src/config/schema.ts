// The one configuration schema. Every key has a default; unknown keys are rejected at boot.
import { DEFAULT_BACKCHANNELS } from '../session/backchannel.ts';
import { z } from 'zod';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const GenParamsSchema = z
  .object({
    max_new_tokens: int(1, 1_000_000).optional(),
    temperature: z.number().positive().max(100).optional(),
    top_k: int(1, 1_000_000).optional(),
    top_p: z.number().gt(0).lt(1).optional(),
    typical_p: z.number().gt(0).lt(1).optional(),
    repetition_penalty: z.number().positive().max(100).optional(),
    stop: z.array(z.string().min(1).max(64)).max(4).optional(),
    seed: int(0, Number.MAX_SAFE_INTEGER).optional(),
    do_sample: z.boolean().optional(),
    truncate: int(1, 1_000_000).optional(),
    watermark: z.boolean().optional(),
    best_of: z.literal(1).optional(),
    return_full_text: z.boolean().optional(),
    decoder_input_details: z.literal(false).optional(),
    details: z.boolean().optional(),
  })
  .strict();

const FewShotSchema = z
  .object({
    role: z.enum(['user', 'assistant']),
    content: z.string().max(8192),
    /** Image URLs (http/https or data URIs) for user examples of a vision model. */
    images: z.array(z.string().max(4 << 20)).max(4).optional(),
  })
  .strict();

export const SageMakerSchema = z
  .object({
    endpointName: z.string().min(1).max(63),
    /** AWS region; default: the standard AWS config chain (AWS_REGION, ~/.aws/config). */
    region: z.string().min(1).optional(),
    /** Override of the runtime endpoint URL (the fleet simulator, a VPC endpoint). */
    endpointUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** true: InvokeEndpointWithResponseStream; false: InvokeEndpoint (one final answer). */
    streaming: z.boolean().default(true),
    targetVariant: z.string().min(1).optional(),
    inferenceComponent: z.string().min(1).optional(),
  })
  .strict();

export const ModelSchema = z
  .object({
    /** Id clients use in turn.start.model. */
    id: z.string().min(1).max(64),
    kind: z.enum(['llm', 'vlm']),
    /** tgi: TGI native /generate_stream; openai: OpenAI-compatible /v1/chat/completions
     *  (TGI >= 1.4, vLLM, SGLang, llama.cpp); sagemaker: a SageMaker endpoint running TGI. */
    backend: z.enum(['tgi', 'openai', 'sagemaker']),
    /** Replica base URLs (tgi, openai). Empty = served by the embedded simulator. */
    urls: z.array(z.url({ protocol: /^https?$/ })).default([]),
    sagemaker: SageMakerSchema.optional(),
    /** Prompt template; 'server' = the server's own chat template (openai backend only). */
    template: z.enum(['llama2-chat', 'idefics', 'chatml', 'server']),
    /** Model name sent in the Messages API `model` field (openai backend; default "tgi"). */
    remoteModel: z.string().min(1).optional(),
    /** Environment variable holding a bearer token for the backend (openai backend). */
    apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
    /** Id of another model to use when every replica of this one fails before the first token. */
    fallback: z.string().min(1).max(64).optional(),
    /** Largest request body the backend accepts, bytes (TGI --payload-limit, default 2,000,000). */
    requestLimitBytes: int(1024, 1 << 30).default(2_000_000),
    /** Few-shot examples prepended to vision prompts. */
    fewShot: z.array(FewShotSchema).max(8).default([]),
    /** Default generation parameters of this model (session and turn params override them). */
    params: GenParamsSchema.default({}),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.backend === 'sagemaker' && !m.sagemaker) ctx.addIssue({ code: 'custom', message: 'backend "sagemaker" needs a `sagemaker` block' });
    if (m.backend !== 'sagemaker' && m.sagemaker) ctx.addIssue({ code: 'custom', message: '`sagemaker` is only for backend "sagemaker"' });
    if (m.template === 'server' && m.backend !== 'openai') ctx.addIssue({ code: 'custom', message: 'template "server" needs backend "openai"' });
    if (m.backend === 'openai' && m.template !== 'server') ctx.addIssue({ code: 'custom', message: 'backend "openai" always uses the server\'s chat template: set template "server"' });
    if (m.kind === 'vlm' && m.template === 'llama2-chat') ctx.addIssue({ code: 'custom', message: 'a vlm cannot use the text-only llama2-chat template' });
  });

/** Origin as browsers send it: scheme://host[:port], no path, no trailing slash. */
const ORIGIN_RE = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i;

/** Client authentication (src/auth/). No apiKeys = authentication off. Error messages name the
 *  offending entry by position, never its value. */
export const AuthSchema = z
  .object({
    /** Long-lived API keys (server-side callers, and minting client tokens). Kept in memory only
     *  as SHA-256 digests. Printable ASCII without spaces or commas (VLP_API_KEYS is comma-separated). */
    apiKeys: z
      .array(
        z
          .string()
          .min(16, 'an API key must be at least 16 characters')
          .max(512, 'an API key must be at most 512 characters')
          .regex(/^[\x21-\x2b\x2d-\x7e]+$/, 'an API key must be printable ASCII without spaces or commas'),
      )
      .max(64)
      .default([]),
    /** HMAC-SHA256 secret that signs ephemeral client tokens; absent = no token minting (only API
     *  keys authenticate). Share it between gateways that must accept each other's tokens. */
    tokenSecret: z
      .string()
      .min(32, 'auth.tokenSecret must be at least 32 characters (e.g. `openssl rand -base64 32`)')
      .max(1024, 'auth.tokenSecret must be at most 1024 characters')
      .optional(),
    /** Longest lifetime of a minted client token, and the default one, seconds. */
    tokenTtlS: int(10, 7200).default(600),
    /** Origins allowed to open WebSockets (checked when a request carries an Origin header);
     *  empty = any origin. */
    allowedOrigins: z
      .array(z.string().regex(ORIGIN_RE, 'an allowed origin is scheme://host[:port] with no path or trailing slash, e.g. https://app.example.com'))
      .default([]),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.tokenSecret !== undefined && a.apiKeys.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['tokenSecret'],
        message: 'auth.tokenSecret is set but auth.apiKeys is empty: without API keys client authentication is off; set VLP_API_KEYS (or remove the secret)',
      });
    }
  });

export const ConfigSchema = z
  .object({
    host: z.string().min(1).default('0.0.0.0'),
    port: int(0, 65535).default(8080),
    transport: z.enum(['ws', 'uws']).default('ws'),
    wsPath: z.string().startsWith('/').default('/v1/ws'),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** 'auto': start the simulated fleet in-process when a model has no URL; 'off': never. */
    sim: z.enum(['auto', 'off']).default('auto'),
    defaultModel: z.string().min(1).default('llama-2-7b-chat'),
    /** Model for turns that carry an image and name no model. */
    defaultVisionModel: z.string().min(1).default('idefics-9b-instruct'),
    systemPrompt: z
      .string()
      .max(8192)
      .default('You are a helpful, respectful and honest assistant. Answer concisely.'),
    models: z.array(ModelSchema).min(1).prefault([
      { id: 'llama-2-7b-chat', kind: 'llm', backend: 'tgi', urls: [], template: 'llama2-chat', params: { max_new_tokens: 512 } },
      { id: 'idefics-9b-instruct', kind: 'vlm', backend: 'tgi', urls: [], template: 'idefics', params: { max_new_tokens: 512 } },
    ]),
    limits: z
      .object({
        /** Largest accepted WebSocket message, bytes. */
        maxFrameBytes: int(1024, 64 << 20).default(8 << 20),
        maxTextChars: int(1, 1 << 20).default(16_384),
        maxAudioChunkBytes: int(64, 1 << 20).default(64 << 10),
        maxImageBytes: int(1024, 64 << 20).default(6 << 20),
        /** Ceiling for max_new_tokens. */
        maxNewTokens: int(1, 1_000_000).default(4096),
        maxSessions: int(1, 1_000_000).default(20_000),
        /** Frames that may wait in one session's outbox before it is closed as a slow consumer. */
        outboxMaxFrames: int(8, 1_000_000).default(1024),
        /** Estimated bytes those frames may hold (text at 3 bytes per UTF-16 unit, see
         *  session/frame-bytes.ts) before the session is closed as a slow consumer. */
        outboxMaxBytes: int(64 << 10, 1 << 30).default(512 << 10),
        /** Sent frames kept for resume (per session; the index grows with the frames kept, 12 bytes
         *  each). Above outboxMaxFrames, so a slow consumer's waiting frames fit (SPEC §9). */
        replayFrames: int(0, 100_000).default(16_384),
        /** Bytes of sent frames kept for resume (per session; msgpack-encoded, outside the JS heap,
         *  grown as frames are kept and freed by acks). At least outboxMaxBytes + highWaterBytes,
         *  so a slow consumer's waiting frames and the ones still in the server's socket buffer fit. */
        replayBytes: int(1024, 64 << 20).default(1 << 20),
        resumeWindowMs: int(0, 3_600_000).default(30_000),
        idleTimeoutMs: int(1000, 86_400_000).default(300_000),
        /** Longest a session lives, from its hello, resumes included, ms; 0 = no limit. At the
         *  limit the running turn is cancelled and the session ends (SESSION_EXPIRED, close 4003);
         *  checked once a second. */
        maxSessionMs: int(0, 30 * 86_400_000).default(0),
        /** goaway {reason: max_session} about this long before that end, ms (at most half of
         *  maxSessionMs; up to one sweep, 1 s, earlier; 0 = no goaway). */
        sessionNoticeMs: int(0, 3_600_000).default(60_000),
        /** A connection that has not sent hello this long after opening is closed
         *  (SESSION_IDLE_TIMEOUT); checked once a second, like the idle timeout. */
        helloTimeoutMs: int(1000, 600_000).default(10_000),
        /** Client messages per second per connection (token bucket, burst = 2x). */
        maxMessagesPerSec: int(1, 100_000).default(400),
        /** Socket send buffer above which sends report backpressure, bytes. */
        highWaterBytes: int(1024, 64 << 20).default(256 << 10),
        /** Dialogue history kept per session: the newest exchanges up to this many characters. */
        historyChars: int(0, 1 << 20).default(12_000),
      })
      .strict()
      .superRefine((l, ctx) => {
        if (l.maxSessionMs > 0 && l.maxSessionMs < 1000) ctx.addIssue({ code: 'custom', message: '`limits.maxSessionMs` must be 0 (no limit) or at least 1000 ms' });
      })
      .prefault({}),
    segmenter: z
      .object({
        /** http: the Grounded-SAM HTTP service at `url`; sagemaker: the same container behind a
         *  SageMaker endpoint (`sagemaker`; protocol/GROUNDED-SAM.md, "SageMaker"). */
        backend: z.enum(['http', 'sagemaker']).default('http'),
        /** Grounded-SAM service base URL (protocol/GROUNDED-SAM.md). Empty = the embedded simulator. */
        url: z.url({ protocol: /^https?$/ }).optional(),
        /** Grounded-SAM SageMaker endpoint (backend sagemaker). Without `endpointUrl` (or without the
         *  block) the embedded simulator's endpoint serves it when the fleet is simulated. */
        sagemaker: z
          .object({
            endpointName: z.string().min(1).max(63),
            /** AWS region; default: the standard AWS config chain. */
            region: z.string().min(1).optional(),
            /** Override of the runtime endpoint URL (the fleet simulator, a VPC endpoint). */
            endpointUrl: z.url({ protocol: /^https?$/ }).optional(),
            /** true: InvokeEndpointWithResponseStream (masks as they come); false: InvokeEndpoint. */
            streaming: z.boolean().default(true),
          })
          .strict()
          .optional(),
        /** The seed's thresholds: keep a box when its score is > boxThreshold. */
        boxThreshold: z.number().gt(0).lt(1).default(0.5),
        textThreshold: z.number().gt(0).lt(1).default(0.55),
        hq: z.boolean().default(false),
        firstEventTimeoutMs: int(1, 600_000).default(30_000),
        interEventTimeoutMs: int(1, 600_000).default(10_000),
        /** Minimum intent score that turns an image turn into a detection/segmentation turn. */
        minIntentScore: z.number().min(0).max(1).default(0.5),
        /** Largest request body the segmentation service takes, bytes (SageMaker real-time: 6 MB).
         *  A bigger image is re-encoded at its own size to fit; one that cannot fit is refused
         *  (INPUT_IMAGE_TOO_LARGE), since boxes and masks are in the image's own pixels. */
        requestLimitBytes: int(16_384, 1 << 30).default(6_000_000),
        /** Watches (watch.start) a session may run at once; 0 turns watches off. Each runs at most
         *  one detection at a time, at most once per its interval_ms (≥ 250 ms). */
        watchesPerSession: int(0, 16).default(2),
      })
      .strict()
      .superRefine((g, ctx) => {
        if (g.backend !== 'sagemaker' && g.sagemaker) ctx.addIssue({ code: 'custom', message: '`segmenter.sagemaker` is only for segmenter backend "sagemaker"' });
        if (g.backend === 'sagemaker' && g.url !== undefined) ctx.addIssue({ code: 'custom', message: '`segmenter.url` is only for segmenter backend "http" (backend "sagemaker" uses `segmenter.sagemaker`)' });
      })
      .prefault({}),
    intent: z
      .object({
        /** Classifier of typed turns and final transcripts: rules (built in, no model server),
         *  zero-shot (an HF zero-shot-classification endpoint, like the seed's mDeBERTa pipeline) or
         *  llm (the dialogue model on TGI with grammar-constrained output). Partial transcripts
         *  always use the rules (cost per partial), and a served classifier that fails falls back to them. */
        classifier: z.enum(['rules', 'zero-shot', 'llm']).default('rules'),
        /** Zero-shot endpoint URL, or the TGI URL of the llm classifier (default: the default model's first URL). */
        url: z.url({ protocol: /^https?$/ }).optional(),
        /** Round trip limit of a served classifier, ms. */
        timeoutMs: int(10, 60_000).default(1_500),
      })
      .strict()
      .prefault({}),
    audio: z
      .object({
        /** Decoded 16 kHz audio held per session while the ASR catches up, ms (oldest dropped
         *  beyond it, reported with asr.lag). */
        ringMs: int(200, 120_000).default(10_000),
        /** Audio may arrive at most this many times faster than real time (after the burst). */
        maxRealtimeFactor: z.number().min(1).max(100).default(2),
        /** Audio allowed above real time before AUDIO_TOO_FAST, ms. */
        burstMs: int(0, 600_000).default(3_000),
        /** Default barge-in policy (sessions may override with options.barge_in). */
        bargeIn: z.enum(['off', 'speech_start', 'first_words']).default('speech_start'),
        /** Spoken input that repeats the assistant's recent answers is its own voice coming back
         *  (session/echo-guard.ts): it does not barge in (first_words) and starts no turn. */
        echoGuard: z
          .object({
            /** Default of options.echo_guard. */
            enabled: z.boolean().default(false),
            /** An answer that ended longer ago than this is no longer compared, ms. */
            windowMs: int(0, 600_000).default(30_000),
            /** Fewer words than this are never judged echo. */
            minWords: int(1, 16).default(2),
            /** Share of the transcript's words that must align with an answer to be echo. */
            coverage: z.number().gt(0).max(1).default(0.7),
          })
          .strict()
          .prefault({}),
        /** Backchannels said while the assistant speaks (session/backchannel.ts). */
        backchannels: z
          .object({
            /** Default of options.ignore_backchannels. */
            enabled: z.boolean().default(false),
            /** What counts: an utterance made only of these phrases (up to 8 words). */
            phrases: z.array(z.string().min(1).max(32)).min(1).max(200).default([...DEFAULT_BACKCHANNELS]),
          })
          .strict()
          .prefault({}),
        vad: z
          .object({
            /** libfvad aggressiveness 0..3. */
            mode: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).default(2),
            /** Voiced audio needed before speech_start, ms. */
            startMs: int(10, 2_000).default(120),
            /** Trailing silence that ends the utterance, ms. */
            endSilenceMs: int(100, 10_000).default(600),
            /** Frames quieter than this (dBFS) count as silence. */
            minDbfs: z.number().min(-120).max(0).default(-50),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    asr: z
      .object({
        /** whisperlive: WhisperLive WebSocket (live partials); whisper-asr: whisper-asr-webservice
         *  POST /asr per utterance; sagemaker: a SageMaker Whisper endpoint per utterance. */
        backend: z.enum(['whisperlive', 'whisper-asr', 'sagemaker']).default('whisperlive'),
        /** Service URL (ws:// for whisperlive, http(s):// for whisper-asr). Empty = the embedded simulator. */
        url: z.url({ protocol: /^(wss?|https?)$/ }).optional(),
        /** SageMaker Whisper endpoint (backend sagemaker; absent = the embedded simulator's). */
        sagemaker: z
          .object({
            endpointName: z.string().min(1).max(63),
            region: z.string().min(1).optional(),
            endpointUrl: z.url({ protocol: /^https?$/ }).optional(),
          })
          .strict()
          .optional(),
        /** Whisper model name WhisperLive loads (faster_whisper names: small, large-v3, ...). */
        model: z.string().min(1).max(128).default('small'),
        /** Default language (sessions set theirs in audio.start); absent = auto-detect. */
        language: z.string().regex(/^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$/).optional(),
        /** Re-transcription period of the utterance in progress for batch backends, ms. */
        partialIntervalMs: int(100, 60_000).default(700),
        /** Wait for the backend's final transcript after end of speech at most this long, ms. */
        finalizeTimeoutMs: int(100, 60_000).default(1_500),
        requestTimeoutMs: int(100, 600_000).default(15_000),
        /** Longest utterance; a longer one is cut and finalized, ms. */
        maxUtteranceMs: int(1_000, 120_000).default(30_000),
        /** When streams fail to open (unreachable, overloaded, timing out), new ones are held for
         *  half to all of this at first, ms; each failed trial doubles it, up to holdMaxMs. */
        holdBaseMs: int(100, 60_000).default(1_000),
        holdMaxMs: int(1_000, 300_000).default(30_000),
      })
      .strict()
      .superRefine((a, ctx) => {
        if (a.backend !== 'sagemaker' && a.sagemaker) ctx.addIssue({ code: 'custom', message: '`asr.sagemaker` is only for asr backend "sagemaker"' });
        if (a.holdMaxMs < a.holdBaseMs) ctx.addIssue({ code: 'custom', message: '`asr.holdMaxMs` must be at least `asr.holdBaseMs`' });
        if (a.url !== undefined) {
          const ws = a.url.startsWith('ws');
          if (a.backend === 'whisperlive' && !ws) ctx.addIssue({ code: 'custom', message: 'asr backend "whisperlive" needs a ws:// or wss:// url' });
          if (a.backend === 'whisper-asr' && ws) ctx.addIssue({ code: 'custom', message: 'asr backend "whisper-asr" needs an http(s):// url' });
        }
      })
      .prefault({}),
    images: z
      .object({
        maxPixels: int(1, 1 << 30).default(40_000_000),
        maxSide: int(1, 1 << 16).default(16_384),
        /** Images kept per session (oldest evicted). */
        perSession: int(1, 64).default(8),
        /** image.put checks (URL fetch, decode) running at once per session; a put of another id
         *  beyond them is refused with PROTO_RATE_LIMITED (a put of an id in flight replaces it). */
        checksInFlight: int(1, 16).default(2),
        /** Hosts image URLs may be fetched from (exact or *.domain). Empty = no URL images. */
        allowedHosts: z.array(z.string().min(1)).default([]),
        /** Allow private/loopback addresses for URL images (tests, on-prem). */
        allowPrivate: z.boolean().default(false),
        /** Ask the vision model for a one-sentence description of each image in the background (the
         *  seed pipeline's VLM step); detection keywords that it also names are preferred. */
        describe: z.boolean().default(true),
        fetchTimeoutMs: int(100, 60_000).default(5_000),
        maxRedirects: int(0, 10).default(3),
      })
      .strict()
      .prefault({}),
    upstream: z
      .object({
        connectTimeoutMs: int(1, 120_000).default(2_000),
        firstTokenTimeoutMs: int(1, 600_000).default(30_000),
        interTokenTimeoutMs: int(1, 600_000).default(10_000),
        maxConnectionsPerBackend: int(1, 100_000).default(512),
        /** How long an idle keep-alive socket to a TGI / Messages API backend is kept for the next
         *  request, ms (a shorter Keep-Alive timeout announced by the server wins). Bursts of turns
         *  then reuse warm connections instead of opening new ones. */
        idleSocketMs: int(1_000, 600_000).default(30_000),
        /** Attempts per request across replicas before the fallback (first try included). */
        maxAttempts: int(1, 10).default(3),
        /** A Retry-After longer than this is not waited for. */
        maxRetryAfterMs: int(0, 60_000).default(2_000),
      })
      .strict()
      .prefault({}),
    simulator: z
      .object({
        ttftMs: z.number().min(0).max(60_000).default(180),
        itlMs: z.number().min(0).max(10_000).default(28),
        jitter: z.number().min(0).max(1).default(0.2),
      })
      .strict()
      .prefault({}),
    auth: AuthSchema.prefault({}),
    shutdownGraceMs: int(0, 600_000).default(10_000),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type ModelConfig = z.infer<typeof ModelSchema>;
export type AuthConfig = z.infer<typeof AuthSchema>;
