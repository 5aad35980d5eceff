import {
  DEFAULT_ALLOWED_HOSTS,
  blockedHostKind,
  validateRepoUrl,
} from '../../../src/request/validate-repo-url.js';
import type { RepoUrlOptions } from '../../../src/request/validate-repo-url.js';

const COMMENT: RepoUrlOptions = { allowLocalPath: false };
const CLI: RepoUrlOptions = { allowLocalPath: true };

describe('request/validate-repo-url', () => {
  it('allows only github.com by default', () => {
    expect(DEFAULT_ALLOWED_HOSTS).toEqual(['github.com']);
  });

  describe('accepted URLs are normalised', () => {
    it.each([
      ['https://github.com/myorg/shop', 'https://github.com/myorg/shop', 'myorg', 'shop'],
      ['https://github.com/myorg/shop.git', 'https://github.com/myorg/shop', 'myorg', 'shop'],
      ['https://github.com/myorg/shop/', 'https://github.com/myorg/shop', 'myorg', 'shop'],
      ['https://github.com/myorg/shop.git/', 'https://github.com/myorg/shop', 'myorg', 'shop'],
      ['  https://GitHub.com/MyOrg/Shop  ', 'https://github.com/MyOrg/Shop', 'MyOrg', 'Shop'],
      ['HTTPS://github.com/a/b', 'https://github.com/a/b', 'a', 'b'],
      ['https://github.com./a/b', 'https://github.com/a/b', 'a', 'b'],
      [
        'https://github.com/my-org/my_repo.v2',
        'https://github.com/my-org/my_repo.v2',
        'my-org',
        'my_repo.v2',
      ],
    ])('%s', (input, url, owner, name) => {
      const result = validateRepoUrl(input, COMMENT);

      expect(result).toEqual({ kind: 'url', url, host: 'github.com', owner, name });
    });

    it.each([
      ['https://gitlab.example.com/group/sub/repo', 'group/sub', 'repo'],
      ['https://GITLAB.example.com/group/repo.git', 'group', 'repo'],
    ])('other allowed hosts keep nested groups: %s', (input, owner, name) => {
      const options = { allowLocalPath: false, allowedHosts: ['GitLab.Example.com'] };

      const result = validateRepoUrl(input, options);

      expect(result).toMatchObject({ kind: 'url', host: 'gitlab.example.com', owner, name });
    });

    it('accepts a public IP literal someone allowed on purpose', () => {
      const options = { allowLocalPath: false, allowedHosts: ['140.82.112.3'] };

      const result = validateRepoUrl('https://140.82.112.3/o/r', options);

      expect(result).toMatchObject({ kind: 'url', host: '140.82.112.3' });
    });
  });

  describe('rejections say why, in words', () => {
    it.each([
      ['', /empty/],
      ['https://github.com/a/b c', /spaces/],
      ['http://github.com/a/b', /http:\/\/.*not encrypted/],
      ['file:///etc/passwd', /file:\/\//],
      ['ssh://git@github.com/a/b.git', /ssh:\/\//],
      ['git://github.com/a/b.git', /git:\/\//],
      ['ftp://github.com/a/b', /only read repositories over https/],
      ['git@github.com:a/b.git', /SSH address/],
      ['github.com:a/b', /SSH address/],
      ['github.com/a/b', /no https:\/\//],
      ['https://user:secret@github.com/a/b', /password or token/],
      ['https://ghp_token@github.com/a/b', /password or token/],
      ['https://github.com@evil.example/a/b', /password or token/],
      ['http://user:pw@github.com/a/b', /password or token/],
      ['https://github.com/a/b?tab=readme', /query/],
      ['https://github.com/a/b#readme', /fragment/],
      ['https://github.com/a/b?', /query/],
      ['https://gitlab.com/a/b', /gitlab\.com.*not on the list.*github\.com/],
      ['https://github.com.evil.example/a/b', /not on the list/],
      ['https://github.com/a', /OWNER\/REPOSITORY/],
      ['https://github.com/', /does not name a repository/],
      ['https://github.com/a/b/tree/main', /put a branch in `ref`/],
      ['https://github.com/a/%2e%2e', /does not name a repository/],
      ['https:\\\\github.com\\a\\b', /not a valid/],
      ['https://', /not a valid/],
      ['mailto:someone', /not a valid/],
    ])('%p', (input, reason) => {
      const result = validateRepoUrl(input, COMMENT);

      expect(result.kind).toBe('rejected');
      expect(result.kind === 'rejected' && result.reason).toMatch(reason);
    });

    it.each([
      ['git@github.com:myorg/shop.git', 'https://github.com/myorg/shop'],
      ['ssh://git@github.com/myorg/shop.git', 'https://github.com/myorg/shop'],
      ['http://github.com/myorg/shop', 'https://github.com/myorg/shop'],
      ['http://u:p@github.com/myorg/shop', 'https://github.com/myorg/shop'],
      ['https://token@github.com/myorg/shop', 'https://github.com/myorg/shop'],
      ['github.com/myorg/shop', 'https://github.com/myorg/shop'],
      ['https://github.com/myorg/shop?tab=x', 'https://github.com/myorg/shop'],
      ['https://github.com/myorg/shop/tree/main/src', 'https://github.com/myorg/shop'],
    ])('suggests a fix that itself passes: %s', (input, suggestion) => {
      const result = validateRepoUrl(input, COMMENT);

      expect(result).toMatchObject({ kind: 'rejected', suggestion });
    });

    it.each(['git@gitlab.com:a/b.git', 'http://localhost/a/b', 'file:///srv/repo'])(
      'offers no fix that would be refused too: %s',
      (input) => {
        const result = validateRepoUrl(input, COMMENT);

        expect(result.kind).toBe('rejected');
        expect(result).not.toHaveProperty('suggestion');
      },
    );
  });

  describe('never reaches this machine or a private network, even when allow-listed', () => {
    it.each([
      ['localhost', 'https://localhost/a/b', 'this machine'],
      ['*.localhost', 'https://repo.localhost/a/b', 'this machine'],
      ['loopback', 'https://127.0.0.1/a/b', 'a loopback address'],
      ['loopback /8', 'https://127.10.20.30/a/b', 'a loopback address'],
      ['decimal loopback', 'https://2130706433/a/b', 'a loopback address'],
      ['hex loopback', 'https://0x7f.1/a/b', 'a loopback address'],
      ['unspecified', 'https://0.0.0.0/a/b', 'an unspecified address'],
      ['10/8', 'https://10.1.2.3/a/b', 'a private network address'],
      ['172.16/12', 'https://172.16.5.4/a/b', 'a private network address'],
      ['172.31', 'https://172.31.255.1/a/b', 'a private network address'],
      ['192.168/16', 'https://192.168.1.1/a/b', 'a private network address'],
      ['cloud metadata', 'https://169.254.169.254/a/b', 'a link-local address'],
      ['IPv6 loopback', 'https://[::1]/a/b', 'a loopback address'],
      ['IPv6 unspecified', 'https://[::]/a/b', 'an unspecified address'],
      ['IPv6 link-local', 'https://[fe80::1]/a/b', 'a link-local address'],
      ['IPv6 unique local', 'https://[fd12:3456::1]/a/b', 'a private network address'],
      ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/a/b', 'a loopback address'],
      ['IPv4-mapped private', 'https://[::ffff:10.0.0.1]/a/b', 'a private network address'],
      ['IPv4-mapped metadata', 'https://[::ffff:a9fe:a9fe]/a/b', 'a link-local address'],
    ])('%s', (_name, input, what) => {
      const host = new URL(input).hostname;
      const options = { allowLocalPath: false, allowedHosts: [host, 'github.com'] };

      const result = validateRepoUrl(input, options);

      expect(result.kind).toBe('rejected');
      expect(result.kind === 'rejected' && result.reason).toContain(what);
    });

    it.each([
      ['github.com', undefined],
      ['8.8.8.8', undefined],
      ['172.32.0.1', undefined],
      ['[2606:4700::1111]', undefined],
      ['LOCALHOST', 'this machine'],
      ['localhost.', 'this machine'],
      ['100.64.0.1', 'a private network address'],
      ['224.0.0.1', 'a reserved address'],
      ['[ff02::1]', 'a reserved address'],
      ['[::127.0.0.1]', 'a loopback address'],
      ['[64:ff9b::192.168.0.1]', 'a private network address'],
      ['[fec0::1]', 'a private network address'],
      ['[not:an:ip::::]', 'a reserved address'],
    ])('blockedHostKind(%p) = %p', (host, expected) => {
      const kind = blockedHostKind(host);

      expect(kind).toBe(expected);
    });
  });

  describe('local paths are for the command line only', () => {
    it.each([
      '/srv/repos/shop',
      './shop',
      '../shop',
      '.',
      '~/code/shop',
      'examples/node-api',
      'C:\\code\\shop',
    ])('CLI accepts %p', (input) => {
      const result = validateRepoUrl(input, CLI);

      expect(result).toEqual({ kind: 'path', path: input });
    });

    it.each(['/srv/repos/shop', './shop', '../shop', 'examples/node-api'])(
      'a comment refuses %p and says where paths work',
      (input) => {
        const result = validateRepoUrl(input, COMMENT);

        expect(result.kind).toBe('rejected');
        expect(result.kind === 'rejected' && result.reason).toMatch(/command line/);
      },
    );

    it.each(['file:///srv/repo', 'github.com/a/b'])(
      'the CLI still refuses the URL-like %p',
      (input) => {
        const result = validateRepoUrl(input, CLI);

        expect(result.kind).toBe('rejected');
      },
    );
  });
});
