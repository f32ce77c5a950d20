// Microphone capture for the browser SDK: getUserMedia → an AudioContext at 16 kHz (the browser
// resamples the device) → an AudioWorklet that cuts 20 ms frames of PCM16 little-endian → the
// client's audio.start / audio.chunk / audio.end. The gateway runs VAD and endpointing, so the
// page just streams; a spoken question ends when the user stops talking.
import type { VlpBrowserClient } from './sdk.ts';

/** The rates vlp.v1 accepts for pcm16 (SPEC audio.start). */
const PCM_RATES = new Set([8000, 16000, 24000, 48000]);
const FRAME_MS = 20;

// Runs on the audio rendering thread: buffers 128-sample render quanta into FRAME_MS frames,
// converts float [-1, 1] to int16 and posts each frame's bytes (transferred, not copied).
const WORKLET = `
class VlpPcm16Frames extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.frameSamples;
    this.frame = new Int16Array(this.size);
    this.fill = 0;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    for (let i = 0; i < ch.length; i++) {
      const s = Math.max(-1, Math.min(1, ch[i]));
      this.frame[this.fill++] = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767);
      if (this.fill === this.size) {
        // Transferred: the old array is detached (length 0) once posted.
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(this.size);
        this.fill = 0;
      }
    }
    return true;
  }
}
registerProcessor('vlp-pcm16-frames', VlpPcm16Frames);
`;

export interface Microphone {
  /** The sample rate declared in audio.start. */
  readonly sampleRate: number;
  /** Stops capture and sends audio.end (the utterance in progress is still transcribed). */
  stop(): Promise<void>;
}

export interface MicrophoneOptions {
  language?: string;
  task?: 'transcribe' | 'translate';
  /** Called with each frame's RMS level, 0..1 (for a meter). */
  onLevel?: (rms: number) => void;
}

/** Asks for the microphone and streams it to the gateway until stop(). Rejects when the user
 *  denies access or the browser cannot capture. */
export async function startMicrophone(client: VlpBrowserClient, opts: MicrophoneOptions = {}): Promise<Microphone> {
  const media = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
  let ctx: AudioContext;
  try {
    ctx = new AudioContext({ sampleRate: 16000 });
  } catch {
    ctx = new AudioContext(); // a browser that cannot run at 16 kHz: the device rate if vlp takes it
  }
  const rate = ctx.sampleRate;
  if (!PCM_RATES.has(rate)) {
    media.getTracks().forEach((t) => t.stop());
    await ctx.close();
    throw new Error(`the browser captures at ${rate} Hz; vlp.v1 takes pcm16 at 8, 16, 24 or 48 kHz`);
  }
  // A context made outside a user gesture (or after an await) may start suspended.
  if (ctx.state === 'suspended') await ctx.resume();
  const url = URL.createObjectURL(new Blob([WORKLET], { type: 'text/javascript' }));
  try {
    await ctx.audioWorklet.addModule(url);
  } finally {
    URL.revokeObjectURL(url);
  }
  const source = ctx.createMediaStreamSource(media);
  const node = new AudioWorkletNode(ctx, 'vlp-pcm16-frames', { processorOptions: { frameSamples: (rate * FRAME_MS) / 1000 }, numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1 });
  client.startAudio({ encoding: 'pcm16', sample_rate: rate, channels: 1 }, { ...(opts.language !== undefined && { language: opts.language }), ...(opts.task !== undefined && { task: opts.task }) });
  node.port.onmessage = (ev: MessageEvent<ArrayBuffer>) => {
    const bytes = new Uint8Array(ev.data);
    client.sendAudio(bytes);
    if (opts.onLevel) opts.onLevel(rms(new Int16Array(ev.data)));
  };
  source.connect(node);
  let stopped = false;
  return {
    sampleRate: rate,
    async stop() {
      if (stopped) return;
      stopped = true;
      node.port.onmessage = null;
      source.disconnect();
      media.getTracks().forEach((t) => t.stop());
      await ctx.close();
      client.endAudio();
    },
  };
}

function rms(pcm: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) {
    const v = (pcm[i] as number) / 32768;
    sum += v * v;
  }
  return Math.sqrt(sum / Math.max(1, pcm.length));
}
