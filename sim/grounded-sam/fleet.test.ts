// The fleet starts the simulated Grounded-SAM service beside the TGI servers.
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startFleetSim } from '../fleet.ts';

describe('startFleetSim with Grounded-SAM', () => {
  it('exposes groundedSam and groundedSamUrl, healthy, and closes it', async () => {
    const fleet = await startFleetSim({ ttftMs: 5, itlMs: 1, jitter: 0, groundedSam: { detectMs: 1 } });
    const url = fleet.groundedSamUrl;
    try {
      expect(url).toBe(fleet.groundedSam.url);
      expect(url).not.toBe(fleet.llmUrl);
      const res = await request(`${url}/health`);
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({ status: 'ok' });
    } finally {
      await fleet.close();
    }
    await expect(request(`${url}/health`)).rejects.toThrow();
  });
});
