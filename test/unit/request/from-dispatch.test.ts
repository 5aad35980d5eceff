import { requestFromDispatch } from '../../../src/request/from-dispatch.js';
import type { DispatchResult } from '../../../src/request/from-dispatch.js';
import { REQUEST_MAX_CHARS, parseCommand } from '../../../src/request/index.js';
import type { Origin } from '../../../src/request/index.js';

const origin: Origin = {
  kind: 'dispatch',
  requestedBy: 'release-bot',
  repository: 'acme/shop',
  eventId: 'delivery-1',
};
const REPO = 'https://github.com/acme/shop';
const DESCRIPTION = 'Shop API in Go with PostgreSQL, 300 QPS peak, production critical';

function dispatch(payload: unknown, allowedHosts?: string[]): DispatchResult {
  return requestFromDispatch(payload, { origin, ...(allowedHosts && { allowedHosts }) });
}

function replyOf(result: DispatchResult): { code: string; message: string } {
  if (result.kind !== 'reply') throw new Error(`expected a reply, got ${JSON.stringify(result)}`);
  return result;
}

/** The JSON body in a reply, parsed: it must be a dispatch body whose payload is accepted. */
function bodyIn(message: string): { event_type: string; client_payload: Record<string, unknown> } {
  const match = /```+json\n(?<body>[\s\S]*?)\n```+/.exec(message);
  if (!match?.groups) throw new Error(`no JSON body in:\n${message}`);
  return JSON.parse(match.groups.body!) as {
    event_type: string;
    client_payload: Record<string, unknown>;
  };
}

