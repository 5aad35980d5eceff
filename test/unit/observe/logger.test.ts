import { createLogger } from '../../../src/observe/logger.js';

function capture(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

describe('observe/logger', () => {
  it.each([
    ['a token field', { token: 'ghs_secret123' }],
    ['a nested token', { auth: { token: 'ghs_secret123' } }],
    ['an authorization header', { headers: { authorization: 'token ghs_secret123' } }],
    [
      'a request error',
      { err: { request: { headers: { authorization: 'Bearer ghs_secret123' } } } },
    ],
    ['a private key', { privateKey: 'ghs_secret123' }],
    ['a webhook secret', { secret: 'ghs_secret123' }],
  ])('never writes %s', (_what, fields) => {
    const out = capture();
    const log = createLogger({ destination: out });

    log.info(fields, 'something happened');

    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toContain('[redacted]');
    expect(out.lines[0]).not.toContain('ghs_secret123');
  });

  it('keeps everything else', () => {
    const out = capture();

    createLogger({ destination: out }).info({ jobId: 'job-1' }, 'queued');

    expect(JSON.parse(out.lines[0]!)).toMatchObject({
      jobId: 'job-1',
      msg: 'queued',
      name: 'ai-provision',
    });
  });
});
