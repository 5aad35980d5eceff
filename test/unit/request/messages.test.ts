import {
  codeBlock,
  codeSpanText,
  commentExample,
  didYouMean,
  helpMessage,
  rejectionMessage,
  unknownSubcommandMessage,
  usageMessage,
} from '../../../src/request/messages.js';
import type { CorrectedFields } from '../../../src/request/parse-comment.js';

const SPEC_EXAMPLE = `/ai-provision

git_repo: "https://github.com/myorg/supermarket-inventory"
app_description: "Supermarket inventory service, zero downtime, 2000 QPS peak, strong consistency, React frontend + Go/Gin API + PostgreSQL backend"`;

describe('request/messages', () => {
  it('usage shows the SPEC example verbatim', () => {
    const text = usageMessage();

    expect(text).toContain(SPEC_EXAMPLE);
  });

  it.each([
    ['the usage', SPEC_EXAMPLE],
    ['every optional field', '| `namespace` |'],
    ['the keyword table', '| SLAs and performance |'],
    ['the subcommands', '`/ai-provision reject [reason]`'],
  ])('help includes %s', (_name, fragment) => {
    const text = helpMessage();

    expect(text).toContain(fragment);
  });

  it.each([
    ['a`b', "a'b"],
    ['line\nbreak\t tab', 'line break tab'],
    ['x'.repeat(100), `${'x'.repeat(79)}…`],
  ])('codeSpanText(%p) = %p', (input, expected) => {
    expect(codeSpanText(input)).toBe(expected);
  });

  it.each([
    ['plain', '```text\nplain\n```'],
    ['has ``` inside', '````text\nhas ``` inside\n````'],
  ])('codeBlock(%p) cannot be closed by its content', (input, expected) => {
    expect(codeBlock(input)).toBe(expected);
  });

  it.each([
    [undefined, ''],
    ['status', 'Did you mean `status`?'],
  ])('didYouMean(%p) = %p', (suggestion, expected) => {
    expect(didYouMean(suggestion)).toBe(expected);
  });

  it('writes the example with every value double-quoted, in the documented order', () => {
    const fields: CorrectedFields = {
      namespace: 'shop',
      git_repo: 'https://github.com/a/b',
      app_description: 'Say "hi": 200 RPS',
      paths: ['api', 'web'],
      target: 'both',
    };

    const text = commentExample(fields);

    expect(text).toBe(
      [
        '/ai-provision',
        '',
        'git_repo: "https://github.com/a/b"',
        'app_description: "Say \\"hi\\": 200 RPS"',
        'paths: ["api","web"]',
        'target: "both"',
        'namespace: "shop"',
      ].join('\n'),
    );
  });

  it('lists every problem, the example and the known fields', () => {
    const problems = [
      { field: 'git_repo', code: 'request-missing-field' as const, message: 'first problem' },
      { field: 'target', code: 'request-invalid-field' as const, message: 'second problem' },
    ];

    const text = rejectionMessage(
      problems,
      { git_repo: 'https://github.com/a/b', app_description: 'A shop API' },
      ['git_repo', 'target'],
    );

    expect(text).toContain('- first problem\n- second problem');
    expect(text).toContain(
      '```text\n/ai-provision\n\ngit_repo: "https://github.com/a/b"\napp_description: "A shop API"\n```',
    );
    expect(text).toContain('Fields I know: `git_repo`, `target`.');
  });

  it('names the unknown subcommand safely', () => {
    const text = unknownSubcommandMessage('a`b', undefined, ['help']);

    expect(text).toBe(
      "`/ai-provision a'b` is not a command I know.\n\nCommands: `help`. Comment `/ai-provision help` for details.",
    );
  });
});
