import {
  authorize,
  isBotSender,
  repoAllowed,
  repoNameFromUrl,
} from '../../../src/commands/authorize.js';
import type { AuthorizeInput, CommandAction } from '../../../src/commands/authorize.js';
import { defaultResolvedConfig } from '../../../src/config.js';
import type { ResolvedConfig } from '../../../src/config.js';
import { parseCommand } from '../../../src/request/index.js';
import { REPO_PERMISSIONS } from '../../../src/scm/scm.js';
import type { RepoName, RepoPermission } from '../../../src/scm/scm.js';

const THREAD: RepoName = { owner: 'acme', repo: 'shop' };
const ACTIONS: CommandAction[] = ['provision', 'approve', 'reject', 'status', 'help'];

interface Settings {
  minPermission?: RepoPermission;
  users?: string[];
  approvalsMinPermission?: RepoPermission;
  allowedRepos?: string[];
}

function configWith(settings: Settings = {}): ResolvedConfig {
  const config = defaultResolvedConfig();
  if (settings.minPermission !== undefined) config.access.minPermission = settings.minPermission;
  if (settings.users !== undefined) config.access.users = settings.users;
  if (settings.approvalsMinPermission !== undefined) {
    config.approvals.minPermission = settings.approvalsMinPermission;
  }
  if (settings.allowedRepos !== undefined) config.allowedRepos = settings.allowedRepos;
  return config;
}

function inputOf(
  overrides: Partial<AuthorizeInput> & { settings?: Settings } = {},
): AuthorizeInput {
  const { settings, ...rest } = overrides;
  return {
    sender: { login: 'alice', type: 'User' },
    permission: 'write',
    config: configWith(settings),
    threadRepo: THREAD,
    targetRepo: THREAD,
    action: 'provision',
    ...rest,
  };
}

function messageOf(result: ReturnType<typeof authorize>): string {
  if (result.kind !== 'refused') throw new Error(`expected a refusal, got ${result.kind}`);
  return result.userMessage;
}

