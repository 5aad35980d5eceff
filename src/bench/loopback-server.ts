/**
 * The loopback HTTP(S) server under the test and bench doubles that speak a wire format (the git
 * server, the fake Proxmox API): listens on 127.0.0.1 on a free port, optionally with a throwaway
 * self-signed certificate made by `openssl` (valid for 127.0.0.1 and localhost, two days), and
 * closes with every connection still open, so a test never waits on a client's keep-alive.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LoopbackServer {
  /** `http(s)://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  port: number;
  /** With `tls`: the certificate to trust, as PEM and as a file (the file lives until close). */
  caPem?: string;
  caFile?: string;
  /** Drops open connections, stops listening and removes the certificate; idempotent. */
  close(): Promise<void>;
}

/** Writes key.pem and cert.pem into `dir`. */
async function selfSignedCertificate(dir: string): Promise<{ keyFile: string; certFile: string }> {
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

export async function startLoopbackServer(
  handler: RequestListener,
  options: { tls?: boolean } = {},
): Promise<LoopbackServer> {
  let server: Server;
  let certDir: string | undefined;
  let cert: { key: string; cert: string; certFile: string } | undefined;
  if (options.tls) {
    certDir = await mkdtemp(join(tmpdir(), 'aip-loopback-tls-'));
    const files = await selfSignedCertificate(certDir);
    cert = {
      key: await readFile(files.keyFile, 'utf8'),
      cert: await readFile(files.certFile, 'utf8'),
      certFile: files.certFile,
    };
    server = createHttpsServer({ key: cert.key, cert: cert.cert }, handler);
    // Clients that refuse the certificate, or are killed mid-handshake, end up here: not a failure.
    server.on('tlsClientError', () => undefined);
  } else {
    server = createHttpServer(handler);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  const loopback: LoopbackServer = {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    close() {
      closed ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        if (certDir !== undefined) await rm(certDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
  if (cert !== undefined) {
    loopback.caPem = cert.cert;
    loopback.caFile = cert.certFile;
  }
  return loopback;
}
