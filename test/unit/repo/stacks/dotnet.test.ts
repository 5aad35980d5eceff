import { removeTempRepos } from '../../../support/temp-repo.js';
import { stackOf } from './stack-of.js';

afterAll(removeTempRepos);

function csproj(sdk: string, properties: string, items = ''): string {
  return `<Project Sdk="${sdk}">\n  <PropertyGroup>${properties}</PropertyGroup>\n  <ItemGroup>${items}</ItemGroup>\n</Project>\n`;
}

describe('repo/stacks/dotnet', () => {
  it.each([
    ['net8.0', { name: 'dotnet', version: '8.0' }],
    ['net9.0-windows', { name: 'dotnet', version: '9.0' }],
    ['netcoreapp3.1', { name: 'dotnet', version: '3.1' }],
    ['net48', { name: 'dotnet-framework', version: '4.8' }],
    ['netstandard2.0', { name: 'dotnet' }],
  ])('TargetFramework %s → %p', (moniker, runtime) => {
    const files = {
      'App.csproj': csproj('Microsoft.NET.Sdk', `<TargetFramework>${moniker}</TargetFramework>`),
    };

    const facts = stackOf(files);

    expect(facts.runtime).toEqual(runtime);
    expect(facts.packageManager).toBe('dotnet');
  });

  it('takes the highest of TargetFrameworks', () => {
    const files = {
      'Lib.csproj': csproj(
        'Microsoft.NET.Sdk',
        '<TargetFrameworks>net8.0;net6.0;netstandard2.0</TargetFrameworks>',
      ),
    };

    const facts = stackOf(files);

    expect(facts.runtime).toEqual({ name: 'dotnet', version: '8.0' });
  });

  it('prefers the web project over other projects for the runtime', () => {
    const files = {
      'src/Core/Core.csproj': csproj(
        'Microsoft.NET.Sdk',
        '<TargetFramework>net6.0</TargetFramework>',
      ),
      'src/Web/Web.csproj': csproj(
        'Microsoft.NET.Sdk.Web',
        '<TargetFramework>net8.0</TargetFramework>',
      ),
    };

    const facts = stackOf(files);

    expect(facts.runtime).toEqual({ name: 'dotnet', version: '8.0' });
    expect(facts.frameworks).toEqual([
      { name: 'aspnet-core', kind: 'http', version: '8.0', evidence: 'src/Web/Web.csproj:1' },
    ]);
  });

  it('treats a FrameworkReference to Microsoft.AspNetCore.App as ASP.NET Core', () => {
    const files = {
      'Worker.csproj': csproj(
        'Microsoft.NET.Sdk.Worker',
        '<TargetFramework>net8.0</TargetFramework>',
        '<FrameworkReference Include="Microsoft.AspNetCore.App" />',
      ),
    };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([
      { name: 'aspnet-core', kind: 'http', version: '8.0', evidence: 'Worker.csproj:3' },
    ]);
  });

  it.each([
    [
      'Version attribute',
      '<PackageReference Include="Grpc.AspNetCore" Version="2.63.0" />',
      '2.63.0',
    ],
    [
      'Version element',
      '<PackageReference Include="Grpc.AspNetCore.Server"><Version>2.62.0</Version></PackageReference>',
      '2.62.0',
    ],
    ['central package management', '<PackageReference Include="Grpc.AspNetCore" />', undefined],
  ])('gRPC from a %s', (_label, item, version) => {
    const files = {
      'Api.csproj': csproj('Microsoft.NET.Sdk', '<TargetFramework>net8.0</TargetFramework>', item),
    };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([
      {
        name: 'grpc',
        kind: 'grpc',
        ...(version === undefined ? {} : { version }),
        evidence: 'Api.csproj:3',
      },
    ]);
  });

  it.each([
    [
      'Directory.Build.props',
      {
        'Directory.Build.props':
          '<Project><PropertyGroup><TargetFramework>net9.0</TargetFramework></PropertyGroup></Project>',
      },
      '9.0',
    ],
    ['global.json', { 'global.json': '{"sdk": {"version": "8.0.204"}}' }, '8.0'],
  ])('falls back to %s when the project names no target', (_label, extra, version) => {
    const files = { 'App.csproj': csproj('Microsoft.NET.Sdk', ''), ...extra };

    const facts = stackOf(files);

    expect(facts.runtime).toEqual({ name: 'dotnet', version });
  });

  it('detects C# from a solution file alone', () => {
    const facts = stackOf({ 'Shop.sln': 'Microsoft Visual Studio Solution File\n' });

    expect(facts.language).toBe('csharp');
    expect(facts.packageManager).toBe('dotnet');
    expect(facts.evidence).toEqual(['Shop.sln']);
  });

  it('ignores projects under bin and obj', () => {
    const facts = stackOf({
      'bin/Debug/x.csproj': csproj('Microsoft.NET.Sdk', ''),
      'obj/y.csproj': csproj('Microsoft.NET.Sdk', ''),
    });

    expect(facts.language).toBeUndefined();
  });
});