describe('commands/authorize', () => {
  describe('authorize: bots', () => {
    const bots: [string, AuthorizeInput['sender']][] = [
      ['type Bot', { login: 'renovate', type: 'Bot' }],
      ['a [bot] login sent as a User', { login: 'dependabot[bot]', type: 'User' }],
      ['a [BOT] login in capitals', { login: 'Ai-Provision[BOT]', type: 'User' }],
    ];
    const cases = bots.flatMap(([name, sender]) =>
      ACTIONS.map((action) => [name, action, sender] as const),
    );

    it.each(cases)('%s is ignored for %s, even as admin', (_name, action, sender) => {
      const input = inputOf({ sender, action, permission: 'admin' });

      const result = authorize(input);

      expect(result).toEqual({ kind: 'ignored', why: expect.stringContaining(sender.login) });
    });

    it.each<[AuthorizeInput['sender'], boolean]>([
      [{ login: 'renovate', type: 'Bot' }, true],
      [{ login: 'dependabot[bot]', type: 'User' }, true],
      [{ login: 'x[Bot]', type: 'User' }, true],
      [{ login: 'alice', type: 'User' }, false],
      [{ login: 'bot', type: 'User' }, false],
      [{ login: 'robot-[bot]-fan', type: 'User' }, false],
      [{ login: 'acme', type: 'Organization' }, false],
    ])('isBotSender(%o) → %s', (sender, expected) => {
      const result = isBotSender(sender);

      expect(result).toBe(expected);
    });

    it('a bot listed nowhere and without access is still ignored, never answered', () => {
      const input = inputOf({
        sender: { login: 'helper[bot]', type: 'Bot' },
        permission: 'none',
        targetRepo: { owner: 'other', repo: 'thing' },
      });

      const result = authorize(input);

      expect(result.kind).toBe('ignored');
    });
  });

  describe('authorize: roles with the default configuration', () => {
    // The weakest role each action accepts by default.
    const weakest: Record<CommandAction, RepoPermission> = {
      help: 'read',
      status: 'read',
      provision: 'write',
      approve: 'maintain',
      reject: 'maintain',
    };
    const cases = ACTIONS.flatMap((action) =>
      REPO_PERMISSIONS.map(
        (permission) =>
          [
            action,
            permission,
            REPO_PERMISSIONS.indexOf(permission) >= REPO_PERMISSIONS.indexOf(weakest[action])
              ? 'allowed'
              : 'refused',
          ] as const,
      ),
    );

    it.each(cases)('%s with %s → %s', (action, permission, expected) => {
      const input = inputOf({ action, permission });

      const result = authorize(input);

      expect(result.kind).toBe(expected);
      if (result.kind === 'refused') expect(result.code).toBe('permission-denied');
    });
  });

  describe('authorize: what a refusal says', () => {
    it('provision below access.min_permission names both roles and the key to lower', () => {
      const input = inputOf({ permission: 'triage' });

      const message = messageOf(authorize(input));

      expect(message).toBe(
        '@alice, `/ai-provision provision` needs at least the `write` role on `acme/shop`, and GitHub reports `triage` for you, so nothing was done.\n\n' +
          'A maintainer can give you a higher role, or lower the role needed to ask for a sizing with `access.min_permission` in `.github/ai-provision.yml`.',
      );
    });

    it.each(['approve', 'reject'] as const)(
      '%s below approvals.min_permission names approvals.min_permission',
      (action) => {
        const input = inputOf({ action, permission: 'write' });

        const message = messageOf(authorize(input));

        expect(message).toContain(`\`/ai-provision ${action}\` needs at least the \`maintain\``);
        expect(message).toContain('GitHub reports `write` for you');
        expect(message).toContain('`approvals.min_permission` in `.github/ai-provision.yml`');
        expect(message).not.toContain('access.min_permission');
      },
    );

    it.each(['help', 'status'] as const)(
      '%s without read access asks for read access',
      (action) => {
        const input = inputOf({ action, permission: 'none' });

        const message = messageOf(authorize(input));

        expect(message).toContain('needs at least the `read` role');
        expect(message).toContain('GitHub reports `none` for you');
        expect(message).toContain('Ask a maintainer of `acme/shop` for read access.');
      },
    );

    it.each(ACTIONS)('the reply to %s cannot itself be read as a command', (action) => {
      const message = messageOf(authorize(inputOf({ action, permission: 'none' })));

      const parsed = parseCommand(message, { origin: { kind: 'comment', requestedBy: 'bot' } });

      expect(parsed).toEqual({ kind: 'ignore' });
    });
  });

  describe('authorize: configured roles', () => {
    it.each<[string, Settings, CommandAction, RepoPermission, 'allowed' | 'refused']>([
      [
        'access lowered to triage lets triage ask',
        { minPermission: 'triage' },
        'provision',
        'triage',
        'allowed',
      ],
      [
        'access lowered to triage still refuses read',
        { minPermission: 'triage' },
        'provision',
        'read',
        'refused',
      ],
      [
        'access raised to admin refuses maintain',
        { minPermission: 'admin' },
        'provision',
        'maintain',
        'refused',
      ],
      ['access "none" lets anyone ask', { minPermission: 'none' }, 'provision', 'none', 'allowed'],
      ['access "none" lets anyone read help', { minPermission: 'none' }, 'help', 'none', 'allowed'],
      [
        'access "none" lets anyone read status',
        { minPermission: 'none' },
        'status',
        'none',
        'allowed',
      ],
      [
        'access raised to admin does not raise help',
        { minPermission: 'admin' },
        'help',
        'read',
        'allowed',
      ],
      [
        'approvals lowered to write lets write approve',
        { approvalsMinPermission: 'write' },
        'approve',
        'write',
        'allowed',
      ],
      [
        'approvals lowered to write still refuses triage',
        { approvalsMinPermission: 'write' },
        'reject',
        'triage',
        'refused',
      ],
      [
        'approvals raised to admin refuses maintain',
        { approvalsMinPermission: 'admin' },
        'approve',
        'maintain',
        'refused',
      ],
      [
        'a low access role does not lower approvals',
        { minPermission: 'read' },
        'approve',
        'write',
        'refused',
      ],
    ])('%s', (_name, settings, action, permission, expected) => {
      const input = inputOf({ settings, action, permission });

      const result = authorize(input);

      expect(result.kind).toBe(expected);
    });
  });

  describe('authorize: access.users', () => {
    it.each<[string, string[], string, RepoPermission, string]>([
      ['a listed login', ['bob', 'alice'], 'alice', 'write', 'allowed'],
      ['a listed login in other case', ['Alice'], 'ALICE', 'write', 'allowed'],
      ['an unlisted login', ['bob'], 'alice', 'admin', 'refused'],
      ['a login that only starts like a listed one', ['alice'], 'alice2', 'admin', 'refused'],
      ['a listed login below min_permission', ['alice'], 'alice', 'read', 'refused'],
      ['anyone with the role when the list is empty', [], 'zoe', 'write', 'allowed'],
    ])('%s → %s', (_name, users, login, permission, expected) => {
      const input = inputOf({ settings: { users }, sender: { login, type: 'User' }, permission });

      const result = authorize(input);

      expect(result.kind).toBe(expected);
      if (result.kind === 'refused') expect(result.code).toBe('permission-denied');
    });

    it('an unlisted login is told the exact lines a maintainer adds', () => {
      const input = inputOf({ settings: { users: ['bob'] }, permission: 'admin' });

      const message = messageOf(authorize(input));

      expect(message).toContain('only the people listed under `access.users`');
      expect(message).toContain('`.github/ai-provision.yml` of `acme/shop`');
      expect(message).toContain('```yaml\naccess:\n  users:\n    - alice\n```');
    });

    it.each(['help', 'status', 'approve', 'reject'] as const)(
      'the list does not restrict %s',
      (action) => {
        const input = inputOf({ settings: { users: ['bob'] }, action, permission: 'admin' });

        const result = authorize(input);

        expect(result).toEqual({ kind: 'allowed' });
      },
    );
  });

  describe('authorize: the repository git_repo names', () => {
    it.each<[string, RepoName | undefined, string[], string]>([
      ['the thread repository', THREAD, [], 'allowed'],
      ['the thread repository in other case', { owner: 'ACME', repo: 'Shop' }, [], 'allowed'],
      ['another repository, nothing allowed', { owner: 'acme', repo: 'web' }, [], 'refused'],
      ['another repository, listed', { owner: 'acme', repo: 'web' }, ['acme/web'], 'allowed'],
      ['listed in other case', { owner: 'Acme', repo: 'WEB' }, ['acme/web'], 'allowed'],
      ['every repository of its owner', { owner: 'acme', repo: 'web' }, ['acme/*'], 'allowed'],
      ['another owner with owner/*', { owner: 'evil', repo: 'web' }, ['acme/*'], 'refused'],
      ['a different name listed', { owner: 'acme', repo: 'web2' }, ['acme/web'], 'refused'],
      ['no target (a request that did not parse)', undefined, [], 'allowed'],
    ])('%s → %s', (_name, targetRepo, allowedRepos, expected) => {
      const input = inputOf({ targetRepo, settings: { allowedRepos } });

      const result = authorize(input);

      expect(result.kind).toBe(expected);
      if (result.kind === 'refused') expect(result.code).toBe('repo-not-allowed');
    });

    it('a refusal names the exact allowed_repos line to add', () => {
      const input = inputOf({ targetRepo: { owner: 'Acme', repo: 'Web.Site' } });

      const message = messageOf(authorize(input));

      expect(message).toContain('`git_repo` names `Acme/Web.Site`');
      expect(message).toContain('```yaml\nallowed_repos:\n  - Acme/Web.Site\n```');
      expect(message).toContain('`Acme/*` instead would allow every repository of `Acme`');
      expect(message).toContain('`.github/ai-provision.yml`');
    });

    it('permission is checked before the target, so strangers learn nothing about allowed_repos', () => {
      const input = inputOf({ permission: 'read', targetRepo: { owner: 'x', repo: 'y' } });

      const result = authorize(input);

      expect(result).toMatchObject({ kind: 'refused', code: 'permission-denied' });
    });

    it.each(['help', 'status', 'approve', 'reject'] as const)('%s ignores the target', (action) => {
      const input = inputOf({ action, permission: 'admin', targetRepo: { owner: 'x', repo: 'y' } });

      const result = authorize(input);

      expect(result).toEqual({ kind: 'allowed' });
    });
  });

  describe('repoNameFromUrl', () => {
    it.each<[string, string, RepoName | undefined]>([
      ['plain', 'https://github.com/acme/shop', { owner: 'acme', repo: 'shop' }],
      ['.git suffix', 'https://github.com/acme/shop.git', { owner: 'acme', repo: 'shop' }],
      ['.GIT suffix', 'https://github.com/acme/shop.GIT', { owner: 'acme', repo: 'shop' }],
      ['trailing slash', 'https://github.com/acme/shop/', { owner: 'acme', repo: 'shop' }],
      [
        '.git and a trailing slash',
        'https://github.com/acme/shop.git/',
        { owner: 'acme', repo: 'shop' },
      ],
      ['case kept', 'https://GitHub.com/Acme/Shop', { owner: 'Acme', repo: 'Shop' }],
      [
        'dots and underscores in the name',
        'https://github.com/acme/my_app.v2',
        { owner: 'acme', repo: 'my_app.v2' },
      ],
      ['the default port', 'https://github.com:443/acme/shop', { owner: 'acme', repo: 'shop' }],
      ['surrounding spaces', '  https://github.com/acme/shop \n', { owner: 'acme', repo: 'shop' }],
      ['www. (validateRepoUrl refuses that host)', 'https://www.github.com/acme/shop', undefined],
      ['another host', 'https://gitlab.com/acme/shop', undefined],
      ['a host that ends like GitHub', 'https://evilgithub.com/acme/shop', undefined],
      ['http', 'http://github.com/acme/shop', undefined],
      ['ssh', 'git@github.com:acme/shop.git', undefined],
      ['credentials', 'https://token@github.com/acme/shop', undefined],
      ['another port', 'https://github.com:8443/acme/shop', undefined],
      ['a branch path', 'https://github.com/acme/shop/tree/main', undefined],
      ['owner only', 'https://github.com/acme', undefined],
      ['a double slash', 'https://github.com//acme/shop', undefined],
      ['a query', 'https://github.com/acme/shop?tab=readme', undefined],
      ['a fragment', 'https://github.com/acme/shop#readme', undefined],
      ['a backslash', 'https://github.com/acme\\shop', undefined],
      ['only .git as the name', 'https://github.com/acme/.git', undefined],
      ['".." as the name', 'https://github.com/acme/..', undefined],
      ['an owner with an underscore', 'https://github.com/ac_me/shop', undefined],
      ['an encoded character', 'https://github.com/acme/sh%20op', undefined],
      ['not a URL', 'acme/shop', undefined],
      ['empty', '', undefined],
    ])('%s', (_name, url, expected) => {
      const result = repoNameFromUrl(url);

      expect(result).toEqual(expected);
    });

    it.each<[string, string, string, RepoName | undefined]>([
      [
        'GitHub Enterprise',
        'https://git.example.com/acme/shop',
        'git.example.com',
        { owner: 'acme', repo: 'shop' },
      ],
      [
        'a host in capitals',
        'https://git.example.com/acme/shop',
        'GIT.Example.com',
        { owner: 'acme', repo: 'shop' },
      ],
      [
        'a host with a port',
        'https://ghe.test:8443/acme/shop',
        'ghe.test:8443',
        { owner: 'acme', repo: 'shop' },
      ],
      [
        'github.com when the host is GHE',
        'https://github.com/acme/shop',
        'git.example.com',
        undefined,
      ],
    ])('another host: %s', (_name, url, host, expected) => {
      const result = repoNameFromUrl(url, host);

      expect(result).toEqual(expected);
    });
  });

  describe('repoAllowed', () => {
    it.each<[string, RepoName, string[], boolean]>([
      ['the thread itself, empty list', { owner: 'acme', repo: 'shop' }, [], true],
      ['the thread itself in other case', { owner: 'ACME', repo: 'SHOP' }, [], true],
      ['same name, other owner', { owner: 'other', repo: 'shop' }, [], false],
      ['listed', { owner: 'acme', repo: 'web' }, ['acme/api', 'acme/web'], true],
      ['listed in other case', { owner: 'acme', repo: 'web' }, ['ACME/Web'], true],
      ['owner/*', { owner: 'acme', repo: 'anything' }, ['acme/*'], true],
      ['owner/* in other case', { owner: 'ACME', repo: 'x' }, ['acme/*'], true],
      ['another owner', { owner: 'acme2', repo: 'web' }, ['acme/*', 'acme/web'], false],
      [
        'a name that merely contains a listed one',
        { owner: 'acme', repo: 'web-old' },
        ['acme/web'],
        false,
      ],
      ['a pattern without a slash', { owner: 'acme', repo: 'web' }, ['acme'], false],
    ])('%s → %s', (_name, target, allowedRepos, expected) => {
      const result = repoAllowed(target, THREAD, allowedRepos);

      expect(result).toBe(expected);
    });
  });
});
