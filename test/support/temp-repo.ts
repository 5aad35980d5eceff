/** Writes small inline repositories to a temp dir for table-driven tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type FileMap = Record<string, string | Buffer>;

const made: string[] = [];

/** Creates a directory holding `files` (paths '/'-separated) and returns its absolute path. */
export function tempRepo(files: FileMap): string {
  const root = mkdtempSync(join(tmpdir(), 'aip-test-'));
  made.push(root);
  for (const [path, content] of Object.entries(files)) {
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }
  return root;
}

/** Removes every directory made by tempRepo in this test file; call from afterAll. */
export function removeTempRepos(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
