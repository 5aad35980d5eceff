/**
 * The Proxmox VE client: the ProxmoxClient port (types.ts) on proxmox-api's ProxmoxEngine, which
 * builds the requests (query string / form body, booleans as 1/0) and does the ticket login and
 * the one re-login after "invalid PVE ticket". Around it this file adds what the engine lacks:
 * - one rate-limited slot per call (the `proxmox` ApiLimiter), the login included;
 * - a deadline of `timeoutMs` over the whole call, login, re-login and body included;
 * - no blind retry: the engine retries every failed fetch once, a POST too (a clone that reached
 *   Proxmox would be sent twice); here only a GET whose connection failed is retried;
 * - TLS through an undici Agent (the cluster's CA added to the system ones, or no check at all
 *   only when asked);
 * - ProxmoxError codes from what actually came back: every fetch the engine makes goes through a
 *   wrapper that notes the last answer (status, reason phrase, error body) or network error of
 *   the call, so the mapping never parses the engine's messages;
 * - zod on every answer (schema.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { rootCertificates } from 'node:tls';
import { ProxmoxEngine } from 'proxmox-api';
import { Agent, Response, fetch as undiciFetch, type RequestInit } from 'undici';
import type { z } from 'zod';
import type { Logger } from '../observe/logger.js';
import type { ApiLimiter } from '../pool/limiters.js';
import {
  ClusterNodeResource,
  ClusterResourceRow,
  ClusterVmResource,
  GuestConfigAnswer,
  GuestStatusAnswer,
  NextIdAnswer,
  ParameterErrorsBody,
  TaskStatusAnswer,
  UpidAnswer,
  VersionAnswer,
} from './schema.js';
import {
  ProxmoxError,
  systemClock,
  type ClusterGuest,
  type ClusterNode,
  type Clock,
  type GuestKind,
  type GuestRef,
  type ProxmoxConnection,
  type ProxmoxClient,
  type ProxmoxParams,
  type ProxmoxTask,
  type TaskState,
} from './types.js';

export interface ProxmoxClientOptions {
  connection: ProxmoxConnection;
  /**
   * Every call takes one slot: `createLimiterFactory().for('proxmox')` in production. Absent =
   * unlimited. A ticket login and proxmox-api's own retry of a failed fetch happen inside the
   * slot of the call that needed them.
   */
  limiter?: ApiLimiter;
  /** The clock waitForTask polls on; systemClock by default. HTTP deadlines are real time. */
  clock?: Clock;
  log?: Logger;
}

// ---------------------------------------------------------------------------------------------
// UPIDs

