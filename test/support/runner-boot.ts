/**
 * What a runner guest's first boot would read: the runner token the bot put in its boot config
 * (the cloud-init snippet of a VM, the `env` of a container). Tests use it to start the runner
 * process a booted guest would start.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { FakeGuest } from '../../src/bench/fake-proxmox-api.js';

export async function bootToken(
  guest: FakeGuest,
  snippetsDir: string,
): Promise<string | undefined> {
  if (guest.kind === 'lxc') {
    const env = String(guest.config.env ?? '');
    return env
      .split('\0')
      .find((line) => line.startsWith('AI_PROVISION_RUNNER_TOKEN='))
      ?.slice('AI_PROVISION_RUNNER_TOKEN='.length);
  }
  const text = await readFile(join(snippetsDir, `ai-provision-${guest.name}.yaml`), 'utf8').catch(
    () => undefined,
  );
  if (text === undefined) return undefined;
  const userData = parseYaml(text) as { write_files: { content: string }[] };
  return userData.write_files[0]!.content.match(/^AI_PROVISION_RUNNER_TOKEN=(?<token>\S+)$/m)
    ?.groups?.token;
}
