import {
  FIELD_NAMES,
  REQUEST_MAX_CHARS,
  closestMatch,
  levenshtein,
  parseCommand,
  requestFromFields,
} from '../../../src/request/parse-comment.js';
import type { ParsedCommand } from '../../../src/request/parse-comment.js';
import { helpMessage, usageMessage } from '../../../src/request/messages.js';
import { ProvisionRequest } from '../../../src/request/schema.js';
import type { Origin } from '../../../src/request/schema.js';

const origin: Origin = {
  kind: 'comment',
  requestedBy: 'alice',
  repository: 'myorg/shop',
  issueNumber: 7,
  eventId: '123',
};
const REPO = 'https://github.com/myorg/supermarket-inventory';
const DESCRIPTION =
  'Supermarket inventory service, zero downtime, 2000 QPS peak, strong consistency, React frontend + Go/Gin API + PostgreSQL backend';
const FIELDS = `git_repo: "${REPO}"\napp_description: "${DESCRIPTION}"`;
const SPEC_EXAMPLE = `/ai-provision\n\n${FIELDS}`;

function parse(text: string, allowedHosts?: string[]): ParsedCommand {
  return parseCommand(text, { origin, allowedHosts });
}

function replyOf(result: ParsedCommand): { code: string; message: string } {
  if (result.kind !== 'reply') throw new Error(`expected a reply, got ${JSON.stringify(result)}`);
  return result;
}

/** The fenced example inside a reply, re-parsed: it must itself be a valid request. */
function exampleIn(message: string): string {
  const match = /```+text\n(?<body>[\s\S]*?)\n```+/.exec(message);
  if (!match?.groups) throw new Error(`no example in:\n${message}`);
  return match.groups.body!;
}

