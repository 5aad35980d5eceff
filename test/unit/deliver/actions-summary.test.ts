import {
  STEP_SUMMARY_LIMIT_BYTES,
  formatOutputs,
  stepSummary,
  workflowCommand,
} from '../../../src/deliver/actions-summary.js';

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** `count` numbered lines of `text`, about `count * (text.length + 8)` characters. */
function lines(count: number, text: string): string {
  return Array.from({ length: count }, (_, i) => `${String(i).padStart(6, '0')} ${text}`).join(
    '\n',
  );
}

function sequence(...ids: string[]): () => string {
  let next = 0;
  return () => ids[Math.min(next++, ids.length - 1)]!;
}

describe('deliver/actions-summary', () => {
  describe('stepSummary', () => {
    it.each([
      ['without a final newline', '# Plan\n\nall good', '# Plan\n\nall good\n'],
      ['with a final newline', '# Plan\n\nall good\n', '# Plan\n\nall good\n'],
    ])('keeps a report that fits as it is, %s', (_name, report, expected) => {
      const summary = stepSummary(report);

      expect(summary).toBe(expected);
    });

    it('uses GitHub’s 1024 KiB limit by default', () => {
      const report = lines(20_000, 'x'.repeat(60));

      const summary = stepSummary(report);

      expect(bytes(report)).toBeGreaterThan(STEP_SUMMARY_LIMIT_BYTES);
      expect(STEP_SUMMARY_LIMIT_BYTES).toBe(1_048_576);
      expect(bytes(summary)).toBeLessThanOrEqual(STEP_SUMMARY_LIMIT_BYTES);
      expect(summary).toContain('1024 KiB limit per step summary');
    });

    it.each([
      ['ASCII', 'x'.repeat(50)],
      ['three-byte characters', '€'.repeat(50)],
      ['four-byte characters', '📦'.repeat(50)],
    ])('cuts a report too large for the limit at a whole line (%s)', (_name, text) => {
      const report = lines(400, text);
      const limit = 8_192;

      const summary = stepSummary(report, limit);

      expect(bytes(summary)).toBeLessThanOrEqual(limit);
      expect(bytes(summary)).toBeGreaterThan(limit - 1_024);
      expect(summary).not.toContain('\uFFFD');
      const [kept] = summary.split('\n\n_The report was cut');
      expect(report.startsWith(kept!)).toBe(true);
      expect(kept!.split('\n').at(-1)).toMatch(new RegExp(`^\\d{6} (${text})$`, 'u'));
      expect(summary).toMatch(/cut to \d+ KiB of \d+ KiB/);
    });

    it('closes a code fence the cut leaves open', () => {
      const report = `# Plan\n\n\`\`\`yaml\n${lines(400, 'key: value')}\n\`\`\`\n\nafter\n`;

      const summary = stepSummary(report, 4_096);

      const fences = summary.split('\n').filter((line) => line.startsWith('```'));
      expect(fences).toEqual(['```yaml', '```']);
      expect(bytes(summary)).toBeLessThanOrEqual(4_096);
    });

    it('leaves balanced fences alone when the cut falls outside a code block', () => {
      const report = `\`\`\`\ncode\n\`\`\`\n${lines(400, 'prose')}\n`;

      const summary = stepSummary(report, 4_096);

      const fences = summary.split('\n').filter((line) => line.startsWith('```'));
      expect(fences).toEqual(['```', '```']);
    });
  });

  describe('formatOutputs', () => {
    it.each([
      [
        'a one-line value',
        { plan_file: '/tmp/plan.json' },
        'plan_file<<ghadelimiter_1\n/tmp/plan.json\nghadelimiter_1\n',
      ],
      [
        'an empty value',
        { pull_request_url: '' },
        'pull_request_url<<ghadelimiter_1\n\nghadelimiter_1\n',
      ],
      [
        'a multi-line value',
        { report: '# a\nb=c\n' },
        'report<<ghadelimiter_1\n# a\nb=c\n\nghadelimiter_1\n',
      ],
      [
        'several outputs',
        { a: 'x', b: 'y' },
        'a<<ghadelimiter_1\nx\nghadelimiter_1\nb<<ghadelimiter_2\ny\nghadelimiter_2\n',
      ],
    ])('writes %s in the heredoc syntax', (_name, outputs, expected) => {
      const text = formatOutputs(outputs, sequence('1', '2', '3'));

      expect(text).toBe(expected);
    });

    it('draws another delimiter when the value holds the first one', () => {
      const text = formatOutputs({ plan: 'ghadelimiter_a\n' }, sequence('a', 'b'));

      expect(text).toBe('plan<<ghadelimiter_b\nghadelimiter_a\n\nghadelimiter_b\n');
    });

    it('gives up after a bounded number of draws', () => {
      const format = (): string => formatOutputs({ plan: 'ghadelimiter_same' }, () => 'same');

      expect(format).toThrow(/no delimiter absent from output plan/);
    });

    it('uses a random delimiter by default', () => {
      const first = formatOutputs({ plan: 'x' });
      const second = formatOutputs({ plan: 'x' });

      expect(first).toMatch(/^plan<<ghadelimiter_[0-9a-f-]{36}\nx\nghadelimiter_[0-9a-f-]{36}\n$/);
      expect(first).not.toBe(second);
    });

    it.each(['', 'a b', 'a\nb', 'x<<y', '1abc'])('refuses the output name %j', (name) => {
      const format = (): string => formatOutputs({ [name]: 'x' });

      expect(format).toThrow(/invalid step output name/);
    });
  });

  describe('workflowCommand', () => {
    it.each<[Parameters<typeof workflowCommand>, string]>([
      [['error', 'plain message'], '::error::plain message\n'],
      [['error', '50% done\r\nnext line'], '::error::50%25 done%0D%0Anext line\n'],
      [
        ['error', 'bad input', { title: 'ai-provision input: target, path' }],
        '::error title=ai-provision input%3A target%2C path::bad input\n',
      ],
      [['add-mask', 'ghs_secret'], '::add-mask::ghs_secret\n'],
      [['notice', 'a::b'], '::notice::a::b\n'],
    ])('formats %j', (args, expected) => {
      const line = workflowCommand(...args);

      expect(line).toBe(expected);
    });
  });
});
