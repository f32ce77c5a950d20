// The fleet starts WhisperLive, whisper-asr-webservice and the SageMaker Whisper endpoint next to the
// TGI servers, all answering registered clips.
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FLEET_SAGEMAKER_ENDPOINTS, startFleetSim } from '../fleet.ts';
import { clipWav } from './audio.testkit.ts';

describe('startFleetSim + ASR', () => {
  it('exposes whisperLiveUrl, whisperAsrUrl and the whisper-large-v3-sm endpoint', async () => {
    const fleet = await startFleetSim({ ttftMs: 2, itlMs: 1, jitter: 0, whisperLive: { modelLoadMs: 5 }, whisperAsr: { baseMs: 1, perAudioSecondMs: 0 }, sagemakerWhisper: { latency: { baseMs: 1, perAudioSecondMs: 0 } } });
    const sm = new SageMakerRuntimeClient({ region: 'us-east-1', endpoint: fleet.sagemakerUrl, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      expect(fleet.whisperLiveUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      expect(fleet.sagemakerEndpoints.asr).toBe(FLEET_SAGEMAKER_ENDPOINTS.asr);
      const wav = await clipWav('what-in-image');
      const f = new FormData();
      f.append('audio_file', new Blob([wav]), 'q.wav');
      expect(await (await fetch(`${fleet.whisperAsrUrl}/asr`, { method: 'POST', body: f })).text()).toBe('What is in this image?\n');
      const out = await sm.send(new InvokeEndpointCommand({ EndpointName: 'whisper-large-v3-sm', ContentType: 'audio/wav', Body: wav }));
      expect(JSON.parse(new TextDecoder().decode(out.Body))).toEqual({ text: [' What is in this image?'] });
      const ws = new WebSocket(fleet.whisperLiveUrl);
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ uid: 'fleet', language: 'en', task: 'transcribe', model: 'small' }));
      const [ready] = (await new Promise((r) => ws.once('message', (d) => r([d.toString()])))) as [string];
      expect(JSON.parse(ready)).toMatchObject({ message: 'SERVER_READY' });
      ws.close();
    } finally {
      sm.destroy();
      await fleet.close();
    }
  });
});
