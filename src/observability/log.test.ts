// The production logger's redaction: credentials passed by mistake under their usual keys are
// removed from the record, at the top level and one level down.
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';
import { LineSink } from './log-sink.testkit.ts';

describe('createLogger', () => {
  it('removes credential fields: authorization, apiKey(s), tokenSecret, token', () => {
    const sink = new LineSink();
    const log = createLogger('info', 'test', sink);
    log.info(
      { authorization: 'Bearer k-1', apiKey: 'k-2', apiKeys: ['k-3'], tokenSecret: 'k-4', token: 'k-5', auth: { apiKeys: ['k-6'], tokenSecret: 'k-7' }, req: { authorization: 'k-8' }, kept: 1 },
      'msg',
    );
    expect(sink.lines()[0]).toMatchObject({ kept: 1, auth: {}, req: {} });
    expect(sink.raw()).not.toMatch(/k-\d/);
  });
});
