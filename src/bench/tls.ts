/**
 * A throwaway self-signed certificate for the loopback servers of tests and benches (the git server,
 * the fake Proxmox API), made with `openssl`: valid for 127.0.0.1 and localhost, two days.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Writes key.pem and cert.pem into `dir` (which the caller owns and removes). */
export async function selfSignedCertificate(
  dir: string,
): Promise<{ keyFile: string; certFile: string }> {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { keyFile, certFile };
}
