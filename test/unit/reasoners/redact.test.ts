import { redactSecrets, secretKind } from '../../../src/reasoners/llm/redact.js';

// Fake secrets assembled at run time, so no scanner mistakes this file for a leak.
const repeat = (unit: string, n: number): string => unit.repeat(n);
const GITHUB = `ghp_${repeat('aB3d', 9)}`;
const GITHUB_PAT = `github_pat_${repeat('A1b2', 6)}_${repeat('x9Y8', 15)}`;
const ANTHROPIC = `sk-ant-api03-${repeat('Ab9_', 24)}`;
const OPENAI = `sk-${repeat('Zq7W', 12)}`;
const OPENAI_PROJECT = `sk-proj-${repeat('Q1w_E2r-', 10)}`;
const SLACK = `xoxb-${repeat('1234', 3)}-${repeat('aBcD', 6)}`;
const GOOGLE = `AIza${repeat('Sy0_b', 7)}`;
const STRIPE = `sk_live_${repeat('4eC3', 6)}`;
const STRIPE_RESTRICTED = `rk_live_${repeat('9zX1', 6)}`;
const AWS_ID = `AKIA${repeat('IOSF', 4)}`;
const AWS_STS_ID = `ASIA${repeat('Q2W3', 4)}`;
const AWS_SECRET = repeat('wJalrXUtnFEMI/K7MDENG+bPxRfiCY', 2).slice(0, 40);
const JWT = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${repeat('dozjgNryP4J3', 3)}`;
const PEM = [
  '-----BEGIN RSA PRIVATE KEY-----',
  repeat('MIIEowIBAAKCAQEA', 4),
  repeat('q83vEjNFZ4mrze8S', 4),
  '-----END RSA PRIVATE KEY-----',
].join('\n');

function redacted(text: string): string {
  return redactSecrets(text).text;
}

describe('reasoners/llm/redact', () => {
  describe('tokens recognisable by their shape', () => {
    it.each([
      ['private-key', `key:\n${PEM}\nafter`, PEM],
      ['aws-access-key-id', `id ${AWS_ID} here`, AWS_ID],
      ['aws-access-key-id', `id ${AWS_STS_ID} here`, AWS_STS_ID],
      ['aws-secret-access-key', `aws_secret_access_key = ${AWS_SECRET}`, AWS_SECRET],
      ['github-token', `token ${GITHUB} end`, GITHUB],
      ['github-token', `pat ${GITHUB_PAT} end`, GITHUB_PAT],
      ['anthropic-key', `key ${ANTHROPIC} end`, ANTHROPIC],
      ['openai-key', `key ${OPENAI} end`, OPENAI],
      ['openai-key', `key ${OPENAI_PROJECT} end`, OPENAI_PROJECT],
      ['slack-token', `slack ${SLACK} end`, SLACK],
      ['google-api-key', `maps ${GOOGLE} end`, GOOGLE],
      ['stripe-key', `stripe ${STRIPE} end`, STRIPE],
      ['stripe-key', `stripe ${STRIPE_RESTRICTED} end`, STRIPE_RESTRICTED],
      ['jwt', `cookie ${JWT} end`, JWT],
    ])('redacts a %s', (kind, text, secret) => {
      const result = redactSecrets(text);

      expect(result.text).toContain(`[REDACTED:${kind}]`);
      expect(result.text).not.toContain(secret);
      expect(result.count).toBe(1);
    });

    it('keeps the words around a token', () => {
      expect(redacted(`Authorization uses ${GITHUB} today.`)).toBe(
        'Authorization uses [REDACTED:github-token] today.',
      );
    });

    it('redacts a private key block whose END line is missing, with its base64 lines', () => {
      const truncated = PEM.split('\n').slice(0, 3).join('\n');

      const result = redactSecrets(`${truncated}\nnext: line`);

      expect(result.text).toBe('[REDACTED:private-key]\nnext: line');
      expect(result.count).toBe(1);
    });

    it('redacts only the password of a URL with credentials', () => {
      const result = redactSecrets('DATABASE_URL=postgres://app:pa55-w0rd@db:5432/app');

      expect(result.text).toBe('DATABASE_URL=postgres://app:[REDACTED:url-password]@db:5432/app');
      expect(result.count).toBe(1);
    });

    it('counts every secret of a text', () => {
      const result = redactSecrets(`${GITHUB}\n${SLACK}\n${JWT}\nPASSWORD=hunter2`);

      expect(result.count).toBe(4);
    });
  });

  describe('values of secret-looking names', () => {
    it.each([
      ['DB_PASSWORD=hunter2', 'DB_PASSWORD=[REDACTED:password]'],
      [
        'export MYSQL_ROOT_PASSWORD="two words"',
        'export MYSQL_ROOT_PASSWORD="[REDACTED:password]"',
      ],
      ['spring.datasource.password = s3cr3t', 'spring.datasource.password = [REDACTED:password]'],
      ['password: correct horse battery # rotate', 'password: [REDACTED:password] # rotate'],
      ['  client_secret: abc123', '  client_secret: [REDACTED:secret]'],
      ['SECRET_KEY_BASE=abcdef', 'SECRET_KEY_BASE=[REDACTED:secret]'],
      ['API_KEY=k-123', 'API_KEY=[REDACTED:api-key]'],
      ['apiKey: k-123', 'apiKey: [REDACTED:api-key]'],
      ['X-Api-Key: k-123', 'X-Api-Key: [REDACTED:api-key]'],
      ['AUTH_TOKEN=t-1', 'AUTH_TOKEN=[REDACTED:token]'],
      ['ACCESS_KEY=ak', 'ACCESS_KEY=[REDACTED:secret]'],
      ['private_key: pk', 'private_key: [REDACTED:secret]'],
      ['CREDENTIALS=user:pw', 'CREDENTIALS=[REDACTED:credentials]'],
      ['BASIC_AUTH=user:pw', 'BASIC_AUTH=[REDACTED:auth]'],
      ['Authorization: Basic dXNlcjpwdw==', 'Authorization: [REDACTED:auth]'],
      ['{"password": "p", "user": "bob"}', '{"password": "[REDACTED:password]", "user": "bob"}'],
      ["{'token': 'tk'}", "{'token': '[REDACTED:token]'}"],
      ['{"Passwd":"p1"}', '{"Passwd":"[REDACTED:password]"}'],
      ['run --password s3cret --port 80', 'run --password [REDACTED:password] --port 80'],
      ['run --db-password=s3cret', 'run --db-password=[REDACTED:password]'],
      ['run --token "a b"', 'run --token "[REDACTED:token]"'],
      [
        'env:\n- name: DB_PASSWORD\n  value: hunter2\n- name: HOST\n  value: db',
        'env:\n- name: DB_PASSWORD\n  value: [REDACTED:password]\n- name: HOST\n  value: db',
      ],
      [
        '{"name": "API_TOKEN", "value": "zzz"}',
        '{"name": "API_TOKEN", "value": "[REDACTED:token]"}',
      ],
    ])('%s', (text, expected) => {
      const result = redactSecrets(text);

      expect(result.text).toBe(expected);
      expect(result.count).toBe(1);
    });

    it('keeps the kind of a token found inside a named value, counting it once', () => {
      const result = redactSecrets(`Authorization: Bearer ${JWT}`);

      expect(result.text).toBe('Authorization: [REDACTED:jwt]');
      expect(result.count).toBe(1);
    });

    it('classifies names', () => {
      expect(secretKind('DB_PASSWORD')).toBe('password');
      expect(secretKind('dbPassword')).toBe('password');
      expect(secretKind('GITHUB_TOKEN')).toBe('token');
      expect(secretKind('password_min_length')).toBeUndefined();
      expect(secretKind('secretName')).toBeUndefined();
      expect(secretKind('tokenizer')).toBeUndefined();
      expect(secretKind('author')).toBeUndefined();
      expect(secretKind('PWD')).toBeUndefined();
    });
  });

  describe('harmless look-alikes are kept', () => {
    it.each([
      'password_min_length: 8',
      'PASSWORD_LENGTH=12',
      'TOKEN_TTL: 3600',
      'REDIS_PASSWORD=',
      'password:',
      'auth_enabled: true',
      'REQUIRE_PASSWORD=false',
      'DB_PASSWORD=${DB_PASSWORD}',
      'DB_PASSWORD=$DB_PASSWORD',
      'TOKEN=$(cat /run/secrets/token)',
      'password: {{ .Values.db.password }}',
      'POSTGRES_PASSWORD_FILE=/run/secrets/db',
      'GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/google/key.json',
      'private_key: |',
      'secretName: db-credentials',
      'tokenizer: bert-base',
      'if password == "x" {',
      'resources: {requests: {cpu: 250m, memory: 512Mi}, limits: {memory: 1Gi}}',
      `image: nginx@sha256:${repeat('0123456789abcdef', 4)}`,
      `commit ${repeat('3f2a9c0e1b', 4)} fixed the build`,
      'PWD=/home/app',
      'pip install sk-learn-compatible-estimators-and-more',
      'AKIA is how AWS key ids start',
      'the author: Jane',
    ])('%s', (text) => {
      expect(redactSecrets(text)).toEqual({ text, count: 0 });
    });
  });

  describe('JSON text (a serialised context bundle)', () => {
    const bundle = {
      hints: {
        healthcheck: `curl -H 'Authorization: Bearer ${GITHUB}' localhost/health`,
        existing: 'env:\n- name: DB_PASSWORD\n  value: hunter2\npassword: s3cr3t\nport: 80',
      },
      ends: 'the password: ',
      next: 'kept',
      cmd: 'run --password "abc" PASSWORD="q" x',
      key: PEM,
      nested: JSON.stringify({ token: 'xyz', user: 'bob' }),
    };

    it('stays valid JSON with every secret gone', () => {
      const text = JSON.stringify(bundle, null, 2);

      const result = redactSecrets(text);
      const parsed = JSON.parse(result.text) as typeof bundle;

      for (const secret of [GITHUB, 'hunter2', 's3cr3t', '"abc"', '"q"', 'xyz', PEM]) {
        expect(result.text).not.toContain(secret);
      }
      expect(parsed.next).toBe('kept');
      expect(parsed.ends).toBe('the password: ');
      expect(parsed.hints.existing).toBe(
        'env:\n- name: DB_PASSWORD\n  value: [REDACTED:password]\npassword: [REDACTED:password]\nport: 80',
      );
      expect(JSON.parse(parsed.nested)).toEqual({ token: '[REDACTED:token]', user: 'bob' });
      expect(result.count).toBe(7);
    });
  });

  describe('idempotence', () => {
    it('redacting twice gives the same text and counts nothing new', () => {
      const text = [
        PEM,
        `${GITHUB} ${SLACK} ${JWT} ${GOOGLE} ${OPENAI} ${ANTHROPIC} ${STRIPE} ${AWS_ID}`,
        `aws_secret_access_key=${AWS_SECRET}`,
        'https://u:p@host/x',
        'DB_PASSWORD=hunter2',
        'password: a b c',
        '{"token": "t", "api_key": "k"}',
        '--password x',
        '- name: SECRET\n  value: v',
        `Authorization: Bearer ${JWT}`,
        JSON.stringify({ s: 'password: x\nTOKEN=y' }),
      ].join('\n');

      const once = redactSecrets(text);
      const twice = redactSecrets(once.text);

      expect(once.count).toBeGreaterThanOrEqual(17);
      expect(twice).toEqual({ text: once.text, count: 0 });
    });
  });

  describe('long inputs', () => {
    const MIB = 2 ** 20;
    const fast = (text: string): number => {
      const started = performance.now();
      redactSecrets(text);
      return performance.now() - started;
    };

    it('redacts a 1 MB realistic input quickly', () => {
      const chunk = [
        'DB_PASSWORD=hunter2',
        `image: nginx@sha256:${repeat('ab', 32)}`,
        'memory: 512Mi',
        `token: ${GITHUB}`,
        'some prose about the service, its port 8080 and its workers',
        '',
      ].join('\n');
      const text = chunk.repeat(Math.ceil(MIB / chunk.length));

      const started = performance.now();
      const result = redactSecrets(text);
      const ms = performance.now() - started;

      expect(result.text).not.toContain('hunter2');
      expect(result.count).toBe(2 * Math.ceil(MIB / chunk.length));
      expect(ms).toBeLessThan(3000);
    });

    it.each([
      ['one long word', repeat('a', MIB)],
      ['JWT-like runs', repeat('eyJ-', MIB / 4)],
      ['BEGINs without END', repeat('-----BEGIN RSA PRIVATE KEY-----\n', MIB / 32)],
      ['unterminated quotes', repeat('password="', MIB / 10)],
      ['names without values', repeat('name: DB_PASSWORD\n', MIB / 18)],
      ['URL prefixes', repeat('http://a:', MIB / 9)],
      ['a long line of words', `password:${repeat(' x', MIB / 2)}`],
    ])('stays linear on adversarial input: %s', (_name, text) => {
      expect(fast(text)).toBeLessThan(3000);
    });
  });
});
