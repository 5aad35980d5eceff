import {
  GITHUB_BODY_LIMIT,
  escapeInline,
  fitBody,
  inlineCode,
  neutraliseOutsideCode,
  neutraliseReferences,
  quoteUserText,
  tableCell,
} from '../../../src/deliver/fit.js';

const ZWJ = '\u200d';

/** What a Markdown text leaves open at its end: an unclosed fence, unclosed <details>. */
function openAtEnd(markdown: string): { fence: boolean; details: number } {
  let fence: string | undefined;
  let details = 0;
  for (const line of markdown.split('\n')) {
    if (fence !== undefined) {
      if (new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(line))
        fence = undefined;
      continue;
    }
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (open) {
      fence = open[1];
      continue;
    }
    details += (line.match(/<details\b/g) ?? []).length;
    details -= (line.match(/<\/details>/g) ?? []).length;
  }
  return { fence: fence !== undefined, details };
}

function lines(count: number, make: (i: number) => string): string {
  return Array.from({ length: count }, (_, i) => make(i)).join('\n');
}

/** A deterministic pseudo-random sequence (mulberry32), so generated cases are reproducible. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOTE = '_cut_';

describe('deliver/fit fitBody', () => {
  it.each<[string, string, number]>([
    ['empty text', '', 10],
    ['short text', 'hello', 10],
    ['text exactly at the limit', 'x'.repeat(100), 100],
    ['sections that fit', '# t\n\n## a\n\none\n\n## b\n\ntwo\n', 1000],
    ['the default limit', 'y'.repeat(GITHUB_BODY_LIMIT), GITHUB_BODY_LIMIT],
  ])('returns %s unchanged', (_name, text, limit) => {
    const result = fitBody(text, limit);

    expect(result).toEqual({ body: text, fitted: false });
  });

  it('fits text one character over the limit', () => {
    const text = `intro\n\n## big\n\n${lines(50, (i) => `line ${i}`)}\n`;

    const result = fitBody(text, text.length - 1, NOTE);

    expect(result.fitted).toBe(true);
    expect(result.body.length).toBeLessThanOrEqual(text.length - 1);
    expect(result.body).toContain(NOTE);
  });

  it('folds and cuts the longest sections first and leaves short ones open and whole', () => {
    const small = 'A short section that must stay as it is.';
    const text = [
      'Preamble stays.',
      '',
      '## Small',
      '',
      small,
      '',
      '## Huge',
      '',
      lines(400, (i) => `huge line ${i}`),
      '',
      '## Large',
      '',
      lines(200, (i) => `large line ${i}`),
      '',
      '## Tail',
      '',
      'The end.',
    ].join('\n');

    const { body } = fitBody(text, 4000, NOTE);

    expect(body.length).toBeLessThanOrEqual(4000);
    expect(body.startsWith('Preamble stays.\n\n## Small\n\nA short section')).toBe(true);
    expect(body).toContain('## Tail\n\nThe end.');
    expect(body).toContain('<details><summary>Huge</summary>');
    expect(body).toContain('<details><summary>Large</summary>');
    expect(body).not.toContain('## Huge');
    expect(body.split(NOTE)).toHaveLength(3);
    expect(body).toContain('huge line 0\n');
    expect(openAtEnd(body)).toEqual({ fence: false, details: 0 });
  });

  it('cuts the longest section more than a shorter one it also has to cut', () => {
    const text = `## A\n\n${lines(3000, (i) => `a${i}`)}\n\n## B\n\n${lines(1000, (i) => `b${i}`)}\n`;

    const { body } = fitBody(text, 3000, NOTE);

    const a = body.slice(body.indexOf('<summary>A'), body.indexOf('<summary>B'));
    const b = body.slice(body.indexOf('<summary>B'));
    expect(body.length).toBeLessThanOrEqual(3000);
    expect(body).toContain('a0\na1\n');
    expect(body).toContain('b0\nb1\n');
    // Both are cut to the same cap; line ends make them differ by less than a line or two.
    expect(Math.abs(a.length - b.length)).toBeLessThan(20);
  });

  it.each<[string, string]>([
    ['a backtick fence', '```yaml'],
    ['a long backtick fence', '`````'],
    ['a tilde fence', '~~~'],
  ])('closes %s it cuts through', (_name, open) => {
    const fenceLines = lines(500, (i) => `key${i}: value ${i}`);
    const close = open.replace(/[a-z]+$/, '');
    const text = `## Manifest\n\n${open}\n${fenceLines}\n${close}\n\nafter\n`;

    const { body } = fitBody(text, 2000, NOTE);

    expect(body.length).toBeLessThanOrEqual(2000);
    expect(openAtEnd(body)).toEqual({ fence: false, details: 0 });
    expect(body).toContain(`${open}\nkey0: value 0`);
    expect(body.indexOf(NOTE)).toBeGreaterThan(body.lastIndexOf(close));
  });

  it('closes <details> elements it cuts through', () => {
    const text = `## Report\n\n<details><summary>inner</summary>\n\n${lines(500, (i) => `row ${i}`)}\n\n</details>\n`;

    const { body } = fitBody(text, 1500, NOTE);

    expect(body.length).toBeLessThanOrEqual(1500);
    expect(openAtEnd(body)).toEqual({ fence: false, details: 0 });
  });

  it('does not take a "## " line inside a fence or inside <details> for a section', () => {
    const text = [
      '## Outer',
      '',
      '```md',
      '## not a heading',
      '```',
      '<details><summary>x</summary>',
      '',
      '## nor this',
      '',
      '</details>',
      lines(300, (i) => `filler ${i}`),
    ].join('\n');

    const { body } = fitBody(text, 1200, NOTE);

    expect(body.match(/<summary>/g)).toHaveLength(2);
    expect(body).toContain('<details><summary>Outer</summary>');
    expect(body).toContain('## not a heading');
  });

  it('cuts the end of a text that has no sections, keeping its start', () => {
    const text = `<!-- marker -->\n${lines(2000, (i) => `paragraph ${i}`)}`;

    const { body, fitted } = fitBody(text, 1000, NOTE);

    expect(fitted).toBe(true);
    expect(body.length).toBeLessThanOrEqual(1000);
    expect(body.startsWith('<!-- marker -->\nparagraph 0\n')).toBe(true);
    expect(body.endsWith(`\n\n${NOTE}`)).toBe(true);
  });

  it('fits one huge section of a megabyte', () => {
    const text = `Header line.\n\n## Everything\n\n${lines(40_000, (i) => `row ${i} ${'z'.repeat(20)}`)}\n`;

    const { body } = fitBody(text);

    expect(text.length).toBeGreaterThan(1_000_000);
    expect(body.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
    expect(body.length).toBeGreaterThan(GITHUB_BODY_LIMIT - 3000);
    expect(body.startsWith('Header line.\n\n<details><summary>Everything</summary>')).toBe(true);
    expect(body).toContain("_…cut here to fit GitHub's limit of 65,536 characters._");
  });

  it('fits a text that is one line of a megabyte, cutting at a space', () => {
    const text = `## One line\n\n${'word '.repeat(250_000)}`;

    const { body } = fitBody(text, 5000, NOTE);

    expect(body.length).toBeLessThanOrEqual(5000);
    expect(body).toMatch(/word\n\n_cut_/);
  });

  it('cuts the end when the text outside sections alone is too long', () => {
    const text = `${lines(500, (i) => `intro ${i}`)}\n\n## S\n\nbody\n`;

    const { body } = fitBody(text, 800, NOTE);

    expect(body.length).toBeLessThanOrEqual(800);
    expect(body.startsWith('intro 0\nintro 1\n')).toBe(true);
    expect(body.endsWith(NOTE)).toBe(true);
  });

  it('shows a section heading as HTML in <summary>', () => {
    const text = `## orders (\`services/orders\`) & <more>\n\n${'x\n'.repeat(500)}`;

    const { body } = fitBody(text, 300, NOTE);

    expect(body).toContain(
      '<details><summary>orders (<code>services/orders</code>) &amp; &lt;more&gt;</summary>',
    );
  });

  it('is idempotent', () => {
    const texts = [
      `## a\n\n${'1\n'.repeat(3000)}## b\n\n${'2\n'.repeat(100)}`,
      'plain '.repeat(2000),
      `\`\`\`\n${'code\n'.repeat(2000)}\`\`\`\n`,
    ];

    const once = texts.map((t) => fitBody(t, 1000, NOTE).body);
    const twice = once.map((t) => fitBody(t, 1000, NOTE));

    expect(twice.map((r) => r.body)).toEqual(once);
    expect(twice.every((r) => !r.fitted)).toBe(true);
  });

  it('never exceeds the limit and never leaves a fence or <details> open (generated texts)', () => {
    const next = random(42);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const blocks = [
      () => `## Section ${Math.floor(next() * 100)}`,
      () => `\`\`\`yaml\n${lines(1 + Math.floor(next() * 80), (i) => `k${i}: v`)}\n\`\`\``,
      () =>
        `<details><summary>d</summary>\n\n${lines(Math.floor(next() * 40), (i) => `- ${i}`)}\n\n</details>`,
      () => lines(1 + Math.floor(next() * 30), (i) => `| ${i} | cell | cell |`),
      () => 'text '.repeat(Math.floor(next() * 400)),
      () => '# Title',
    ];
    const cases = Array.from({ length: 60 }, () => ({
      text: Array.from({ length: 5 + Math.floor(next() * 40) }, () => pick(blocks)()).join('\n\n'),
      limit: 200 + Math.floor(next() * 6000),
    }));

    const results = cases.map(({ text, limit }) => ({ limit, ...fitBody(text, limit, NOTE) }));

    for (const r of results) {
      expect(r.body.length).toBeLessThanOrEqual(r.limit);
      expect(openAtEnd(r.body)).toEqual({ fence: false, details: 0 });
    }
    expect(results.filter((r) => r.fitted).length).toBeGreaterThan(30);
  });
});

describe('deliver/fit neutraliseReferences', () => {
  it.each<[string, string]>([
    ['ping @octocat', `ping @${ZWJ}octocat`],
    ['@org/team please', `@${ZWJ}org/team please`],
    ['(@a)', `(@${ZWJ}a)`],
    ['fixes #123', `fixes #${ZWJ}123`],
    ['acme/shop#7', `acme/shop#${ZWJ}7`],
    ['see GH-42 and gh-43', `see GH-${ZWJ}42 and gh-${ZWJ}43`],
    ['mail me at a@b.com', 'mail me at a@b.com'],
    ['an entity &#64; stays', 'an entity &#64; stays'],
    ['#hashtag stays', '#hashtag stays'],
    ['https://medium.com/@user/post#1 stays', 'https://medium.com/@user/post#1 stays'],
    ['[doc](https://x.org/a#1) then #2', `[doc](https://x.org/a#1) then #${ZWJ}2`],
  ])('%s', (text, expected) => {
    const result = neutraliseReferences(text);

    expect(result).toBe(expected);
  });
});

describe('deliver/fit neutraliseOutsideCode', () => {
  it('neutralises prose and tables but leaves code spans and fenced blocks exact', () => {
    const text = [
      '| a | @alice asked in #5 |',
      'inline `@bob #6` code',
      '```yaml',
      'owner: "@carol" # 7',
      'issue: #8',
      '```',
      'after @dave',
    ].join('\n');

    const result = neutraliseOutsideCode(text);

    expect(result).toBe(
      [
        `| a | @${ZWJ}alice asked in #${ZWJ}5 |`,
        'inline `@bob #6` code',
        '```yaml',
        'owner: "@carol" # 7',
        'issue: #8',
        '```',
        `after @${ZWJ}dave`,
      ].join('\n'),
    );
  });
});

describe('deliver/fit escaping', () => {
  it.each<[string, string]>([
    ['plain words', 'plain words'],
    ['<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)&gt;'],
    ['a | b', 'a \\| b'],
    [
      '**bold** _em_ `code` [link](u) ~~s~~',
      '\\*\\*bold\\*\\* \\_em\\_ \\`code\\` \\[link\\](u) \\~\\~s\\~\\~',
    ],
    ['two\nlines', 'two lines'],
    ['@you & #1', `@${ZWJ}you &amp; #${ZWJ}1`],
    ['bell\u0007 and nul\u0000 go', 'bell and nul go'],
  ])('escapeInline(%j)', (text, expected) => {
    const result = escapeInline(text);

    expect(result).toBe(expected);
  });

  it.each<[string, string]>([
    ['one line', '> one line'],
    ['a\n\nb', '> a\n>\n> b'],
    [
      '## heading\n# h1\n- item\n+ item\n1. first\n2) second\n---\n===',
      '> \\## heading\n> \\# h1\n> \\- item\n> \\+ item\n> 1\\. first\n> 2\\) second\n> \\---\n> \\===',
    ],
    ['> nested\n</details>\n<!-- x -->', '> &gt; nested\n> &lt;/details&gt;\n> &lt;!-- x --&gt;'],
    ['```\ncode\n```', '> \\`\\`\\`\n> code\n> \\`\\`\\`'],
    ['cc @octocat re #9\r\nthanks', `> cc @${ZWJ}octocat re #${ZWJ}9\n> thanks`],
  ])('quoteUserText(%j)', (text, expected) => {
    const result = quoteUserText(text);

    expect(result).toBe(expected);
  });

  it.each<[string, string]>([
    ['job-1', '`job-1`'],
    ['a`b', '``a`b``'],
    ['`edge`', '`` `edge` ``'],
    ['two\nlines', '`two lines`'],
  ])('inlineCode(%j)', (text, expected) => {
    const result = inlineCode(text);

    expect(result).toBe(expected);
  });

  it.each<[string, string]>([
    ['`a|b`', '`a\\|b`'],
    ['already \\| escaped', 'already \\| escaped'],
    ['x\ny', 'x y'],
  ])('tableCell(%j)', (text, expected) => {
    const result = tableCell(text);

    expect(result).toBe(expected);
  });
});