/** PVE::Tools::upid_decode's pattern: node, pid, pstart, starttime (hex), type, id, user. */
const UPID_PATTERN =
  /^UPID:(?<node>[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):(?<pid>[0-9A-Fa-f]{8}):(?<pstart>[0-9A-Fa-f]{8,9}):(?<starttime>[0-9A-Fa-f]{8}):(?<type>[^:\s]+):(?<id>[^:\s]*):(?<user>[^:\s]+):$/;

/**
 * Splits a task id (`UPID:pve1:0001A2B3:0FEDCBA9:6740F0A1:qmclone:9000:root@pam:`); `starttime`
 * is in epoch seconds. Undefined when it is no UPID.
 */
export function parseUpid(
  upid: string,
): { node: string; type: string; id: string; user: string; starttime: number } | undefined {
  const groups = UPID_PATTERN.exec(upid)?.groups;
  if (groups === undefined) return undefined;
  return {
    node: groups.node!,
    type: groups.type!,
    id: groups.id!,
    user: groups.user!,
    starttime: Number.parseInt(groups.starttime!, 16),
  };
}

// ---------------------------------------------------------------------------------------------
// Failures → ProxmoxError

/** What the last fetch of one call ended with. */
type LastExchange =
  | { kind: 'answer'; status: number; statusText: string; body: string }
  | { kind: 'network'; error: unknown };

/** One call's state, reached from inside the engine's fetches through AsyncLocalStorage. */
interface CallContext {
  /** Aborts at the call's deadline. */
  signal: AbortSignal;
  timedOut: boolean;
  last?: LastExchange;
}

/** A call as messages name it: `GET /cluster/resources`. */
interface CallName {
  method: string;
  path: string;
  node?: string;
}

/** Node's TLS verification failures (X509_V_ERR_* as Node names them). */
const TLS_ERROR_CODES =
  /^(?:UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|CERT_[A-Z_]+|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/** Reason phrases of 500 answers that mean "no such thing". */
const NOT_FOUND_TEXT =
  /does not exist|no such (?:vm|ct|task|node|resource)|hostname lookup .* failed/i;

/** Reason phrases that mean "someone else holds it" (a retried POST lands here too). */
const CONFLICT_TEXT = /already exists|is locked|is running|can't lock file|lock.* timeout/i;

/** Walks an error's cause chain (bounded) for Node's `code`s and the messages. */
function errorChain(error: unknown): { codes: string[]; messages: string[]; aborted: boolean } {
  const codes: string[] = [];
  const messages: string[] = [];
  let aborted = false;
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    const record = current as {
      code?: unknown;
      message?: unknown;
      name?: unknown;
      cause?: unknown;
    };
    if (typeof record.code === 'string') codes.push(record.code);
    if (typeof record.message === 'string' && record.message !== '') messages.push(record.message);
    if (record.name === 'AbortError' || record.name === 'TimeoutError') aborted = true;
    current = record.cause;
  }
  return { codes, messages, aborted };
}

/** The TLS verification failure behind a fetch error, if that is what it is. */
function tlsCodeOf(error: unknown): string | undefined {
  return errorChain(error).codes.find((code) => TLS_ERROR_CODES.test(code));
}

/** `newid: invalid format; target: …` from a 400 body, or '' when it carries none. */
function parameterErrors(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return '';
  }
  const result = ParameterErrorsBody.safeParse(parsed);
  if (!result.success) return '';
  const text = Object.entries(result.data.errors)
    .map(
      ([param, why]) => `${param}: ${typeof why === 'string' ? why.trim() : JSON.stringify(why)}`,
    )
    .join('; ');
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

function authHint(connection: ProxmoxConnection): string {
  return connection.auth.kind === 'token'
    ? 'check PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET (the token must exist and not be expired)'
    : 'check PROXMOX_USERNAME (user@realm) and PROXMOX_PASSWORD';
}

function answerFailure(
  answer: Extract<LastExchange, { kind: 'answer' }>,
  call: CallName,
  connection: ProxmoxConnection,
): ProxmoxError {
  const { status, statusText } = answer;
  const where = `Proxmox ${call.method} ${call.path}`;
  const said = `${status} ${statusText}`.trim();
  const options = { status, ...(call.node === undefined ? {} : { node: call.node }) };
  if (status === 401) {
    return new ProxmoxError(
      'auth',
      `${where}: Proxmox refused the credentials (${said}); ${authHint(connection)}`,
      options,
    );
  }
  if (status === 403) {
    return new ProxmoxError(
      'forbidden',
      `${where}: the Proxmox user lacks a privilege (${said}); grant it on the path named there`,
      options,
    );
  }
  if (status === 595 || status === 596) {
    const node = call.node === undefined ? 'the node' : `node ${call.node}`;
    return new ProxmoxError('unreachable', `${where}: ${node} is unreachable (${said})`, options);
  }
  if (status === 502 || status === 503 || status === 504) {
    // The API itself (pveproxy, or a proxy in front of it) is not available: worth a retry later.
    // Not blamed on the node of the path, which is not what answered.
    return new ProxmoxError(
      'unreachable',
      `${where}: the Proxmox API is not available (${said}); it should answer again once pveproxy, or the proxy in front of it, is back`,
      { status },
    );
  }
  if (NOT_FOUND_TEXT.test(statusText) || status === 404)
    return new ProxmoxError('not-found', `${where}: ${said}`, options);
  if (CONFLICT_TEXT.test(statusText))
    return new ProxmoxError('conflict', `${where}: ${said}`, options);
  const details = status === 400 ? parameterErrors(answer.body) : '';
  return new ProxmoxError(
    'rejected',
    `${where}: ${said}${details === '' ? '' : ` (${details})`}`,
    options,
  );
}

function networkFailure(
  error: unknown,
  call: CallName,
  connection: ProxmoxConnection,
): ProxmoxError {
  const { codes, messages, aborted } = errorChain(error);
  const where = `Proxmox ${call.method} ${call.path}`;
  const node = call.node === undefined ? {} : { node: call.node };
  const tlsCode = tlsCodeOf(error);
  if (tlsCode !== undefined) {
    const hint =
      tlsCode === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? `the certificate does not name the host in PROXMOX_URL (${connection.url}); use a name it was issued for`
        : 'set PROXMOX_CA_FILE to the cluster CA (/etc/pve/pve-root-ca.pem on a node), or PROXMOX_TLS_INSECURE=true (not recommended: anyone on the path can read the token)';
    return new ProxmoxError(
      'tls',
      `${where}: the server's TLS certificate is not trusted (${tlsCode}); ${hint}`,
      { ...node, cause: error },
    );
  }
  if (aborted) {
    return new ProxmoxError(
      'unreachable',
      `${where}: no answer within ${connection.timeoutMs} ms`,
      { ...node, cause: error },
    );
  }
  const why = codes[0] ?? messages.at(-1) ?? 'network error';
  return new ProxmoxError('unreachable', `${where}: cannot reach ${connection.url} (${why})`, {
    ...node,
    cause: error,
  });
}

// ---------------------------------------------------------------------------------------------
// The client

const API_ROOT = '/api2/json';
const TOKEN_ID = /^[^@\s]+@[^!\s]+![^\s]+$/;
const TOKEN_SECRET = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DEFAULT_TASK_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_TASK_POLL_MS = 1000;
/** The stand-in answer's status for a fetch that failed (the highest a Response may carry). */
const NETWORK_FAILURE_STATUS = 599;

/** `/nodes/pve1/qemu/101` from segments, each one URL-encoded (a UPID carries `:` and `@`). */
function pathOf(...segments: (string | number)[]): string {
  return segments.map((segment) => `/${encodeURIComponent(String(segment))}`).join('');
}

/** The node a path is about (`/nodes/{node}/…`). */
function nodeOfPath(path: string): string | undefined {
  const encoded = /^\/nodes\/(?<node>[^/]+)/.exec(path)?.groups?.node;
  return encoded === undefined ? undefined : decodeURIComponent(encoded);
}

function guestPath(ref: GuestRef, ...rest: string[]): string {
  return pathOf('nodes', ref.node, ref.kind, ref.vmid, ...rest);
}

/** Proxmox stores tags `;`-separated and takes `,`, `;` or spaces on input. */
function parseTags(tags: string | undefined): string[] {
  if (tags === undefined) return [];
  return tags
    .split(/[;,\s]+/)
    .map((tag) => tag.trim().toLowerCase())
    .filter((tag) => tag !== '');
}

/** PVE::Tools::upid_status_is_error: OK and "WARNINGS: n" are success. */
function taskSucceeded(exitstatus: string): boolean {
  return exitstatus === 'OK' || /^WARNINGS: \d+$/.test(exitstatus);
}

function checkCredentials(connection: ProxmoxConnection): void {
  const { auth } = connection;
  // Checked here: the engine would print to the console and throw a plain Error.
  if (auth.kind === 'token') {
    if (!TOKEN_ID.test(auth.tokenId))
      throw new ProxmoxError(
        'auth',
        'PROXMOX_TOKEN_ID: expected user@realm!tokenname, e.g. ai-provision@pve!runners',
      );
    if (!TOKEN_SECRET.test(auth.tokenSecret))
      throw new ProxmoxError(
        'auth',
        'PROXMOX_TOKEN_SECRET: expected the token value, a lower-case UUID like 12345678-1234-1234-1234-1234567890ab',
      );
    return;
  }
  if (auth.password === '') throw new ProxmoxError('auth', 'PROXMOX_PASSWORD: expected a password');
}

function endpoint(connection: ProxmoxConnection): {
  schema: 'https' | 'http';
  host: string;
  port?: number;
} {
  const url = URL.parse(connection.url);
  if (
    url === null ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.hostname === ''
  )
    throw new ProxmoxError(
      'rejected',
      'PROXMOX_URL: expected https://host:8006, e.g. https://pve1.example.com:8006',
    );
  return {
    schema: url.protocol === 'https:' ? 'https' : 'http',
    host: url.hostname,
    ...(url.port === '' ? {} : { port: Number(url.port) }),
  };
}

function dispatcherFor(connection: ProxmoxConnection): Agent {
  const { tls } = connection;
  if (tls.kind === 'insecure') return new Agent({ connect: { rejectUnauthorized: false } });
  // Node's `ca` replaces the system roots; the cluster's CA is meant to be added to them.
  const ca = tls.caPem === undefined ? undefined : [...rootCertificates, tls.caPem];
  return new Agent({ connect: { rejectUnauthorized: true, ...(ca === undefined ? {} : { ca }) } });
}

/** Replaces a secret that might have slipped into a message (defence in depth). */
function scrubber(connection: ProxmoxConnection): (error: ProxmoxError) => ProxmoxError {
  const { auth } = connection;
  const secret = auth.kind === 'token' ? auth.tokenSecret : auth.password;
  return (error) => {
    if (secret.length < 4 || !error.message.includes(secret)) return error;
    return new ProxmoxError(error.code, error.message.split(secret).join('[redacted]'), {
      ...(error.node === undefined ? {} : { node: error.node }),
      ...(error.status === undefined ? {} : { status: error.status }),
    });
  };
}

export function createProxmoxClient(options: ProxmoxClientOptions): ProxmoxClient {
  const { connection, log } = options;
  const clock = options.clock ?? systemClock;
  const limiter: ApiLimiter = options.limiter ?? { schedule: (call) => call() };
  checkCredentials(connection);
  const { schema, host, port } = endpoint(connection);
  const dispatcher = dispatcherFor(connection);
  const calls = new AsyncLocalStorage<CallContext>();
  const scrub = scrubber(connection);

  /**
   * Every fetch the engine makes: our TLS, the call's deadline, a note of what came back, and one
   * retry of a GET whose connection failed. It never rejects: a failed fetch becomes a stand-in
   * answer the engine throws on at once, so the engine neither repeats a POST that may have
   * reached Proxmox (its catch retries every failed fetch once) nor leaves its abort timer armed
   * (it clears it only when fetch resolves). The real error stays in the call context.
   */
  async function contextFetch(url: string | URL, init?: RequestInit): Promise<Response> {
    const context = calls.getStore();
    if (context === undefined) return undiciFetch(url, { ...init, dispatcher });
    const signal =
      init?.signal === undefined || init.signal === null
        ? context.signal
        : AbortSignal.any([init.signal, context.signal]);
    const retries = (init?.method ?? 'GET').toUpperCase() === 'GET' ? 1 : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await undiciFetch(url, { ...init, dispatcher, signal });
        // The error body (400's parameter list) is read from a copy: the engine reads the original.
        const body = response.ok ? '' : await response.clone().text();
        context.last = {
          kind: 'answer',
          status: response.status,
          statusText: response.statusText,
          body,
        };
        return response;
      } catch (error) {
        context.last = { kind: 'network', error };
        if (attempt < retries && !signal.aborted && tlsCodeOf(error) === undefined) continue;
        return new Response('{"data":null}', {
          status: NETWORK_FAILURE_STATUS,
          statusText: 'network failure',
          headers: { 'content-type': 'application/json;charset=UTF-8' },
        });
      }
    }
  }

  const engine = new ProxmoxEngine({
    ...(connection.auth.kind === 'token'
      ? { tokenID: connection.auth.tokenId, tokenSecret: connection.auth.tokenSecret }
      : { username: connection.auth.username, password: connection.auth.password }),
    host,
    ...(port === undefined ? {} : { port }),
    schema,
    queryTimeout: connection.timeoutMs,
    authTimeout: connection.timeoutMs,
    fetch: contextFetch,
  });

  function failure(error: unknown, context: CallContext, call: CallName): ProxmoxError {
    if (error instanceof ProxmoxError) return error;
    if (context.timedOut) {
      return new ProxmoxError(
        'unreachable',
        `Proxmox ${call.method} ${call.path}: no answer within ${connection.timeoutMs} ms`,
        { ...(call.node === undefined ? {} : { node: call.node }), cause: error },
      );
    }
    const last = context.last;
    if (last?.kind === 'network') return networkFailure(last.error, call, connection);
    if (last?.kind === 'answer' && last.status !== 200)
      return answerFailure(last, call, connection);
    // Answered 200 but the engine could not use it (content type, JSON).
    const { messages } = errorChain(error);
    return new ProxmoxError(
      'rejected',
      `Proxmox ${call.method} ${call.path}: unexpected answer (${messages[0] ?? 'unknown'})`,
      { ...(call.node === undefined ? {} : { node: call.node }), status: 200 },
    );
  }

  /** One HTTP call (plus a login when needed) in one limiter slot, within timeoutMs. */
  async function attempt(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    params: ProxmoxParams | undefined,
  ): Promise<unknown> {
    const call: CallName = { method, path, ...optionalNode(nodeOfPath(path)) };
    const controller = new AbortController();
    const context: CallContext = { signal: controller.signal, timedOut: false };
    const timer = setTimeout(() => {
      context.timedOut = true;
      controller.abort();
    }, connection.timeoutMs);
    const startedAt = performance.now();
    try {
      // A copy: the engine deletes undefined/null values from the object it is given.
      const data: unknown = await calls.run(context, () =>
        engine.doRequest(method, `${API_ROOT}${path}`, path, params && { ...params }),
      );
      // The engine swallows a body that could not be read (abort included) and answers null.
      if (context.timedOut && data === null)
        throw new Error('deadline passed while reading the answer');
      log?.debug({ method, path, ms: Math.round(performance.now() - startedAt) }, 'proxmox call');
      return data;
    } catch (error) {
      const mapped = scrub(failure(error, context, call));
      log?.debug(
        {
          method,
          path,
          ms: Math.round(performance.now() - startedAt),
          code: mapped.code,
          status: mapped.status,
        },
        'proxmox call failed',
      );
      throw mapped;
    } finally {
      clearTimeout(timer);
    }
  }

  function request(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    params?: ProxmoxParams,
  ): Promise<unknown> {
    return limiter.schedule(() => attempt(method, path, params));
  }

  function parse<Schema extends z.ZodType>(
    schemaOf: Schema,
    data: unknown,
    method: string,
    path: string,
  ): z.output<Schema> {
    const result = schemaOf.safeParse(data);
    if (result.success) return result.data;
    const issues = result.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(answer)'}: ${issue.message}`)
      .join('; ');
    throw new ProxmoxError(
      'rejected',
      `Proxmox ${method} ${path}: unexpected answer (${issues})`,
      optionalNode(nodeOfPath(path)),
    );
  }

  async function get<Schema extends z.ZodType>(
    schemaOf: Schema,
    path: string,
    params?: ProxmoxParams,
  ): Promise<z.output<Schema>> {
    return parse(schemaOf, await request('GET', path, params), 'GET', path);
  }

  /** A call that starts a task; the task runs on the node its UPID names. */
  async function task(
    method: 'POST' | 'DELETE',
    path: string,
    params?: ProxmoxParams,
  ): Promise<ProxmoxTask> {
    const upid = parse(UpidAnswer, await request(method, path, params), method, path);
    const node = parseUpid(upid)?.node ?? nodeOfPath(path);
    if (node === undefined)
      throw new ProxmoxError('rejected', `Proxmox ${method} ${path}: task ${upid} names no node`);
    return { node, upid };
  }

  async function rows(path: string, type: string): Promise<Record<string, unknown>[]> {
    const data = await get(ClusterResourceRow.array(), path, { type });
    return data.filter((row) =>
      type === 'vm' ? row.type === 'qemu' || row.type === 'lxc' : row.type === type,
    );
  }

  async function taskStatus(current: ProxmoxTask): Promise<TaskState> {
    const answer = await get(
      TaskStatusAnswer,
      pathOf('nodes', current.node, 'tasks', current.upid, 'status'),
    );
    if (answer.status === 'running') return { state: 'running' };
    const exitstatus = answer.exitstatus ?? 'task stopped without an exit status';
    return taskSucceeded(exitstatus) ? { state: 'ok' } : { state: 'failed', exitstatus };
  }

  return {
    async version() {
      const answer = await get(VersionAnswer, '/version');
      return { version: answer.version, release: answer.release };
    },

    async guests(): Promise<ClusterGuest[]> {
      const path = '/cluster/resources';
      const guests = parse(ClusterVmResource.array(), await rows(path, 'vm'), 'GET', path);
      return guests.map((row) => ({
        node: row.node,
        kind: row.type,
        vmid: row.vmid,
        name: row.name ?? '',
        status: row.status ?? 'unknown',
        tags: parseTags(row.tags),
        template: row.template ?? false,
        ...(row.lock === undefined || row.lock === '' ? {} : { lock: row.lock }),
        uptimeS: row.uptime ?? 0,
        cores: row.maxcpu ?? 0,
        memoryBytes: row.maxmem ?? 0,
      }));
    },

    async nodes(): Promise<ClusterNode[]> {
      const path = '/cluster/resources';
      const nodes = parse(ClusterNodeResource.array(), await rows(path, 'node'), 'GET', path);
      return nodes.map((row) => ({
        node: row.node,
        online: row.status === 'online',
        cores: row.maxcpu ?? 0,
        coresUsed: (row.cpu ?? 0) * (row.maxcpu ?? 0),
        memoryBytes: row.maxmem ?? 0,
        memoryUsedBytes: row.mem ?? 0,
      }));
    },

    nextVmid: () => get(NextIdAnswer, '/cluster/nextid'),

    clone(source, params) {
      return task('POST', guestPath(source, 'clone'), {
        newid: params.newid,
        [source.kind === 'lxc' ? 'hostname' : 'name']: params.name,
        target: params.target,
        full: params.full,
        storage: params.storage,
        pool: params.pool,
        description: params.description,
      });
    },

    create: (node: string, kind: GuestKind, params: ProxmoxParams) =>
      task('POST', pathOf('nodes', node, kind), params),

    config: (ref) => get(GuestConfigAnswer, guestPath(ref, 'config')),

    async updateConfig(ref, params) {
      await request('PUT', guestPath(ref, 'config'), params);
    },

    async status(ref) {
      const answer = await get(GuestStatusAnswer, guestPath(ref, 'status', 'current'));
      return {
        status: answer.status,
        uptimeS: answer.uptime ?? 0,
        ...(answer.lock === undefined || answer.lock === '' ? {} : { lock: answer.lock }),
      };
    },

    start: (ref) => task('POST', guestPath(ref, 'status', 'start')),

    shutdown: (ref, { timeoutS, forceStop }) =>
      task('POST', guestPath(ref, 'status', 'shutdown'), { timeout: timeoutS, forceStop }),

    stop: (ref) => task('POST', guestPath(ref, 'status', 'stop')),

    destroy: (ref) =>
      task('DELETE', guestPath(ref), { purge: true, 'destroy-unreferenced-disks': true }),

    taskStatus,

    async waitForTask(current, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
      const pollMs = Math.max(1, waitOptions.pollMs ?? DEFAULT_TASK_POLL_MS);
      const { signal } = waitOptions;
      const deadline = clock.now() + timeoutMs;
      // Bounded by the deadline: every turn either returns, throws or sleeps until closer to it.
      for (;;) {
        signal?.throwIfAborted();
        let state: TaskState | undefined;
        try {
          state = await taskStatus(current);
        } catch (error) {
          // A node that drops off for a moment is not a failed task; anything else is the caller's.
          if (!(error instanceof ProxmoxError) || error.code !== 'unreachable') throw error;
          if (clock.now() >= deadline) throw error;
          log?.debug({ upid: current.upid, code: error.code }, 'proxmox task status unreachable');
        }
        if (state?.state === 'ok') return;
        if (state?.state === 'failed')
          throw new ProxmoxError('task-failed', state.exitstatus, { node: current.node });
        const left = deadline - clock.now();
        if (left <= 0)
          throw new ProxmoxError(
            'timeout',
            `Proxmox task ${current.upid} still running after ${timeoutMs} ms (it may still finish)`,
            { node: current.node },
          );
        await clock.sleep(Math.min(pollMs, left), signal);
      }
    },
  };
}

function optionalNode(node: string | undefined): { node?: string } {
  return node === undefined ? {} : { node };
}
