import { readFileSync } from 'node:fs';
import { RepoConfig, defaultResolvedConfig, loadRepoConfig } from '../../src/config.js';
import type { RepoConfigResult, ResolvedConfig } from '../../src/config.js';

const FILE = '.github/ai-provision.yml';

function configOf(result: RepoConfigResult): ResolvedConfig {
  if (result.kind !== 'ok') throw new Error(`expected a config, got:\n${result.message}`);
  return result.config;
}

function invalidOf(result: RepoConfigResult): Extract<RepoConfigResult, { kind: 'invalid' }> {
  if (result.kind !== 'invalid') throw new Error('expected the file to be refused');
  return result;
}

/** The YAML example in docs/configuration.md, so the documented file is known to load. */
function documentedExample(): string {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const match = /## Example\n\n```yaml\n(?<body>[\s\S]*?)```/.exec(doc);
  if (!match?.groups) throw new Error('no YAML example in docs/configuration.md');
  return match.groups.body!;
}

const MI = 2 ** 20;
const GI = 2 ** 30;

describe('config', () => {
  describe('loadRepoConfig: files that load', () => {
    it.each([
      ['no file', undefined],
      ['an empty file', ''],
      ['only comments', '# nothing configured yet\n\n# policy: later\n'],
      ['sections with no value', 'defaults:\npolicy:\npricing:\n'],
    ])('%s → the defaults', (_name, text) => {
      const result = loadRepoConfig(text);

      expect(configOf(result)).toEqual(defaultResolvedConfig());
    });

    it('the defaults are the documented ones, in product units', () => {
      const config = defaultResolvedConfig();

      expect(config).toEqual({
        defaults: { target: 'kubernetes' },
        output: { path: 'deploy/k8s/{service}/', mode: 'auto' },
        policy: {
          maxContainerCpu: 4000,
          maxContainerMemory: 8 * GI,
          minContainerCpu: 10,
          minContainerMemory: 32 * MI,
          requireMemoryLimit: true,
          cpuLimits: 'none',
          cpuLimitRatio: 2,
          maxReplicas: 20,
          minReplicasProd: 2,
          nodeSize: { cpu: 4000, memory: 16 * GI },
          forbidden: [],
        },
        pricing: { vcpuHour: 0.0445, gibHour: 0.0049225 },
        allowedRepos: [],
        access: { minPermission: 'write', users: [] },
        approvals: { requiredFor: ['apply', 'prod'], minPermission: 'maintain' },
      });
    });

    it('the documented example loads with every field resolved', () => {
      const text = documentedExample();

      const config = configOf(loadRepoConfig(text));

      expect(config).toEqual({
        defaults: { environment: 'prod', namespace: 'shop', target: 'kubernetes' },
        output: { path: 'deploy/k8s/{service}/', mode: 'auto' },
        policy: {
          maxContainerCpu: 2000,
          maxContainerMemory: 4 * GI,
          minContainerCpu: 50,
          minContainerMemory: 64 * MI,
          requireMemoryLimit: true,
          cpuLimits: 'ratio',
          cpuLimitRatio: 2,
          maxReplicas: 10,
          minReplicasProd: 3,
          namespaceQuota: { cpu: 16000, memory: 32 * GI },
          nodeSize: { cpu: 8000, memory: 32 * GI },
          monthlyCostCapUsd: 500,
          forbidden: ['privileged', 'hostNetwork', 'hostPath'],
        },
        pricing: { vcpuHour: 0.0445, gibHour: 0.0049225 },
        allowedRepos: ['myorg/shop-frontend', 'myorg-platform/*'],
        access: { minPermission: 'write', users: ['alice', 'bob-smith'] },
        approvals: { requiredFor: ['apply', 'prod'], minPermission: 'maintain' },
      });
    });

    it.each([
      ['CPU as a number of cores', 'policy:\n  max_container_cpu: 1.5\n', 'maxContainerCpu', 1500],
      ['CPU in millicores', 'policy:\n  max_container_cpu: 750m\n', 'maxContainerCpu', 750],
      [
        'memory in decimal units',
        'policy:\n  max_container_memory: 2G\n',
        'maxContainerMemory',
        2e9,
      ],
      [
        'memory as plain bytes',
        'policy:\n  min_container_memory: 67108864\n',
        'minContainerMemory',
        64 * MI,
      ],
    ] as const)('%s merges over the defaults', (_name, text, key, expected) => {
      const result = loadRepoConfig(text);

      const config = configOf(result);
      expect(config.policy[key]).toBe(expected);
      expect({ ...config.policy, [key]: undefined }).toEqual({
        ...defaultResolvedConfig().policy,
        [key]: undefined,
      });
    });

    it.each([
      [
        'a lower permission to ask',
        'access:\n  min_permission: triage\n',
        { minPermission: 'triage', users: [] },
      ],
      [
        'an allow-list, duplicates in any case removed, first spelling kept',
        'access:\n  users: [Alice, bob, ALICE, 1234]\n',
        { minPermission: 'write', users: ['Alice', 'bob', '1234'] },
      ],
      [
        'logins of 1 and 39 characters',
        `access:\n  users: [a, ${'b'.repeat(39)}]\n`,
        { minPermission: 'write', users: ['a', 'b'.repeat(39)] },
      ],
      [
        'an explicitly empty allow-list',
        'access:\n  min_permission: admin\n  users: []\n',
        { minPermission: 'admin', users: [] },
      ],
    ])('access: %s', (_name, text, access) => {
      const result = loadRepoConfig(text);

      const config = configOf(result);
      expect(config.access).toEqual(access);
      expect(config.approvals).toEqual(defaultResolvedConfig().approvals);
    });

    it('approvals.min_permission is resolved beside required_for', () => {
      const text = 'approvals:\n  min_permission: write\n';

      const config = configOf(loadRepoConfig(text));

      expect(config.approvals).toEqual({ requiredFor: ['apply', 'prod'], minPermission: 'write' });
      expect(config.access).toEqual(defaultResolvedConfig().access);
    });

    it('a quota may limit only one resource', () => {
      const text = 'policy:\n  namespace_quota:\n    memory: 6Gi\n';

      const config = configOf(loadRepoConfig(text));

      expect(config.policy.namespaceQuota).toEqual({ memory: 6 * GI });
    });
  });

  describe('loadRepoConfig: invalid values name their line', () => {
    it('reads like the documented message', () => {
      const text = [
        '# sizing policy for the shop',
        'defaults:',
        '  environment: prod',
        '',
        'policy:',
        '  # keep containers small',
        '  max_container_cpu: lots',
      ].join('\n');

      const result = invalidOf(loadRepoConfig(text));

      expect(result.message).toBe(
        `${FILE} line 7: policy.max_container_cpu: expected a CPU quantity like "500m" or "2", got "lots"`,
      );
      expect(result.problems).toEqual([
        {
          path: 'policy.max_container_cpu',
          line: 7,
          message: 'expected a CPU quantity like "500m" or "2", got "lots"',
        },
      ]);
    });

    it.each([
      [
        'memory quantity',
        'policy:\n  max_replicas: 4\n  max_container_memory: 8GB\n',
        3,
        'policy.max_container_memory',
        'expected a memory quantity like "512Mi" or "2Gi", got "8GB"',
      ],
      [
        'CPU quantity as a list',
        'policy:\n  min_container_cpu: [1]\n',
        2,
        'policy.min_container_cpu',
        'expected a CPU quantity like "500m" or "2", got a list',
      ],
      [
        'negative CPU',
        'policy:\n  node_size:\n    cpu: -2\n',
        3,
        'policy.node_size.cpu',
        'expected a CPU quantity like "500m" or "2", got -2',
      ],
      [
        'quota memory',
        'policy:\n  namespace_quota:\n    cpu: 4\n    memory: plenty\n',
        4,
        'policy.namespace_quota.memory',
        'expected a memory quantity like "512Mi" or "2Gi", got "plenty"',
      ],
      [
        'enum with a close value',
        'policy:\n  cpu_limits: ratios\n',
        2,
        'policy.cpu_limits',
        'expected one of "none", "ratio", "equal", got "ratios"; did you mean "ratio"?',
      ],
      [
        'ratio below 1',
        'policy:\n  cpu_limit_ratio: 0.5\n',
        2,
        'policy.cpu_limit_ratio',
        'expected a number ≥ 1, got 0.5',
      ],
      [
        'fractional replicas',
        'policy:\n  max_replicas: 2.5\n',
        2,
        'policy.max_replicas',
        'expected a whole number, got 2.5',
      ],
      [
        'boolean as text',
        'policy:\n  require_memory_limit: "yes"\n',
        2,
        'policy.require_memory_limit',
        'expected true or false, got "yes"',
      ],
      [
        'cost cap of zero',
        'policy:\n  monthly_cost_cap_usd: 0\n',
        2,
        'policy.monthly_cost_cap_usd',
        'expected a number > 0, got 0',
      ],
      [
        'forbidden setting misspelt',
        'policy:\n  forbidden:\n    - hostNetwork\n    - priviledged\n',
        4,
        'policy.forbidden[1]',
        'did you mean "privileged"?',
      ],
      [
        'namespace name',
        'defaults:\n  namespace: Shop_NS\n',
        2,
        'defaults.namespace',
        'expected a Kubernetes namespace name (lowercase letters, digits, "-"), got "Shop_NS"',
      ],
      [
        'environment',
        'defaults:\n  target: kubernetes\n  environment: production\n',
        3,
        'defaults.environment',
        'expected one of "dev", "staging", "prod", got "production"',
      ],
      [
        'output mode',
        'output:\n  mode: new_files\n',
        2,
        'output.mode',
        'did you mean "new-files"?',
      ],
      [
        'absolute output path',
        'output:\n  path: /etc/k8s\n',
        2,
        'output.path',
        'expected a path relative to the repository root, got "/etc/k8s"',
      ],
      [
        'output path leaving the repository',
        'output:\n  path: ../other/{service}\n',
        2,
        'output.path',
        'expected a path inside the repository (no "..")',
      ],
      [
        'unknown output placeholder',
        'output:\n  path: deploy/{svc}/\n',
        2,
        'output.path',
        'expected only the placeholders {service}, {environment}, {namespace}',
      ],
      [
        'negative price',
        'pricing:\n  vcpu_hour: -0.01\n',
        2,
        'pricing.vcpu_hour',
        'expected a number ≥ 0, got -0.01',
      ],
      [
        'repository pattern',
        'allowed_repos:\n  - myorg/api\n  - https://github.com/myorg/web\n',
        3,
        'allowed_repos[1]',
        'expected "owner/name" or "owner/*"',
      ],
      [
        'approval gate',
        'approvals:\n  required_for: [apply, deploy]\n',
        2,
        'approvals.required_for[1]',
        'expected one of "apply", "prod", got "deploy"',
      ],
      [
        'access permission with a close value',
        'access:\n  min_permission: writer\n',
        2,
        'access.min_permission',
        'expected one of "none", "read", "triage", "write", "maintain", "admin", got "writer"; did you mean "write"?',
      ],
      [
        'approval permission in capitals',
        'approvals:\n  required_for: [prod]\n  min_permission: Maintain\n',
        3,
        'approvals.min_permission',
        'got "Maintain"; did you mean "maintain"?',
      ],
      [
        'a login with a double hyphen',
        'access:\n  users:\n    - alice\n    - bob--smith\n',
        4,
        'access.users[1]',
        'expected a GitHub login (1–39 letters, digits or single hyphens, not starting or ending with "-"), got "bob--smith"',
      ],
      [
        'a login starting with a hyphen',
        'access:\n  users: [-bob]\n',
        2,
        'access.users[0]',
        'expected a GitHub login',
      ],
      [
        'a login longer than 39 characters',
        `access:\n  users: [${'a'.repeat(40)}]\n`,
        2,
        'access.users[0]',
        'expected a GitHub login',
      ],
      [
        'an email address for a login',
        'access:\n  users: [alice@example.com]\n',
        2,
        'access.users[0]',
        'expected a GitHub login',
      ],
      [
        'a bot account',
        'access:\n  users:\n    - alice\n    - dependabot[bot]\n',
        4,
        'access.users[1]',
        'bot accounts never run commands (ai-provision ignores them); remove this entry, got "dependabot[bot]"',
      ],
      [
        'users given as one login instead of a list',
        'access:\n  users: alice\n',
        2,
        'access.users',
        'expected a list, got "alice"',
      ],
      [
        'a section that is a list',
        'policy:\n  - max_replicas: 3\n',
        1,
        'policy',
        'expected a mapping (key: value lines), got a list',
      ],
    ])('%s', (_name, text, line, path, message) => {
      const result = invalidOf(loadRepoConfig(text));

      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]).toMatchObject({ path, line });
      expect(result.problems[0]!.message).toContain(message);
      expect(result.message).toBe(`${FILE} line ${line}: ${path}: ${result.problems[0]!.message}`);
    });

    it('reports every problem at once, in line order', () => {
      const text =
        'policy:\n  max_replicas: 0\n  cpu_limits: sometimes\npricing:\n  gib_hour: free\n';

      const result = invalidOf(loadRepoConfig(text));

      expect(result.problems.map((p) => [p.line, p.path])).toEqual([
        [2, 'policy.max_replicas'],
        [3, 'policy.cpu_limits'],
        [5, 'pricing.gib_hour'],
      ]);
      expect(result.message.split('\n')).toHaveLength(3);
    });

    it('names the file it was given', () => {
      const result = invalidOf(loadRepoConfig('policy:\n  max_replicas: 0\n', 'ai-provision.yml'));

      expect(result.message).toMatch(/^ai-provision\.yml line 2: policy\.max_replicas: /);
    });
  });

  describe('loadRepoConfig: unknown keys', () => {
    it.each([
      ['a misspelt section', 'polcy:\n  max_replicas: 3\n', 1, 'polcy', 'did you mean "policy"?'],
      [
        'a shortened key',
        'policy:\n  max_replicas: 3\n  max_cpu: 2\n',
        3,
        'policy.max_cpu',
        'did you mean "max_container_cpu"?',
      ],
      [
        'a camelCase key',
        'policy:\n  maxContainerMemory: 2Gi\n',
        2,
        'policy.maxContainerMemory',
        'did you mean "max_container_memory"?',
      ],
      [
        'a kebab-case key',
        'pricing:\n  vcpu-hour: 0.04\n',
        2,
        'pricing.vcpu-hour',
        'did you mean "vcpu_hour"?',
      ],
      [
        'a nested key',
        'policy:\n  node_size:\n    cpu: 8\n    mem: 32Gi\n',
        4,
        'policy.node_size.mem',
        'known keys: cpu, memory',
      ],
      [
        'a singular users key',
        'access:\n  user: [alice]\n',
        2,
        'access.user',
        'did you mean "users"?',
      ],
      [
        'the permission key written in camelCase',
        'approvals:\n  minPermission: admin\n',
        2,
        'approvals.minPermission',
        'did you mean "min_permission"?',
      ],
      [
        'a key with nothing close',
        'output:\n  format: yaml\n',
        2,
        'output.format',
        'unknown key; known keys: path, mode',
      ],
    ])('%s', (_name, text, line, path, message) => {
      const result = invalidOf(loadRepoConfig(text));

      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]).toMatchObject({ path, line });
      expect(result.problems[0]!.message).toContain(message);
    });
  });

  describe('loadRepoConfig: files that are not configuration', () => {
    it.each([
      [
        'an unclosed flow list',
        'policy:\n  max_replicas: 3\n  forbidden: [privileged\nother: 1\n',
        4,
      ],
      ['a duplicate key', 'policy:\n  max_replicas: 3\n  max_replicas: 4\n', 3],
      ['a tab indent', 'policy:\n\tmax_replicas: 3\n', 2],
    ])('YAML syntax error: %s names its line', (_name, text, line) => {
      const result = invalidOf(loadRepoConfig(text));

      expect(result.problems[0]).toMatchObject({ path: '', line });
      expect(result.problems[0]!.message).toMatch(/^YAML syntax error: /);
      expect(result.message).toMatch(new RegExp(`^${FILE} line ${line}: YAML syntax error: `));
    });

    it.each([
      ['a list', '- policy\n- pricing\n', 'a list'],
      ['a scalar', 'just some words\n', '"just some words"'],
    ])('a top level that is %s is refused', (_name, text, got) => {
      const result = invalidOf(loadRepoConfig(text));

      expect(result.message).toBe(
        `${FILE} line 1: expected a mapping of settings (key: value lines), got ${got}`,
      );
    });
  });

  describe('loadRepoConfig: rules across fields', () => {
    it.each([
      [
        'minimum CPU above the default maximum',
        'policy:\n  min_container_cpu: 6\n',
        2,
        'policy.min_container_cpu',
        'min_container_cpu (6) must not exceed max_container_cpu (4)',
      ],
      [
        'maximum memory below the default minimum',
        'policy:\n  max_container_memory: 16Mi\n',
        2,
        'policy.max_container_memory',
        'min_container_memory (32Mi) must not exceed max_container_memory (16Mi)',
      ],
      [
        'prod minimum above the replica maximum',
        'policy:\n  max_replicas: 3\n  min_replicas_prod: 4\n',
        3,
        'policy.min_replicas_prod',
        'min_replicas_prod (4) must not exceed max_replicas (3)',
      ],
    ])('%s', (_name, text, line, path, message) => {
      const result = invalidOf(loadRepoConfig(text));

      expect(result.problems).toEqual([{ path, line, message }]);
    });
  });

  describe('RepoConfig', () => {
    it('rejects unknown keys at every level (strict)', () => {
      const parsed = RepoConfig.safeParse({ policy: { max_replicas: 3, surprise: true } });

      expect(parsed.success).toBe(false);
    });
  });
});
