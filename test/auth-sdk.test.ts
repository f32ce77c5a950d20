// Integration, both transports: the Node SDK and CLI against a gateway with client authentication.
// apiKey / token go out as Authorization: Bearer (the gateway admits them), a refused handshake is
// the typed CLIENT_UNAUTHORIZED, and resume() presents the credential again.
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../clients/node/cli.ts';
import { connect, resume, type VlpClient } from '../clients/node/sdk.ts';
import { TextSink } from './text-sink.ts';
import { TRANSPORTS, type Stack } from './harness.ts';
import { API_KEY, OTHER_KEY, authStack, mintedToken } from './auth-helpers.ts';
import { clientRejection } from '../clients/node/rejection.testkit.ts';

let stack: Stack | undefined;
const clients: VlpClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await stack?.close();
  stack = undefined;
});


describe.each(TRANSPORTS)('SDK and CLI with client authentication on %s', (transport) => {
  it('connect() with apiKey or a minted token gets ready; without, or with a wrong key, CLIENT_UNAUTHORIZED', async () => {
    stack = await authStack(transport);
    const withKey = await connect(stack.url, { apiKey: API_KEY });
    clients.push(withKey);
    expect(withKey.ready.t).toBe('ready');
    const { token } = await mintedToken(stack);
    const withToken = await connect(stack.url, { token });
    clients.push(withToken);
    expect(withToken.ready.t).toBe('ready');
    const none = await clientRejection(connect(stack.url));
    expect([none.code, none.retryable]).toEqual(['CLIENT_UNAUTHORIZED', false]);
    expect((await clientRejection(connect(stack.url, { apiKey: OTHER_KEY }))).code).toBe('CLIENT_UNAUTHORIZED');
    expect(stack.gw.sessions.size).toBe(2);
  });

  it('resume() sends the credential again', async () => {
    stack = await authStack(transport);
    const first = await connect(stack.url, { apiKey: API_KEY });
    const state = first.resumeState();
    await first.close(4000);
    const again = await resume(stack.url, state, { apiKey: API_KEY });
    clients.push(again);
    expect(again.ready).toMatchObject({ resumed: true, session_id: state.sessionId });
  });

  it('the CLI answers with --api-key or VLP_API_KEY and exits 1 with CLIENT_UNAUTHORIZED without', async () => {
    stack = await authStack(transport);
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const stdout = new TextSink();
      const stderr = new TextSink();
      const code = await runCli(['--url', (stack as Stack).url, '--max-new-tokens', '4', ...args], { stdout, stderr, env });
      return { code, err: stderr.text };
    };
    expect((await run(['--api-key', API_KEY, 'hello'])).code).toBe(0);
    expect((await run(['hello'], { VLP_API_KEY: API_KEY })).code).toBe(0);
    const refused = await run(['hello']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^error CLIENT_UNAUTHORIZED: .*HTTP 401/);
  });
});
