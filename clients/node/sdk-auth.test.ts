// SDK credentials against the fake gateway: apiKey / token go out as Authorization: Bearer on the
// upgrade (resume included), a 401 handshake is CLIENT_UNAUTHORIZED, and error messages never show
// the URL's query (where a client token may sit).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGateway, type FakeGateway } from './fake-gateway.ts';
import { connect, resume, type VlpClient } from './sdk.ts';
import { clientRejection } from './rejection.testkit.ts';

const KEY = 'sdk-api-key-0123456789';
let gw: FakeGateway;
const clients: VlpClient[] = [];

beforeEach(async () => {
  gw = await startFakeGateway();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await gw.close();
});

async function open(opts: Parameters<typeof connect>[1]): Promise<VlpClient> {
  const c = await connect(gw.url, opts);
  clients.push(c);
  return c;
}


describe('SDK credentials', () => {
  it('sends apiKey, or token, as Authorization: Bearer; nothing without either', async () => {
    await open({ apiKey: KEY });
    await open({ token: 'vlp1.123.abc.def' });
    await open({});
    expect(gw.authorizations).toEqual([`Bearer ${KEY}`, 'Bearer vlp1.123.abc.def', undefined]);
  });

  it('resume() sends the credential again', async () => {
    const first = await open({ apiKey: KEY });
    clients.push(await resume(gw.url, first, { apiKey: KEY }));
    expect(gw.authorizations).toEqual([`Bearer ${KEY}`, `Bearer ${KEY}`]);
  });

  it('refuses apiKey and token together, and a credential a header cannot carry, before connecting', async () => {
    const both = await clientRejection(connect(gw.url, { apiKey: KEY, token: 't' }));
    expect([both.code, both.retryable, both.message]).toEqual(['CLIENT_CONNECT_FAILED', false, 'give apiKey or token, not both']);
    const spaced = await clientRejection(connect(gw.url, { apiKey: 'has a space 0123456789' }));
    expect(spaced.message).not.toContain('has a space');
    expect(gw.authorizations).toEqual([]);
  });

  it('a 401 handshake rejects with CLIENT_UNAUTHORIZED (not retryable); the right key gets ready', async () => {
    gw.requireKey = KEY;
    const none = await clientRejection(connect(gw.url));
    expect([none.code, none.retryable]).toEqual(['CLIENT_UNAUTHORIZED', false]);
    expect(none.message).toMatch(/HTTP 401/);
    expect((await clientRejection(connect(gw.url, { apiKey: 'wrong-key-0123456789' }))).code).toBe('CLIENT_UNAUTHORIZED');
    expect((await open({ apiKey: KEY })).ready.t).toBe('ready');
  });

  it('error messages show the URL without its query', async () => {
    const url = `${gw.url}?token=vlp1.999.secret-nonce.secret-mac`;
    await gw.close();
    const err = await clientRejection(connect(url, { connectTimeoutMs: 2_000 }));
    expect(err.code).toBe('CLIENT_CONNECT_FAILED');
    expect(err.message).toContain(`${gw.url}?…`);
    expect(err.message).not.toContain('secret');
  });
});
