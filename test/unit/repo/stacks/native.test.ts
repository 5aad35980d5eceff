import { removeTempRepos } from '../../../support/temp-repo.js';
import { stackOf } from './stack-of.js';

afterAll(removeTempRepos);

describe('repo/stacks/native', () => {
  it.each([
    [
      'CMake C project with .c sources',
      { 'CMakeLists.txt': 'project(x C)\n', 'main.c': '' },
      'c',
      [],
      'cmake',
    ],
    [
      'CMake C++ standard, no sources',
      { 'CMakeLists.txt': 'set(CMAKE_CXX_STANDARD 17)\n' },
      'cpp',
      [],
      'cmake',
    ],
    [
      'CMake LANGUAGES C only, no sources',
      { 'CMakeLists.txt': 'project(x VERSION 1.0 LANGUAGES C)\n' },
      'c',
      [],
      'cmake',
    ],
    [
      'CMake C and CXX',
      { 'CMakeLists.txt': 'project(x LANGUAGES C CXX)\n' },
      'cpp',
      ['c'],
      'cmake',
    ],
    ['meson C project', { 'meson.build': "project('x', 'c')\n" }, 'c', [], 'meson'],
    ['Makefile calling g++', { Makefile: 'app: main.o\n\tg++ -o app main.o\n' }, 'cpp', [], 'make'],
    [
      'Makefile with $(CC)',
      { Makefile: 'app:\n\t$(CC) -o app main.c\n', 'main.c': '' },
      'c',
      [],
      'make',
    ],
    [
      'vcpkg manifest',
      { 'vcpkg.json': '{"name": "x", "dependencies": ["fmt"]}' },
      'cpp',
      [],
      'vcpkg',
    ],
    [
      'conanfile.py with CMake',
      { 'conanfile.py': 'class X: pass\n', 'CMakeLists.txt': 'project(x CXX)\n' },
      'cpp',
      [],
      'conan',
    ],
    ['more C++ than C sources', { 'a.cpp': '', 'b.cc': '', 'c.c': '' }, 'cpp', ['c'], undefined],
    ['more C than C++ sources', { 'a.c': '', 'b.c': '', 'c.hpp': '' }, 'c', ['cpp'], undefined],
  ])('%s', (_label, files, language, otherLanguages, packageManager) => {
    const facts = stackOf(files);

    expect(facts.language).toBe(language);
    expect(facts.otherLanguages).toEqual(otherLanguages);
    expect(facts.packageManager).toBe(packageManager);
    expect(facts.runtime).toBeUndefined();
  });

  it.each([
    ['a Makefile that runs no compiler', { Makefile: 'test:\n\tpytest\n' }],
    ['header files alone', { 'include/x.h': '' }],
    ['build files under third_party', { 'third_party/zlib/CMakeLists.txt': 'project(zlib C)\n' }],
  ])('is not detected from %s', (_label, files) => {
    const facts = stackOf(files);

    expect(facts.language).toBeUndefined();
  });

  it.each([
    [
      'CMake find_package',
      { 'CMakeLists.txt': 'project(x CXX)\nfind_package(gRPC CONFIG REQUIRED)\n' },
      undefined,
      'CMakeLists.txt:2',
    ],
    [
      'vcpkg dependency',
      { 'vcpkg.json': '{\n  "dependencies": [\n    "grpc"\n  ]\n}' },
      undefined,
      'vcpkg.json:3',
    ],
    [
      'conan requirement',
      { 'conanfile.txt': '[requires]\ngrpc/1.54.3\n' },
      '1.54.3',
      'conanfile.txt:2',
    ],
  ])('gRPC from %s', (_label, files, version, evidence) => {
    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([
      { name: 'grpc', kind: 'grpc', ...(version === undefined ? {} : { version }), evidence },
    ]);
  });
});