describe('request/parse-comment', () => {
  describe('parseCommand: comments that are not for us', () => {
    it.each([
      ['no command at all', 'Looks good to me!'],
      ['empty', ''],
      ['a longer word', '/ai-provisioning is a nice name'],
      ['mentioned mid-line', 'You can type /ai-provision help to see the options'],
      ['in inline code', 'Use `/ai-provision` to size a service'],
      ['a quoted reply', '> /ai-provision\n> git_repo: "https://github.com/a/b"\n\nI agree'],
      ['inside a code block', 'Example:\n\n```text\n/ai-provision help\n```'],
      ['inside a tilde block', '~~~\n/ai-provision\ngit_repo: x\n~~~'],
    ])('%s → ignore', (_name, text) => {
      const result = parse(text);

      expect(result).toEqual({ kind: 'ignore' });
    });

    it.each([
      ['help', helpMessage()],
      ['usage', usageMessage()],
    ])('our own %s text does not trigger a command', (_name, text) => {
      const result = parse(text);

      expect(result).toEqual({ kind: 'ignore' });
    });

    it('our own rejection reply does not trigger a command', () => {
      const rejection = replyOf(parse('/ai-provision\ngit_repo: "x"\napp_description: "short"'));

      const result = parse(rejection.message);

      expect(result).toEqual({ kind: 'ignore' });
    });
  });

  describe('parseCommand: the same request in many layouts', () => {
    const expected = {
      kind: 'command',
      command: {
        subcommand: 'provision',
        request: { gitRepo: REPO, appDescription: DESCRIPTION, target: 'kubernetes', origin },
      },
    };
    const fields = FIELDS;
    const unquoted = `git_repo: ${REPO}\napp_description: >-\n  ${DESCRIPTION}`;

    it.each([
      ['the SPEC example', SPEC_EXAMPLE],
      ['no blank line after the command', `/ai-provision\n${fields}`],
      ['CRLF line endings', `/ai-provision\r\n\r\n${fields.replace(/\n/g, '\r\n')}\r\n`],
      ['old Mac CR endings', `/ai-provision\r${fields.replace(/\n/g, '\r')}`],
      ['surrounding whitespace', `\n\n   /ai-provision   \n\n${fields}\n\n   `],
      ['trailing spaces on lines', `/ai-provision  \n${fields.replace(/\n/g, '   \n')}   `],
      ['unquoted values and a folded scalar', `/ai-provision\n${unquoted}`],
      ['a ```yaml fence', `/ai-provision\n\n\`\`\`yaml\n${fields}\n\`\`\``],
      ['a bare ``` fence', `/ai-provision\n\`\`\`\n${fields}\n\`\`\``],
      ['a ~~~ fence', `/ai-provision\n~~~yml\n${fields}\n~~~`],
      ['an unclosed fence', `/ai-provision\n\`\`\`yaml\n${fields}`],
      ['prose before the command', `Hi team, could you size this?\n\n/ai-provision\n${fields}`],
      ['prose after a blank line', `/ai-provision\n${fields}\n\nThanks: this is urgent.\nCheers`],
      [
        'prose after the fence',
        `/ai-provision\n\`\`\`yaml\n${fields}\n\`\`\`\nThanks!\nnamespace: ignored`,
      ],
      [
        'prose between command and fence',
        `/ai-provision\n\nHere is the request:\n\n\`\`\`yaml\n${fields}\n\`\`\``,
      ],
      [
        'a prose paragraph before the fields',
        `/ai-provision\n\nPlease size our service.\n\n${fields}`,
      ],
      ['indented fields', `/ai-provision\n    ${fields.replace(/\n/g, '\n    ')}`],
      ['YAML comments', `/ai-provision\n# our main service\n${fields} # required`],
      ['a mixed-case command', `/AI-Provision\n${fields}`],
      ['an explicit provision subcommand', `/ai-provision provision\n${fields}`],
      [
        'the first field on the command line',
        `/ai-provision git_repo: "${REPO}"\napp_description: "${DESCRIPTION}"`,
      ],
      ['a quoted earlier command above', `> /ai-provision help\n\n/ai-provision\n${fields}`],
      [
        'fields split by a blank line',
        `/ai-provision\ngit_repo: "${REPO}"\n\napp_description: "${DESCRIPTION}"`,
      ],
    ])('%s', (_name, text) => {
      const result = parse(text);

      expect(result).toEqual(expected);
    });

    it('keeps a multi-paragraph literal description whole', () => {
      const text = `/ai-provision\ngit_repo: ${REPO}\napp_description: |\n  First paragraph of the description.\n\n  Second paragraph, 200 RPS.\n\nThanks!`;

      const result = parse(text);

      expect(result).toMatchObject({
        kind: 'command',
        command: {
          request: {
            appDescription: 'First paragraph of the description.\n\nSecond paragraph, 200 RPS.',
          },
        },
      });
    });
  });

  describe('parseCommand: optional fields', () => {
    it.each([
      ['ref: "release/2.4"', { ref: 'release/2.4' }],
      ['ref: 1.10', { ref: '1.10' }],
      ['paths: ["services/api", "web"]', { paths: ['services/api', 'web'] }],
      ['paths: services/api, ./web/', { paths: ['services/api', 'web'] }],
      ['paths: ./, .//services//api/', { paths: ['.', 'services/api'] }],
      ['paths:\n  - services/api\n  - services/api', { paths: ['services/api'] }],
      ['target: proxmox', { target: 'proxmox' }],
      ['target: Both', { target: 'both' }],
      ['target: k8s', { target: 'kubernetes' }],
      ['environment: production', { environment: 'prod' }],
      ['environment: development', { environment: 'dev' }],
      ['environment: stage', { environment: 'staging' }],
      ['environment: STAGING', { environment: 'staging' }],
      ['namespace: inventory-prod', { namespace: 'inventory-prod' }],
      ['ref: ""\nnamespace:', {}],
    ])('%s', (extra, expected) => {
      const text = `${SPEC_EXAMPLE}\n${extra}`;

      const result = parse(text);

      expect(result.kind).toBe('command');
      const request =
        result.kind === 'command' && 'request' in result.command && result.command.request;
      expect(request).toMatchObject({ gitRepo: REPO, origin, ...expected });
      expect(ProvisionRequest.parse(request)).toEqual(request);
    });

    it('normalises the repository URL it was given', () => {
      const text = `/ai-provision\ngit_repo: https://GitHub.com/myorg/shop.git/\napp_description: "${DESCRIPTION}"`;

      const result = parse(text);

      expect(result).toMatchObject({
        command: { request: { gitRepo: 'https://github.com/myorg/shop' } },
      });
    });

    it('uses the allowed hosts it is given', () => {
      const text = `/ai-provision\ngit_repo: https://git.example.com/team/shop\napp_description: "${DESCRIPTION}"`;

      const allowed = parse(text, ['git.example.com']);
      const refused = parse(text);

      expect(allowed).toMatchObject({
        command: { request: { gitRepo: 'https://git.example.com/team/shop' } },
      });
      expect(refused).toMatchObject({ kind: 'reply', code: 'repo-url-rejected' });
    });
  });

  describe('parseCommand: subcommands', () => {
    it.each<[string, unknown]>([
      ['/ai-provision help', { subcommand: 'help' }],
      ['/ai-provision HELP', { subcommand: 'help' }],
      ['/ai-provision help!', { subcommand: 'help' }],
      ['/ai-provision status', { subcommand: 'status' }],
      ['/ai-provision status\ngit_repo: ignored', { subcommand: 'status' }],
      ['/ai-provision approve', { subcommand: 'approve' }],
      ['/ai-provision approve   ', { subcommand: 'approve' }],
      [
        '/ai-provision approve looks good, ship it',
        { subcommand: 'approve', reason: 'looks good, ship it' },
      ],
      [
        '/ai-provision reject memory limit too low',
        { subcommand: 'reject', reason: 'memory limit too low' },
      ],
      ['Thanks!\r\n/ai-provision reject\r\nmore text', { subcommand: 'reject' }],
    ])('%p', (text, command) => {
      const result = parse(text);

      expect(result).toEqual({ kind: 'command', command });
    });

    it.each([
      ['aprove', 'approve'],
      ['stats', 'status'],
      ['hlep', 'help'],
      ['rejct', 'reject'],
      ['provison', 'provision'],
    ])('/ai-provision %s → did you mean %s', (word, suggestion) => {
      const result = parse(`/ai-provision ${word}`);

      const reply = replyOf(result);
      expect(reply.code).toBe('request-malformed');
      expect(reply.message).toContain(`\`/ai-provision ${word}\` is not a command`);
      expect(reply.message).toContain(`Did you mean \`${suggestion}\`?`);
      expect(reply.message).toContain('`help`, `status`, `approve`, `reject`');
    });

    it('lists the commands without a guess when nothing is close', () => {
      const result = parse('/ai-provision deploy-everything');

      const reply = replyOf(result);
      expect(reply.message).not.toContain('Did you mean');
      expect(reply.message).toContain('`provision`, `help`, `status`, `approve`, `reject`');
    });
  });

  describe('parseCommand: nothing after the command', () => {
    it.each([
      ['/ai-provision'],
      ['/ai-provision\n\n'],
      ['/ai-provision\n\nPlease size our shop service.'],
      ['/ai-provision\n```yaml\n```'],
      ['/ai-provision\n# only a comment'],
    ])('%p → usage', (text) => {
      const result = parse(text);

      const reply = replyOf(result);
      expect(reply.code).toBe('request-missing-field');
      expect(reply.message).toContain('`git_repo` and `app_description`');
      expect(reply.message).toContain(SPEC_EXAMPLE);
    });
  });

  describe('parseCommand: each mistake names the field, says why and shows a fix', () => {
    it.each<[string, string, string, string[], string[]]>([
      [
        'missing git_repo',
        `app_description: "${DESCRIPTION}"`,
        'request-missing-field',
        ['`git_repo` is missing'],
        ['git_repo: "https://github.com/myorg/shop"', `app_description: "${DESCRIPTION}"`],
      ],
      [
        'missing app_description',
        `git_repo: ${REPO}`,
        'request-missing-field',
        ['`app_description` is missing'],
        [`git_repo: "${REPO}"`, 'app_description: "What the service does'],
      ],
      [
        'empty git_repo',
        `git_repo:\napp_description: "${DESCRIPTION}"`,
        'request-missing-field',
        ['`git_repo` is missing'],
        ['git_repo: "https://github.com/myorg/shop"'],
      ],
      [
        'unknown field with a close name',
        `${FIELDS}\nnamepsace: shop`,
        'request-unknown-field',
        [
          '`namepsace` is not a field I know. Did you mean `namespace`?',
          '`git_repo`, `app_description`, `ref`, `paths`, `target`, `environment`, `namespace`',
        ],
        ['namespace: "shop"'],
      ],
      [
        'camelCase field',
        `gitRepo: ${REPO}\napp_description: "${DESCRIPTION}"`,
        'request-missing-field',
        ['`git_repo` is missing', '`gitRepo` is not a field I know. Did you mean `git_repo`?'],
        [`git_repo: "${REPO}"`],
      ],
      [
        'a synonym',
        `${FIELDS}\nbranch: main`,
        'request-unknown-field',
        ['`branch` is not a field I know. Did you mean `ref`?'],
        ['ref: "main"'],
      ],
      [
        'unknown field with nothing close',
        `${FIELDS}\ncolour: blue`,
        'request-unknown-field',
        ['`colour` is not a field I know.'],
        [`git_repo: "${REPO}"`],
      ],
      [
        'http URL',
        `git_repo: http://github.com/myorg/shop\napp_description: "${DESCRIPTION}"`,
        'repo-url-rejected',
        ['`git_repo` cannot be used: it uses http://'],
        ['git_repo: "https://github.com/myorg/shop"'],
      ],
      [
        'ssh URL',
        `git_repo: git@github.com:myorg/shop.git\napp_description: "${DESCRIPTION}"`,
        'repo-url-rejected',
        ['SSH address'],
        ['git_repo: "https://github.com/myorg/shop"'],
      ],
      [
        'credentials in the URL',
        `git_repo: https://x-access-token:ghs_abc@github.com/myorg/shop\napp_description: "${DESCRIPTION}"`,
        'repo-url-rejected',
        ['password or token'],
        ['git_repo: "https://github.com/myorg/shop"'],
      ],
      [
        'a private address',
        `git_repo: https://10.0.0.5/myorg/shop\napp_description: "${DESCRIPTION}"`,
        'repo-url-rejected',
        ['a private network address'],
        ['git_repo: "https://github.com/myorg/shop"'],
      ],
      [
        'a local path in a comment',
        `git_repo: ./services/shop\napp_description: "${DESCRIPTION}"`,
        'repo-url-rejected',
        ['command line'],
        ['git_repo: "https://github.com/myorg/shop"'],
      ],
      [
        'git_repo as a list',
        `git_repo: [${REPO}]\napp_description: "${DESCRIPTION}"`,
        'request-invalid-field',
        ['`git_repo` must be an https:// URL, not a list'],
        ['git_repo: "https://github.com/myorg/shop"'],
      ],
      [
        'description too short',
        `git_repo: ${REPO}\napp_description: tiny`,
        'request-invalid-field',
        ['`app_description` has only 4 characters; write at least 10'],
        [`git_repo: "${REPO}"`],
      ],
      [
        'description too long',
        `git_repo: ${REPO}\napp_description: "${'word '.repeat(450)}"`,
        'request-invalid-field',
        ['`app_description` has 2249 characters; keep it to at most 2000'],
        ['app_description: "word word'],
      ],
      [
        'description as a mapping',
        `git_repo: ${REPO}\napp_description:\n  qps: 200`,
        'request-invalid-field',
        ['`app_description` must be text, not a set of fields'],
        ['app_description: "What the service does'],
      ],
      [
        'bad target',
        `${FIELDS}\ntarget: proxmx`,
        'request-invalid-field',
        [
          '`target` is `proxmx`, which is not one of: `kubernetes`, `proxmox`, `both`. Did you mean `proxmox`?',
        ],
        ['target: "proxmox"'],
      ],
      [
        'bad target, nothing close',
        `${FIELDS}\ntarget: openshift`,
        'request-invalid-field',
        ['`target` is `openshift`, which is not one of: `kubernetes`, `proxmox`, `both`.'],
        [`app_description: "${DESCRIPTION}"`],
      ],
      [
        'bad environment',
        `${FIELDS}\nenvironment: qa`,
        'request-invalid-field',
        ['`environment` is `qa`, which is not one of: `dev`, `staging`, `prod`.'],
        [`git_repo: "${REPO}"`],
      ],
      [
        'bad namespace',
        `${FIELDS}\nnamespace: My_Shop`,
        'request-invalid-field',
        [
          '`namespace` is `My_Shop`, which is not a valid Kubernetes namespace',
          'Did you mean `my-shop`?',
        ],
        ['namespace: "my-shop"'],
      ],
      [
        'bad ref',
        `${FIELDS}\nref: --upload-pack=evil`,
        'request-invalid-field',
        ['`ref` is `--upload-pack=evil`, which is not a branch, tag or commit I accept'],
        ['ref: "upload-pack-evil"'],
      ],
      [
        'a path outside the repository',
        `${FIELDS}\npaths: [services/api, ../../etc, /abs]`,
        'request-invalid-field',
        ['`paths` contains `../../etc`', '`paths` contains `/abs`'],
        ['paths: ["services/api"]'],
      ],
      [
        'empty paths',
        `${FIELDS}\npaths: []`,
        'request-invalid-field',
        ['`paths` is empty'],
        [`git_repo: "${REPO}"`],
      ],
      [
        'paths as a mapping',
        `${FIELDS}\npaths:\n  api: services/api`,
        'request-invalid-field',
        ['`paths` must be a list of folders or one comma-separated line, not a set of fields'],
        [`git_repo: "${REPO}"`],
      ],
      [
        'a YAML syntax error',
        `git_repo: ${REPO}\napp_description: Shop API: Go and Postgres`,
        'request-malformed',
        ['Line 3 (`app_description: Shop API: Go and Postgres`) cannot be read', 'double quotes'],
        [`git_repo: "${REPO}"`, 'app_description: "Shop API: Go and Postgres"'],
      ],
      [
        'a duplicate field',
        `${FIELDS}\ngit_repo: https://github.com/other/repo`,
        'request-malformed',
        [
          'Line 4 (`git_repo: https://github.com/other/repo`) cannot be read: map keys must be unique',
        ],
        [`git_repo: "${REPO}"`],
      ],
      [
        'prose glued to the fields',
        `git_repo: ${REPO}\napp_description: "${DESCRIPTION}"\nThanks a lot!`,
        'request-malformed',
        ['Line 4 (`Thanks a lot!`) cannot be read', 'blank line'],
        [`git_repo: "${REPO}"`, `app_description: "${DESCRIPTION}"`],
      ],
      [
        'a list instead of fields',
        `- git_repo: ${REPO}\n- app_description: x`,
        'request-malformed',
        ['must be `field: value` pairs'],
        ['git_repo: "https://github.com/myorg/shop"'],
      ],
    ])('%s', (_name, yaml, code, says, shows) => {
      const result = parse(`/ai-provision\n${yaml}`);

      const reply = replyOf(result);
      expect(reply.code).toBe(code);
      for (const text of says) expect(reply.message).toContain(text);
      const example = exampleIn(reply.message);
      for (const text of shows) expect(example).toContain(text);
    });

    it('reports every problem at once, and the example keeps the valid values', () => {
      const text = [
        '/ai-provision',
        'git_repo: git@github.com:myorg/shop.git',
        'app_description: tiny',
        'ref: main',
        'target: proxmx',
        'environment: production',
        'namespace: My_Shop',
        'paths: services/api, ../etc',
        'colour: blue',
      ].join('\n');

      const reply = replyOf(parse(text));

      expect(reply.code).toBe('request-unknown-field');
      const fields = ['git_repo', 'app_description', 'paths', 'target', 'namespace', 'colour'];
      for (const field of fields) expect(reply.message).toContain(`- \`${field}\``);
      expect(reply.message).not.toContain('- `ref`');
      expect(reply.message).not.toContain('- `environment`');
      expect(exampleIn(reply.message)).toBe(
        [
          '/ai-provision',
          '',
          'git_repo: "https://github.com/myorg/shop"',
          'app_description: "What the service does, its language and framework, its database, the peak load (for example 500 QPS) and how critical it is"',
          'ref: "main"',
          'paths: ["services/api"]',
          'target: "proxmox"',
          'environment: "prod"',
          'namespace: "my-shop"',
        ].join('\n'),
      );
    });

    it.each([
      ['namepsace: shop'],
      ['target: proxmx'],
      ['git_repo: git@github.com:myorg/shop.git'],
      ['paths: "api, ../x"'],
      ['namespace: Shop_Prod'],
    ])('the corrected example for %p is itself accepted', (extra) => {
      const lines = SPEC_EXAMPLE.split('\n');
      const text = extra.startsWith('git_repo')
        ? [lines[0], extra, lines[3]].join('\n')
        : `${SPEC_EXAMPLE}\n${extra}`;

      const example = exampleIn(replyOf(parse(text)).message);
      const again = parse(example);

      expect(again.kind).toBe('command');
    });

    it.each([
      ['target: constructor', '`target` is `constructor`'],
      ['environment: __proto__', '`environment` is `__proto__`'],
      ['toString: x', '`toString` is not a field I know.'],
      ['hasOwnProperty: x', '`hasOwnProperty` is not a field I know.'],
    ])('treats object-prototype names as plain words: %p', (extra, says) => {
      const text = `${SPEC_EXAMPLE}\n${extra}`;

      const reply = replyOf(parse(text));

      expect(reply.message).toContain(says);
      expect(reply.message).not.toContain('function');
      expect(reply.message).not.toContain('[object');
    });

    it('keeps user text inside code spans from breaking the Markdown', () => {
      const text = `${SPEC_EXAMPLE}\n"bad\`field": 1`;

      const reply = replyOf(parse(text));

      expect(reply.message).toContain("`bad'field` is not a field I know.");
    });

    it('refuses a request body beyond the size limit without parsing it', () => {
      const text = `/ai-provision\ngit_repo: ${REPO}\napp_description: |\n${'  line of text\n'.repeat(REQUEST_MAX_CHARS / 10)}`;

      const reply = replyOf(parse(text));

      expect(reply.code).toBe('request-malformed');
      expect(reply.message).toContain(`longer than ${REQUEST_MAX_CHARS} characters`);
    });

    it.each([
      [
        'an alias bomb',
        `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]`,
      ],
      ['a tab-indented mess', 'git_repo:\n\t- x\n\t\t: y'],
      ['binary noise', '\u0000\u0001\u0002: \u0003'],
      ['a huge body', `git_repo: x\n${'y: z\n'.repeat(50_000)}`],
      ['only punctuation', ':::'],
    ])('never throws on %s', (_name, yaml) => {
      const act = (): ParsedCommand => parse(`/ai-provision\n${yaml}`);

      expect(act).not.toThrow();
      expect(act().kind).toBe('reply');
    });
  });

  describe('requestFromFields', () => {
    const cli: Origin = { kind: 'cli', requestedBy: 'bob' };

    it('accepts a local path from the CLI', () => {
      const result = requestFromFields(
        { git_repo: './examples/shop', app_description: DESCRIPTION },
        { allowLocalPath: true, origin: cli },
      );

      expect(result).toEqual({
        kind: 'ok',
        request: {
          gitRepo: './examples/shop',
          appDescription: DESCRIPTION,
          target: 'kubernetes',
          origin: cli,
        },
      });
    });

    it('refuses the same path from a comment', () => {
      const result = requestFromFields(
        { git_repo: './examples/shop', app_description: DESCRIPTION },
        { allowLocalPath: false, origin },
      );

      expect(result).toMatchObject({
        kind: 'invalid',
        problems: [{ field: 'git_repo', code: 'repo-url-rejected' }],
      });
    });

    it.each<[string, Record<string, unknown>, string]>([
      [
        'a number as description',
        { git_repo: REPO, app_description: 12345678901 },
        'must be text, not a number',
      ],
      [
        'a boolean as target',
        { git_repo: REPO, app_description: DESCRIPTION, target: true },
        'not true/false',
      ],
      ['null git_repo', { git_repo: null, app_description: DESCRIPTION }, '`git_repo` is missing'],
      [
        'a number as ref',
        { git_repo: REPO, app_description: DESCRIPTION, ref: 3 },
        '`ref` must be a branch, tag or commit name, not a number',
      ],
    ])('JSON-typed input: %s', (_name, fields, says) => {
      const result = requestFromFields(fields, { allowLocalPath: false, origin });

      expect(result.kind).toBe('invalid');
      const messages = result.kind === 'invalid' ? result.problems.map((p) => p.message) : [];
      expect(messages.join('\n')).toContain(says);
    });

    it('turns a bad origin into problems instead of throwing', () => {
      const badOrigin = { kind: 'comment', requestedBy: '' } as Origin;

      const result = requestFromFields(
        { git_repo: REPO, app_description: DESCRIPTION },
        { allowLocalPath: false, origin: badOrigin },
      );

      expect(result).toMatchObject({
        kind: 'invalid',
        problems: [{ field: 'origin.requestedBy' }],
      });
    });

    it('lists fields in the documented order', () => {
      expect(FIELD_NAMES).toEqual([
        'git_repo',
        'app_description',
        'ref',
        'paths',
        'target',
        'environment',
        'namespace',
      ]);
    });
  });

  describe('did you mean', () => {
    it.each([
      ['', '', 0],
      ['abc', '', 3],
      ['kitten', 'sitting', 3],
      ['namepsace', 'namespace', 2],
      ['aprove', 'approve', 1],
      ['same', 'same', 0],
    ])('levenshtein(%p, %p) = %p', (a, b, distance) => {
      expect(levenshtein(a, b)).toBe(distance);
      expect(levenshtein(b, a)).toBe(distance);
    });

    it.each([
      ['aprove', ['approve', 'reject'], 'approve'],
      ['targte', ['target', 'ref'], 'target'],
      ['xyz', ['approve', 'reject'], undefined],
      ['ab', ['ref'], undefined],
      ['rf', ['ref', 'rfc'], 'ref'],
    ])('closestMatch(%p, %p) = %p', (input, candidates, expected) => {
      expect(closestMatch(input, candidates)).toBe(expected);
    });
  });
});
