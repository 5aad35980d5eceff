import { removeTempRepos } from '../../../support/temp-repo.js';
import { stackOf } from './stack-of.js';

afterAll(removeTempRepos);

describe('repo/stacks/proto', () => {
  it('reports gRPC for a service definition without claiming a language', () => {
    const files = {
      'api/v1/users.proto':
        'syntax = "proto3";\n\nservice Users {\n  rpc Get (Req) returns (Res);\n}\n',
    };

    const facts = stackOf(files);

    expect(facts.language).toBeUndefined();
    expect(facts.frameworks).toEqual([
      { name: 'grpc', kind: 'grpc', evidence: 'api/v1/users.proto:3' },
    ]);
    expect(facts.evidence).toEqual(['api/v1/users.proto']);
  });

  it.each([
    ['messages only', { 'a.proto': 'syntax = "proto3";\nmessage A { string id = 1; }\n' }],
    ['a commented-out service', { 'a.proto': '// service A {\nmessage A {}\n' }],
    ['vendored protos', { 'third_party/google/api/http.proto': 'service X {\n}\n' }],
  ])('reports nothing for %s', (_label, files) => {
    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([]);
  });
});