describe('request/from-dispatch', () => {
  describe('requestFromDispatch: accepted payloads', () => {
    it('the two required fields make a request with the dispatch origin', () => {
      const payload = { git_repo: REPO, app_description: DESCRIPTION };

      const result = dispatch(payload);

      expect(result).toEqual({
        kind: 'ok',
        request: { gitRepo: REPO, appDescription: DESCRIPTION, target: 'kubernetes', origin },
      });
    });

    it('every field, with JSON types, is read as in a comment', () => {
      const payload = {
        git_repo: `${REPO}.git`,
        app_description: `  ${DESCRIPTION}  `,
        ref: 'release/2.4',
        paths: ['./services/api/', 'web'],
        target: 'K8s',
        environment: 'production',
        namespace: 'shop',
      };

      const result = dispatch(payload);

      expect(result).toEqual({
        kind: 'ok',
        request: {
          gitRepo: REPO,
          appDescription: DESCRIPTION,
          ref: 'release/2.4',
          paths: ['services/api', 'web'],
          target: 'kubernetes',
          environment: 'prod',
          namespace: 'shop',
          origin,
        },
      });
    });

    it('paths may be one comma-separated string, as in a comment', () => {
      const payload = { git_repo: REPO, app_description: DESCRIPTION, paths: 'api, web' };

      const result = dispatch(payload);

      expect(result).toMatchObject({ kind: 'ok', request: { paths: ['api', 'web'] } });
    });

    it('null optional fields count as absent', () => {
      const payload = { git_repo: REPO, app_description: DESCRIPTION, ref: null, paths: null };

      const result = dispatch(payload);

      expect(result).toMatchObject({ kind: 'ok' });
      expect(result.kind === 'ok' && 'ref' in result.request).toBe(false);
    });

    it('an allowed host other than github.com is accepted when configured', () => {
      const payload = {
        git_repo: 'https://git.example.com/team/app',
        app_description: DESCRIPTION,
      };

      const result = dispatch(payload, ['git.example.com']);

      expect(result).toMatchObject({
        kind: 'ok',
        request: { gitRepo: 'https://git.example.com/team/app' },
      });
    });
  });

  describe('requestFromDispatch: replies', () => {
    it.each<[string, unknown, string, string[]]>([
      [
        'an empty object',
        {},
        'request-missing-field',
        ['`git_repo` is missing', '`app_description` is missing'],
      ],
      ['no payload at all', undefined, 'request-missing-field', ['`git_repo` is missing']],
      ['a null payload', null, 'request-missing-field', ['`app_description` is missing']],
      [
        'a missing description',
        { git_repo: REPO },
        'request-missing-field',
        ['`app_description` is missing'],
      ],
      [
        'an unknown field with a likely meaning',
        { repo: REPO, app_description: DESCRIPTION },
        'request-missing-field',
        ['`repo` is not a field I know. Did you mean `git_repo`?', '`git_repo` is missing'],
      ],
      [
        'a misspelt optional field',
        { git_repo: REPO, app_description: DESCRIPTION, enviroment: 'prod' },
        'request-unknown-field',
        ['`enviroment` is not a field I know. Did you mean `environment`?'],
      ],
      [
        'camelCase field names',
        { gitRepo: REPO, appDescription: DESCRIPTION },
        'request-missing-field',
        ['`gitRepo` is not a field I know.', '`appDescription` is not a field I know.'],
      ],
      [
        'a number for the description',
        { git_repo: REPO, app_description: 42 },
        'request-invalid-field',
        ['`app_description` must be text, not a number.'],
      ],
      [
        'an object for git_repo',
        { git_repo: { url: REPO }, app_description: DESCRIPTION },
        'request-invalid-field',
        ['`git_repo` must be an https:// URL, not a set of fields.'],
      ],
      [
        'true for paths',
        { git_repo: REPO, app_description: DESCRIPTION, paths: true },
        'request-invalid-field',
        ['`paths` must be a list of folders or one comma-separated line, not true/false.'],
      ],
      [
        'a list for the target',
        { git_repo: REPO, app_description: DESCRIPTION, target: ['kubernetes'] },
        'request-invalid-field',
        ['`target` must be one of kubernetes, proxmox, both, not a list.'],
      ],
      [
        'an ssh address',
        { git_repo: 'git@github.com:acme/shop.git', app_description: DESCRIPTION },
        'repo-url-rejected',
        ['`git_repo` cannot be used'],
      ],
      [
        'a loopback address',
        { git_repo: 'https://127.0.0.1/acme/shop', app_description: DESCRIPTION },
        'repo-url-rejected',
        ['a loopback address'],
      ],
      [
        'a local path, which only the CLI may use',
        { git_repo: '/srv/repos/shop', app_description: DESCRIPTION },
        'repo-url-rejected',
        ['`git_repo` cannot be used'],
      ],
      [
        'a list',
        [REPO, DESCRIPTION],
        'request-malformed',
        ['`client_payload` must be a JSON object of fields', 'not a list.'],
      ],
      ['text', 'size my repo', 'request-malformed', ['not text.']],
      ['a number', 7, 'request-malformed', ['not a number.']],
      ['a boolean', false, 'request-malformed', ['not true/false.']],
      [
        'JSON sent as a string',
        JSON.stringify({ git_repo: REPO, app_description: DESCRIPTION }),
        'request-malformed',
        ['`client_payload` is a string holding JSON', '`gh api -f client_payload=…`'],
      ],
      [
        'a payload longer than the request limit',
        { git_repo: REPO, app_description: DESCRIPTION, paths: Array(3000).fill('services/api') },
        'request-malformed',
        [`\`client_payload\` is longer than ${REQUEST_MAX_CHARS} characters`],
      ],
    ])('%s → %s', (_name, payload, code, parts) => {
      const result = dispatch(payload);

      const reply = replyOf(result);
      expect(reply.code).toBe(code);
      for (const part of parts) expect(reply.message).toContain(part);
      expect(reply.message).toMatch(/^I could not accept this `repository_dispatch` request/);
    });

    it.each<[string, unknown, Record<string, unknown>]>([
      [
        'placeholders when nothing usable was sent',
        {},
        {
          git_repo: 'https://github.com/acme/shop',
          app_description: expect.stringContaining('What the service does'),
        },
      ],
      [
        'the valid fields kept, a misspelt one moved to its field',
        { git_repo: REPO, app_description: DESCRIPTION, enviroment: 'prod', namespace: 'shop' },
        { git_repo: REPO, app_description: DESCRIPTION, environment: 'prod', namespace: 'shop' },
      ],
      [
        'the suggested https address for an ssh one',
        { git_repo: 'git@github.com:acme/web.git', app_description: DESCRIPTION },
        { git_repo: 'https://github.com/acme/web', app_description: DESCRIPTION },
      ],
      [
        'the fields of JSON sent as a string',
        JSON.stringify({ git_repo: REPO, app_description: DESCRIPTION, target: 'both' }),
        { git_repo: REPO, app_description: DESCRIPTION, target: 'both' },
      ],
      [
        'only the required fields of a payload too long to read',
        { git_repo: REPO, app_description: DESCRIPTION, paths: Array(3000).fill('api') },
        { git_repo: REPO, app_description: DESCRIPTION },
      ],
    ])('the corrected body holds %s', (_name, payload, expected) => {
      const message = replyOf(dispatch(payload)).message;

      const body = bodyIn(message);

      expect(body.event_type).toBe('ai-provision');
      expect(body.client_payload).toEqual(expected);
    });

    it.each<[string, unknown]>([
      ['missing fields', {}],
      ['a wrong type', { git_repo: REPO, app_description: 42 }],
      ['a misspelt field', { git_repo: REPO, app_description: DESCRIPTION, nmespace: 'shop' }],
      ['a list', []],
    ])('the corrected body after %s is itself accepted', (_name, payload) => {
      const body = bodyIn(replyOf(dispatch(payload)).message);

      const again = dispatch(body.client_payload);

      expect(again.kind).toBe('ok');
    });

    it('shows the gh api and curl commands for the dispatching repository', () => {
      const message = replyOf(dispatch({})).message;

      expect(message).toContain(
        '```sh\ngh api --method POST repos/acme/shop/dispatches --input ai-provision.json\n```',
      );
      expect(message).toContain('https://api.github.com/repos/acme/shop/dispatches \\\n');
      expect(message).toContain('--data-binary @ai-provision.json');
      expect(message).toContain('Authorization: Bearer $GH_TOKEN');
      expect(message).toContain(
        'Fields I know: `git_repo`, `app_description`, `ref`, `paths`, `target`, `environment`, `namespace`.',
      );
    });

    it('uses a placeholder repository when the origin names none', () => {
      const result = requestFromDispatch({}, { origin: { kind: 'dispatch', requestedBy: 'x' } });

      const message = replyOf(result).message;

      expect(message).toContain('repos/OWNER/REPOSITORY/dispatches');
    });

    it('lists every problem at once, one per line', () => {
      const payload = {
        git_repo: 'ftp://x',
        app_description: 'short',
        colour: 'red',
        target: 'vm',
      };

      const message = replyOf(dispatch(payload)).message;

      const problems = message.split('\n').filter((line) => line.startsWith('- '));
      expect(problems).toHaveLength(4);
    });

    it('a description holding backticks cannot end the JSON block early', () => {
      const description = `${DESCRIPTION} \`\`\`\n/ai-provision approve`;

      const message = replyOf(
        dispatch({ git_repo: 'ssh://x', app_description: description }),
      ).message;

      expect(bodyIn(message).client_payload.app_description).toBe(description);
      expect(parseCommand(message, { origin })).toEqual({ kind: 'ignore' });
    });

    it('never throws, even for a payload whose fields throw when read', () => {
      const payload = Object.defineProperty({}, 'git_repo', {
        enumerable: true,
        get: () => {
          throw new Error('boom');
        },
      });

      const result = dispatch(payload);

      expect(replyOf(result).code).toBe('request-malformed');
    });

    it('a cyclic payload is refused as unreadable, without throwing', () => {
      const payload: Record<string, unknown> = { git_repo: REPO, app_description: DESCRIPTION };
      payload.self = payload;

      const result = dispatch(payload);

      expect(replyOf(result).code).toBe('request-malformed');
    });
  });
});
