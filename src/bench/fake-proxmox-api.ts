/**
 * A local stand-in for the Proxmox VE API (`/api2/json`) for tests and benches: the routes the bot's
 * Proxmox client calls, answered with Proxmox's wire format so the real `proxmox-api` engine runs
 * unchanged against it (exact `application/json;charset=UTF-8` content type, `{"data": …}` bodies,
 * errors in the HTTP status text, 401 "permission denied - invalid PVE ticket" to trigger re-login).
 *
 * Long operations are tasks with UPIDs, timed on the injected `now()`: a task ends when `now()`
 * passes its end time, checked lazily at every request and in `settle()` — so a SimulatedClock
 * drives the cluster without timers. Rules copied from Proxmox because callers depend on them: a
 * clone's config appears at once on the target node with `lock: clone` (removed again when the task
 * fails); linked clones stay on the source's node; locked guests refuse changes; running guests
 * refuse destroy; a path naming an offline node answers 595 "No route to host".
 *
 * Simplifications: no privileges (every valid credential may do everything), no storage, pools or
 * disks; create keeps every API parameter (but `vmid`) in the guest's config as given.
 *
 * Only loopback: the server binds 127.0.0.1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { GuestKind } from '../proxmox/types.js';
import { startLoopbackServer } from './loopback-server.js';
import { errorText } from '../outcome.js';

/** A cluster node. */
export interface FakeNodeSpec {
  name: string;
  cores: number;
  memoryMiB: number;
  /** Default true. */
  online?: boolean;
}

/** A guest that exists when the fake starts (templates included). */
export interface FakeGuestSpec {
  vmid: number;
  node: string;
  kind: GuestKind;
  name: string;
  template?: boolean;
  tags?: string[];
  /** Default 'stopped'. */
  status?: 'running' | 'stopped';
  /** Default 1. */
  cores?: number;
  /** Default 512. */
  memoryMiB?: number;
  /** Further config keys (cicustom, net0, …); the fields above win. */
  config?: Record<string, string | number>;
}

export type FakeTaskType = 'clone' | 'create' | 'start' | 'stop' | 'shutdown' | 'destroy';

export interface FakeProxmoxOptions {
  /** HTTPS with a self-signed cert made by `openssl` (CN/SAN 127.0.0.1, localhost). */
  tls?: boolean;
  /** The clock tasks and tickets are timed by (default Date.now); SimulatedClock.now works. */
  now?: () => number;
  /** Token id ('ai-provision@pve!runners') → secret (UUID). */
  tokens?: Record<string, string>;
  /** 'root@pam' → password. */
  users?: Record<string, string>;
  /** Ticket age after which it is refused (default 2 h). */
  ticketTtlMs?: number;
  nodes: FakeNodeSpec[];
  guests?: FakeGuestSpec[];
  /** Task duration on `now` (defaults: clone 200, create 200, start 100, stop 50, shutdown 100, destroy 100). */
  taskMs?: Partial<Record<FakeTaskType, number>>;
  /**
   * A qemu start fails (exitstatus "volume '<vol>' does not exist") when its cicustom `user=`
   * snippet file is missing from this dir.
   */
  snippetsDir?: string;
  /** nextid starts here (default 100). */
  firstVmid?: number;
  /** Called when a start task completes (or a create with `start=1`). */
  onGuestStarted?: (guest: FakeGuest) => void;
  /** Called when stop/shutdown completes or the guest is destroyed while running. */
  onGuestStopped?: (guest: FakeGuest) => void;
}

/** A guest as the fake holds it (copies are handed out; changing them changes nothing). */
export interface FakeGuest {
  vmid: number;
  node: string;
  kind: GuestKind;
  name: string;
  template: boolean;
  tags: string[];
  status: 'running' | 'stopped';
  lock?: string;
  cores: number;
  memoryMiB: number;
  /** `now()` when it last started; absent while stopped. */
  startedAt?: number;
  config: Record<string, string | number>;
}

export interface FakeTask {
  upid: string;
  /** The node of the path the task was posted to. */
  node: string;
  type: FakeTaskType;
  /** The vmid the task is about (for a clone: the source's). */
  id: string;
  startedAt: number;
  endsAt: number;
  /** "OK" or the error text; set when done. */
  exitstatus?: string;
}

export interface RecordedRequest {
  method: string;
  /** URL-decoded, relative to `/api2/json`, without the query (e.g. `/nodes/pve1/qemu/101/config`). */
  path: string;
  /** Query and form parameters (a login's password is not recorded). */
  params: Record<string, string>;
  /** The kind of credentials the request carried, valid or not. */
  auth: 'token' | 'ticket' | 'none';
  /** What the fake answered (0 until it has). */
  status: number;
}

export interface FakeProxmox {
  /** e.g. https://127.0.0.1:PORT (no trailing slash). */
  url: string;
  host: string;
  port: number;
  /** The self-signed certificate (PEM) when `tls`. */
  caPem?: string;
  guests(): FakeGuest[];
  tasks(): FakeTask[];
  requests: RecordedRequest[];
  guest(vmid: number): FakeGuest | undefined;
  /** The next task matching `match` ends failed with `exitstatus` (count times, default 1). */
  failNext(match: { type?: FakeTaskType; node?: string }, exitstatus: string, count?: number): void;
  setOnline(node: string, online: boolean): void;
  /** Every request answers this status/text until cleared (e.g. 503 to simulate an outage); undefined clears. */
  setOutage(outage: { status: number; text: string } | undefined): void;
  expireTickets(): void;
  /** Completes every task whose end time has passed on `now` (done lazily at each request too). */
  settle(): void;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json;charset=UTF-8';
const API_PREFIX = '/api2/json';
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const DEFAULT_TASK_MS: Record<FakeTaskType, number> = {
  clone: 200,
  create: 200,
  start: 100,
  stop: 50,
  shutdown: 100,
  destroy: 100,
};
const DEFAULT_TICKET_TTL_MS = 2 * 3_600_000;
const MAX_BODY_BYTES = MIB;
/** Recorded requests and finished tasks kept (oldest dropped first), so long benches stay bounded. */
const MAX_KEPT = 20_000;
const MAX_VMID = 999_999_999;
/** Config keys kept as strings even when they look like integers. */
const STRING_KEYS = new Set(['name', 'hostname', 'description', 'tags', 'digest']);

interface NodeState {
  spec: FakeNodeSpec;
  online: boolean;
}

interface TaskRecord extends FakeTask {
  kind: GuestKind;
  /** The guest the task acts on (for a clone: the new one). */
  vmid: number;
  pid: number;
  pstart: number;
  starttime: number;
  pveType: string;
  user: string;
  /** From failNext: the exitstatus it will end with. */
  plannedExit?: string;
  /** A create with `start=1` starts the guest when it ends OK. */
  startAfter: boolean;
  log: string[];
}

interface Ticket {
  user: string;
  csrf: string;
  issuedAt: number;
}

interface FailRule {
  match: { type?: FakeTaskType; node?: string };
  exitstatus: string;
  remaining: number;
}

interface State {
  options: FakeProxmoxOptions;
  now: () => number;
  bootedAt: number;
  nodes: Map<string, NodeState>;
  guests: Map<number, FakeGuest>;
  tasks: TaskRecord[];
  tickets: Map<string, Ticket>;
  failRules: FailRule[];
  outage?: { status: number; text: string };
  requests: RecordedRequest[];
  nextPid: number;
}

/** An answer other than 200; the text goes in the HTTP status line, as Proxmox puts it. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
    readonly errors?: Record<string, string>,
  ) {
    super(text);
  }
}

function paramError(errors: Record<string, string>): ApiError {
  return new ApiError(400, 'Parameter verification failed.', errors);
}

// ---------------------------------------------------------------------------------------------
// Server

export async function startFakeProxmoxApi(options: FakeProxmoxOptions): Promise<FakeProxmox> {
  const state = initialState(options);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void handleRequest(state, req, res);
  };

  const server = await startLoopbackServer(handler, { tls: options.tls === true });

  const fake: FakeProxmox = {
    url: server.url,
    host: '127.0.0.1',
    port: server.port,
    guests: () => [...state.guests.values()].map(copyGuest),
    tasks: () => state.tasks.map(publicTask),
    requests: state.requests,
    guest: (vmid) => {
      const guest = state.guests.get(vmid);
      return guest ? copyGuest(guest) : undefined;
    },
    failNext: (match, exitstatus, count = 1) => {
      state.failRules.push({ match: { ...match }, exitstatus, remaining: count });
    },
    setOnline: (node, online) => {
      const known = state.nodes.get(node);
      if (!known) throw new Error(`fake proxmox: no node ${node}`);
      known.online = online;
    },
    setOutage: (outage) => {
      if (outage) state.outage = { ...outage };
      else delete state.outage;
    },
    expireTickets: () => state.tickets.clear(),
    settle: () => settle(state),
    close: () => server.close(),
  };
  if (server.caPem !== undefined) fake.caPem = server.caPem;
  return fake;
}

function initialState(options: FakeProxmoxOptions): State {
  const now = options.now ?? Date.now;
  const nodes = new Map<string, NodeState>();
  for (const spec of options.nodes) {
    if (nodes.has(spec.name)) throw new Error(`fake proxmox: node ${spec.name} listed twice`);
    nodes.set(spec.name, { spec: { ...spec }, online: spec.online ?? true });
  }
  const guests = new Map<number, FakeGuest>();
  for (const spec of options.guests ?? []) {
    if (!nodes.has(spec.node)) throw new Error(`fake proxmox: guest ${spec.vmid} on unknown node`);
    if (guests.has(spec.vmid)) throw new Error(`fake proxmox: vmid ${spec.vmid} listed twice`);
    guests.set(spec.vmid, guestFromSpec(spec, now()));
  }
  return {
    options,
    now,
    bootedAt: now(),
    nodes,
    guests,
    tasks: [],
    tickets: new Map(),
    failRules: [],
    requests: [],
    nextPid: 0x1000,
  };
}

/** Key and certificate PEM text; the files are removed at once. */
async function handleRequest(
  state: State,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const rawPath = url.pathname.startsWith(API_PREFIX)
    ? url.pathname.slice(API_PREFIX.length)
    : url.pathname;
  const entry: RecordedRequest = {
    method,
    path: safeDecode(rawPath),
    params: {},
    auth: authKind(req.headers),
    status: 0,
  };
  keep(state.requests, entry);
  res.on('finish', () => {
    entry.status = res.statusCode;
  });
  try {
    const body = await readBody(req);
    const params = requestParams(url, body, req.headers['content-type']);
    entry.params = rawPath === '/access/ticket' ? redact(params, 'password') : params;
    settle(state);
    if (state.outage) throw new ApiError(state.outage.status, state.outage.text);
    if (!url.pathname.startsWith(`${API_PREFIX}/`)) throw notImplemented(method, url.pathname);
    const data = dispatch(state, { method, rawPath, params, headers: req.headers });
    send(res, 200, 'OK', { data });
  } catch (error) {
    if (error instanceof ApiError) {
      const body: Record<string, unknown> = { data: null };
      if (error.errors) body.errors = error.errors;
      send(res, error.status, error.text, body);
    } else {
      // A bug in the fake or in a hook: make it visible to the test rather than hang.
      const text = `fake proxmox: ${errorText(error)}`;
      send(res, 500, text, { data: null });
    }
  }
}

function send(res: ServerResponse, status: number, text: string, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, statusText(text), {
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** Node refuses control characters and non-Latin-1 in the status line; Proxmox sends one line. */
function statusText(text: string): string {
  return text.replace(/[^\t\x20-\x7e]/g, ' ').trim() || 'Error';
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'Request Entity Too Large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function requestParams(
  url: URL,
  body: string,
  contentType: string | undefined,
): Record<string, string> {
  const params: Record<string, string> = Object.fromEntries(url.searchParams);
  if (body === '') return params;
  if (contentType?.includes('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new ApiError(400, 'malformed JSON body');
    }
    if (parsed && typeof parsed === 'object') {
      for (const [key, value] of Object.entries(parsed)) params[key] = jsonParam(value);
    }
    return params;
  }
  for (const [key, value] of new URLSearchParams(body)) params[key] = value;
  return params;
}

function jsonParam(value: unknown): string {
  if (value === true) return '1';
  if (value === false) return '0';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function redact(params: Record<string, string>, key: string): Record<string, string> {
  const { [key]: _secret, ...rest } = params;
  return rest;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function keep<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_KEPT) list.splice(0, list.length - MAX_KEPT);
}

// ---------------------------------------------------------------------------------------------
// Auth

function authKind(headers: IncomingHttpHeaders): RecordedRequest['auth'] {
  if (headers.authorization?.startsWith('PVEAPIToken')) return 'token';
  if (ticketCookie(headers) !== undefined) return 'ticket';
  return 'none';
}

function ticketCookie(headers: IncomingHttpHeaders): string | undefined {
  for (const part of (headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'PVEAuthCookie') return safeDecode(rest.join('='));
  }
  return undefined;
}

/** Who is calling: the token id or the ticket's user; throws 401 as Proxmox words it. */
function authenticate(state: State, method: string, headers: IncomingHttpHeaders): string {
  const authorization = headers.authorization;
  if (authorization?.startsWith('PVEAPIToken')) {
    const match = /^PVEAPIToken=(?<id>[^=\s]+)=(?<secret>\S+)$/.exec(authorization);
    const id = match?.groups?.id ?? '';
    const expected = state.options.tokens?.[id];
    if (expected === undefined || expected !== match?.groups?.secret) {
      throw new ApiError(401, 'permission denied - invalid token value!');
    }
    return id;
  }
  const ticketText = ticketCookie(headers);
  if (ticketText === undefined) throw new ApiError(401, 'No ticket');
  const ticket = state.tickets.get(ticketText);
  const ttl = state.options.ticketTtlMs ?? DEFAULT_TICKET_TTL_MS;
  if (!ticket || state.now() - ticket.issuedAt >= ttl) {
    state.tickets.delete(ticketText);
    throw new ApiError(401, 'permission denied - invalid PVE ticket');
  }
  if (method !== 'GET' && headers.csrfpreventiontoken !== ticket.csrf) {
    throw new ApiError(401, 'Permission denied - invalid csrf token');
  }
  return ticket.user;
}

function login(state: State, params: Record<string, string>): unknown {
  const username = params.username ?? '';
  const user = username.includes('@') ? username : `${username}@${params.realm ?? 'pam'}`;
  const password = state.options.users?.[user];
  if (password === undefined || password !== params.password) {
    throw new ApiError(401, 'authentication failure');
  }
  const stamp = hex8(Math.floor(state.now() / 1000));
  const ticket = `PVE:${user}:${stamp}::${randomBytes(48).toString('base64')}`;
  const csrf = `${stamp}:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
  state.tickets.set(ticket, { user, csrf, issuedAt: state.now() });
  return { ticket, CSRFPreventionToken: csrf, username: user, cap: {} };
}

// ---------------------------------------------------------------------------------------------
// Routing

interface Call {
  method: string;
  rawPath: string;
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
}

interface RouteContext {
  state: State;
  params: Record<string, string>;
  user: string;
  /** Path parameters (`:node`, `:kind`, …), URL-decoded. */
  args: Record<string, string>;
}

interface Route {
  method: string;
  /** Segments; `:name` matches one segment (restricted to ARG_VALUES[name] when listed). */
  path: string;
  handle: (ctx: RouteContext) => unknown;
}

const ARG_VALUES: Record<string, readonly string[]> = {
  kind: ['qemu', 'lxc'],
  action: ['start', 'stop', 'shutdown'],
};

const ROUTES: Route[] = [
  { method: 'GET', path: '/version', handle: () => versionInfo() },
  { method: 'GET', path: '/cluster/resources', handle: clusterResources },
  { method: 'GET', path: '/cluster/nextid', handle: nextId },
  { method: 'GET', path: '/nodes', handle: ({ state }) => nodeList(state) },
  { method: 'GET', path: '/nodes/:node/tasks/:upid/status', handle: taskStatus },
  { method: 'GET', path: '/nodes/:node/tasks/:upid/log', handle: taskLog },
  { method: 'POST', path: '/nodes/:node/:kind', handle: createGuest },
  { method: 'POST', path: '/nodes/:node/:kind/:vmid/clone', handle: cloneGuest },
  { method: 'GET', path: '/nodes/:node/:kind/:vmid/config', handle: getConfig },
  { method: 'PUT', path: '/nodes/:node/:kind/:vmid/config', handle: putConfig },
  { method: 'GET', path: '/nodes/:node/:kind/:vmid/status/current', handle: currentStatus },
  { method: 'POST', path: '/nodes/:node/:kind/:vmid/status/:action', handle: statusAction },
  { method: 'DELETE', path: '/nodes/:node/:kind/:vmid', handle: destroyGuest },
];

function dispatch(state: State, call: Call): unknown {
  const segments = call.rawPath.split('/').filter((s) => s !== '');
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    throw new ApiError(400, 'malformed URL');
  }
  if (call.method === 'POST' && decoded.join('/') === 'access/ticket') {
    return login(state, call.params);
  }
  const user = authenticate(state, call.method, call.headers);
  // pveproxy forwards /nodes/<node>/… to that node before the method is even looked up.
  if (decoded[0] === 'nodes' && decoded[1] !== undefined) requireOnlineNode(state, decoded[1]);
  for (const route of ROUTES) {
    if (route.method !== call.method) continue;
    const args = matchPath(route.path, decoded);
    if (args) return route.handle({ state, params: call.params, user, args });
  }
  throw notImplemented(call.method, `${API_PREFIX}${call.rawPath}`);
}

function matchPath(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern.split('/').filter((s) => s !== '');
  if (parts.length !== segments.length) return undefined;
  const args: Record<string, string> = {};
  for (const [index, part] of parts.entries()) {
    const segment = segments[index]!;
    if (!part.startsWith(':')) {
      if (part !== segment) return undefined;
      continue;
    }
    const name = part.slice(1);
    const allowed = ARG_VALUES[name];
    if (allowed && !allowed.includes(segment)) return undefined;
    args[name] = segment;
  }
  return args;
}

function notImplemented(method: string, path: string): ApiError {
  return new ApiError(501, `Method '${method} ${path}' not implemented`);
}

// ---------------------------------------------------------------------------------------------
// Cluster-wide reads

function versionInfo(): unknown {
  return { version: '9.1.1', release: '9.1', repoid: 'fa4e5fa7' };
}

function clusterResources({ state, params }: RouteContext): unknown[] {
  const type = params.type;
  if (type !== undefined && !['vm', 'node', 'storage', 'sdn', 'pool'].includes(type)) {
    throw paramError({ type: `value '${type}' does not have a value in the enumeration` });
  }
  const rows: unknown[] = [];
  if (type === undefined || type === 'node') {
    for (const node of state.nodes.values()) rows.push(nodeRow(state, node));
  }
  if (type === undefined || type === 'vm') {
    const guests = [...state.guests.values()].sort((a, b) => a.vmid - b.vmid);
    for (const guest of guests) rows.push(guestRow(state, guest));
  }
  return rows;
}

function nodeRow(state: State, node: NodeState): Record<string, unknown> {
  const name = node.spec.name;
  const base = { id: `node/${name}`, type: 'node', node: name };
  if (!node.online) return { ...base, status: 'offline' };
  return {
    ...base,
    status: 'online',
    ...nodeUsage(state, node),
    maxdisk: 100 * GIB,
    disk: 10 * GIB,
  };
}

/** Contract: mem = 1 GiB + running guests' memory; cpu = min(1, running cores × 0.25 / maxcpu). */
function nodeUsage(state: State, node: NodeState): Record<string, number> {
  let memory = GIB;
  let cores = 0;
  for (const guest of state.guests.values()) {
    if (guest.node !== node.spec.name || guest.status !== 'running') continue;
    memory += guest.memoryMiB * MIB;
    cores += guest.cores;
  }
  return {
    maxcpu: node.spec.cores,
    cpu: Math.min(1, (cores * 0.25) / node.spec.cores),
    maxmem: node.spec.memoryMiB * MIB,
    mem: memory,
    uptime: 86_400 + seconds(state.now() - state.bootedAt),
  };
}

function guestRow(state: State, guest: FakeGuest): Record<string, unknown> {
  const online = state.nodes.get(guest.node)?.online ?? false;
  const running = guest.status === 'running';
  const row: Record<string, unknown> = {
    id: `${guest.kind}/${guest.vmid}`,
    type: guest.kind,
    vmid: guest.vmid,
    node: guest.node,
    name: guest.name,
    status: online ? guest.status : 'unknown',
    template: guest.template ? 1 : 0,
    maxcpu: guest.cores,
    cpu: running ? 0.02 : 0,
    maxmem: guest.memoryMiB * MIB,
    mem: running ? Math.floor((guest.memoryMiB * MIB) / 2) : 0,
    maxdisk: 32 * GIB,
    disk: 0,
    uptime: uptimeS(state, guest),
  };
  if (guest.tags.length > 0) row.tags = guest.tags.join(';');
  if (guest.lock !== undefined) row.lock = guest.lock;
  return row;
}

function nodeList(state: State): unknown[] {
  return [...state.nodes.values()].map((node) => {
    if (!node.online) return { node: node.spec.name, status: 'offline' };
    const { maxcpu, cpu, maxmem, mem, uptime } = nodeUsage(state, node);
    return { node: node.spec.name, status: 'online', maxcpu, cpu, maxmem, mem, uptime };
  });
}

function nextId({ state, params }: RouteContext): string {
  if (params.vmid !== undefined) {
    const vmid = vmidParam(params, 'vmid');
    if (state.guests.has(vmid)) throw paramError({ vmid: `VM ${vmid} already exists` });
    return String(vmid);
  }
  for (let vmid = state.options.firstVmid ?? 100; vmid <= MAX_VMID; vmid++) {
    if (!state.guests.has(vmid)) return String(vmid);
  }
  throw new ApiError(500, 'unable to get any free VMID');
}

// ---------------------------------------------------------------------------------------------
// Guests

function createGuest({ state, params, user, args }: RouteContext): string {
  const node = args.node!;
  const kind = args.kind as GuestKind;
  const vmid = vmidParam(params, 'vmid');
  if (kind === 'lxc' && !params.ostemplate) {
    throw paramError({ ostemplate: 'property is missing and it is not optional' });
  }
  requireFreeVmid(state, vmid, kind);
  const { vmid: _vmid, ...config } = params;
  const nameKey = kind === 'qemu' ? 'name' : 'hostname';
  const guest = guestFromConfig(vmid, node, kind, {
    [nameKey]: `${kind === 'qemu' ? 'VM' : 'CT'}${vmid}`,
    ...normaliseConfig(config),
  });
  guest.lock = 'create';
  state.guests.set(vmid, guest);
  const task = startTask(state, { node, kind, type: 'create', id: vmid, vmid, user });
  task.startAfter = parseBoolean(params, 'start') ?? false;
  return task.upid;
}

function cloneGuest({ state, params, user, args }: RouteContext): string {
  const source = findGuest(state, args);
  const newid = vmidParam(params, 'newid');
  const target = params.target ?? source.node;
  const full = parseBoolean(params, 'full') ?? !source.template;
  if (!full && !source.template) {
    throw paramError({ full: 'linked clones are only possible from a template' });
  }
  if (!full && target !== source.node) {
    throw paramError({ target: 'Linked clone feature is only supported on the source node' });
  }
  if (!full && params.storage !== undefined) {
    throw paramError({ storage: "parameter 'storage' not allowed for linked clones" });
  }
  // Proxmox only checks that the target is a cluster member: a clone onto an offline node works
  // and the guest shows there as "unknown" until the node is back.
  requireKnownNode(state, target);
  requireFreeVmid(state, newid, source.kind);

  const nameKey = source.kind === 'qemu' ? 'name' : 'hostname';
  const { template: _template, digest: _digest, ...copied } = source.config;
  const config: Record<string, string | number> = { ...copied };
  const name =
    params[nameKey] ?? (source.kind === 'qemu' ? `Copy-of-VM-${source.name}` : source.name);
  config[nameKey] = name;
  if (params.description !== undefined) config.description = params.description;
  const guest = guestFromConfig(newid, target, source.kind, config);
  guest.lock = 'clone';
  state.guests.set(newid, guest);
  const task = startTask(state, {
    node: args.node!,
    kind: source.kind,
    type: 'clone',
    id: source.vmid,
    vmid: newid,
    user,
  });
  task.log.unshift(
    `create ${full ? 'full' : 'linked'} clone of ${source.kind} ${source.vmid} as ${newid} on ${target}`,
  );
  return task.upid;
}

function getConfig({ state, args }: RouteContext): Record<string, string | number> {
  const guest = findGuest(state, args);
  const config: Record<string, string | number> = { ...guest.config };
  if (guest.lock !== undefined) config.lock = guest.lock;
  config.digest = digest(guest.config);
  return config;
}

function putConfig({ state, params, args }: RouteContext): null {
  const guest = findGuest(state, args);
  requireUnlocked(guest);
  const { delete: toDelete, digest: expected, skiplock: _skiplock, ...changes } = params;
  if (expected !== undefined && expected !== digest(guest.config)) {
    throw new ApiError(
      500,
      'detected modified configuration - file changed by other user? Try again.',
    );
  }
  const config: Record<string, string | number> = { ...guest.config, ...normaliseConfig(changes) };
  for (const key of (toDelete ?? '').split(/[,;\s]+/)) {
    if (key !== '') delete config[key];
  }
  applyConfig(guest, config);
  return null;
}

function currentStatus({ state, args }: RouteContext): Record<string, unknown> {
  const guest = findGuest(state, args);
  const answer: Record<string, unknown> = {
    vmid: guest.vmid,
    name: guest.name,
    status: guest.status,
    uptime: uptimeS(state, guest),
    cpus: guest.cores,
    maxmem: guest.memoryMiB * MIB,
    mem: guest.status === 'running' ? Math.floor((guest.memoryMiB * MIB) / 2) : 0,
  };
  if (guest.kind === 'qemu') answer.qmpstatus = guest.status;
  else answer.type = 'lxc';
  if (guest.template) answer.template = 1;
  if (guest.tags.length > 0) answer.tags = guest.tags.join(';');
  if (guest.lock !== undefined) answer.lock = guest.lock;
  return answer;
}

function statusAction({ state, user, args }: RouteContext): string {
  const guest = findGuest(state, args);
  const action = args.action as 'start' | 'stop' | 'shutdown';
  requireUnlocked(guest);
  const label = guestLabel(guest.kind);
  if (action === 'start' && guest.template) {
    throw new ApiError(
      500,
      `you can't start a ${guest.kind === 'qemu' ? 'vm' : 'ct'} if it's a template`,
    );
  }
  if (action === 'start' && guest.status === 'running') {
    throw new ApiError(500, `${label} ${guest.vmid} already running`);
  }
  const task = startTask(state, {
    node: args.node!,
    kind: guest.kind,
    type: action,
    id: guest.vmid,
    vmid: guest.vmid,
    user,
  });
  return task.upid;
}

function destroyGuest({ state, user, args }: RouteContext): string {
  const guest = findGuest(state, args);
  requireUnlocked(guest);
  if (guest.status === 'running') {
    throw new ApiError(500, `${guestLabel(guest.kind)} ${guest.vmid} is running - destroy failed`);
  }
  guest.lock = 'destroyed';
  const task = startTask(state, {
    node: args.node!,
    kind: guest.kind,
    type: 'destroy',
    id: guest.vmid,
    vmid: guest.vmid,
    user,
  });
  return task.upid;
}

function guestFromSpec(spec: FakeGuestSpec, now: number): FakeGuest {
  const nameKey = spec.kind === 'qemu' ? 'name' : 'hostname';
  const config: Record<string, string | number> = {
    ...normaliseConfig(spec.config ?? {}),
    [nameKey]: spec.name,
    cores: spec.cores ?? 1,
    memory: spec.memoryMiB ?? 512,
  };
  if (spec.tags && spec.tags.length > 0) config.tags = spec.tags.join(';');
  if (spec.template) config.template = 1;
  const guest = guestFromConfig(spec.vmid, spec.node, spec.kind, config);
  if (spec.status === 'running') {
    guest.status = 'running';
    guest.startedAt = now;
  }
  return guest;
}

function guestFromConfig(
  vmid: number,
  node: string,
  kind: GuestKind,
  config: Record<string, string | number>,
): FakeGuest {
  const guest: FakeGuest = {
    vmid,
    node,
    kind,
    name: '',
    template: false,
    tags: [],
    status: 'stopped',
    cores: 1,
    memoryMiB: 512,
    config: {},
  };
  applyConfig(guest, config);
  return guest;
}

/** Sets the config and the fields derived from it (name, tags, size, template). */
function applyConfig(guest: FakeGuest, config: Record<string, string | number>): void {
  if (config.tags !== undefined) {
    const tags = splitTags(String(config.tags));
    if (tags.length > 0) config.tags = tags.join(';');
    else delete config.tags;
  }
  guest.config = config;
  const name = config[guest.kind === 'qemu' ? 'name' : 'hostname'];
  guest.name = name === undefined ? '' : String(name);
  guest.tags = config.tags === undefined ? [] : splitTags(String(config.tags));
  guest.template = Number(config.template ?? 0) === 1;
  guest.cores = positiveInt(config.cores) ?? 1;
  // qemu's memory may be a property string since PVE 8 ("current=4096").
  guest.memoryMiB = positiveInt(String(config.memory ?? '').replace(/^current=/, '')) ?? 512;
}

function splitTags(text: string): string[] {
  return text.split(/[;,\s]+/).filter((tag) => tag !== '');
}

/** Integer-looking values become numbers, as Proxmox returns integer and boolean keys. */
function normaliseConfig(params: Record<string, string | number>): Record<string, string | number> {
  const config: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(params)) {
    const integer = typeof value === 'string' && /^-?\d{1,15}$/.test(value);
    config[key] = integer && !STRING_KEYS.has(key) ? Number(value) : value;
  }
  return config;
}

function positiveInt(value: unknown): number | undefined {
  const number = Number(value);
  return Number.isInteger(number) && number > 0 ? number : undefined;
}

function digest(config: Record<string, string | number>): string {
  const sorted = Object.keys(config)
    .sort()
    .map((key) => `${key}: ${config[key]}`);
  return createHash('sha1').update(sorted.join('\n')).digest('hex');
}

function findGuest(state: State, args: Record<string, string>): FakeGuest {
  const node = args.node!;
  const kind = args.kind as GuestKind;
  const vmid = vmidParam(args, 'vmid');
  const guest = state.guests.get(vmid);
  if (!guest || guest.node !== node || guest.kind !== kind) {
    const dir = kind === 'qemu' ? 'qemu-server' : 'lxc';
    throw new ApiError(
      500,
      `Configuration file 'nodes/${node}/${dir}/${vmid}.conf' does not exist`,
    );
  }
  return guest;
}

function requireFreeVmid(state: State, vmid: number, kind: GuestKind): void {
  const existing = state.guests.get(vmid);
  if (!existing) return;
  const reason = `${guestLabel(existing.kind)} ${vmid} already exists on node '${existing.node}'`;
  throw new ApiError(500, kind === 'qemu' ? `unable to create VM ${vmid} - ${reason}` : reason);
}

function requireUnlocked(guest: FakeGuest): void {
  if (guest.lock !== undefined) {
    throw new ApiError(500, `${guestLabel(guest.kind)} is locked (${guest.lock})`);
  }
}

function guestLabel(kind: GuestKind): string {
  return kind === 'qemu' ? 'VM' : 'CT';
}

function requireKnownNode(state: State, name: string): NodeState {
  const node = state.nodes.get(name);
  if (!node) throw new ApiError(500, `no such cluster node '${name}'`);
  return node;
}

function requireOnlineNode(state: State, name: string): void {
  if (!requireKnownNode(state, name).online) throw new ApiError(595, 'No route to host');
}

function vmidParam(params: Record<string, string>, key: string): number {
  const text = params[key];
  if (text === undefined) throw paramError({ [key]: 'property is missing and it is not optional' });
  if (!/^\d+$/.test(text))
    throw paramError({ [key]: `type check ('integer') failed - got '${text}'` });
  const vmid = Number(text);
  if (vmid < 100 || vmid > MAX_VMID) {
    throw paramError({ [key]: `value must have a minimum value of 100` });
  }
  return vmid;
}

function parseBoolean(params: Record<string, string>, key: string): boolean | undefined {
  const text = params[key]?.toLowerCase();
  if (text === undefined) return undefined;
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw paramError({ [key]: `type check ('boolean') failed - got '${params[key]}'` });
}

function uptimeS(state: State, guest: FakeGuest): number {
  return guest.status === 'running' && guest.startedAt !== undefined
    ? seconds(state.now() - guest.startedAt)
    : 0;
}

function seconds(ms: number): number {
  return Math.max(0, Math.floor(ms / 1000));
}

function copyGuest(guest: FakeGuest): FakeGuest {
  return { ...guest, tags: [...guest.tags], config: { ...guest.config } };
}

// ---------------------------------------------------------------------------------------------
// Tasks

function startTask(
  state: State,
  spec: {
    node: string;
    kind: GuestKind;
    type: FakeTaskType;
    id: number;
    vmid: number;
    user: string;
  },
): TaskRecord {
  const now = state.now();
  const pid = state.nextPid++;
  const pstart = 500_000 + pid;
  const starttime = Math.floor(now / 1000);
  const pveType = `${spec.kind === 'qemu' ? 'qm' : 'vz'}${spec.type}`;
  const upid = `UPID:${spec.node}:${hex8(pid)}:${hex8(pstart)}:${hex8(starttime)}:${pveType}:${spec.id}:${spec.user}:`;
  const duration = state.options.taskMs?.[spec.type] ?? DEFAULT_TASK_MS[spec.type];
  const task: TaskRecord = {
    upid,
    node: spec.node,
    type: spec.type,
    id: String(spec.id),
    startedAt: now,
    endsAt: now + Math.max(0, duration),
    kind: spec.kind,
    vmid: spec.vmid,
    pid,
    pstart,
    starttime,
    pveType,
    user: spec.user,
    startAfter: false,
    log: [],
  };
  const plannedExit = takeFailure(state, task);
  if (plannedExit !== undefined) task.plannedExit = plannedExit;
  keepTask(state, task);
  return task;
}

/** Finished tasks beyond MAX_KEPT are forgotten, oldest first; running ones are always kept. */
function keepTask(state: State, task: TaskRecord): void {
  state.tasks.push(task);
  if (state.tasks.length <= MAX_KEPT) return;
  const index = state.tasks.findIndex((t) => t.exitstatus !== undefined);
  if (index >= 0) state.tasks.splice(index, 1);
}

function takeFailure(state: State, task: TaskRecord): string | undefined {
  const rule = state.failRules.find(
    (r) =>
      (r.match.type === undefined || r.match.type === task.type) &&
      (r.match.node === undefined || r.match.node === task.node),
  );
  if (!rule) return undefined;
  rule.remaining--;
  if (rule.remaining <= 0) state.failRules.splice(state.failRules.indexOf(rule), 1);
  return rule.exitstatus;
}

function settle(state: State): void {
  const now = state.now();
  const due = state.tasks
    .filter((task) => task.exitstatus === undefined && task.endsAt <= now)
    .sort((a, b) => a.endsAt - b.endsAt || a.pid - b.pid);
  for (const task of due) finishTask(state, task);
}

function finishTask(state: State, task: TaskRecord): void {
  const guest = state.guests.get(task.vmid);
  const exit = task.plannedExit ?? precondition(state, task, guest) ?? 'OK';
  task.exitstatus = exit;
  task.log.push(exit === 'OK' ? 'TASK OK' : `TASK ERROR: ${exit}`);
  if (!guest) return;
  const ok = exit === 'OK';
  switch (task.type) {
    case 'clone':
    case 'create':
      if (!ok) {
        state.guests.delete(guest.vmid);
        return;
      }
      delete guest.lock;
      if (task.startAfter) markRunning(state, guest, task.endsAt);
      return;
    case 'start':
      if (ok) markRunning(state, guest, task.endsAt);
      return;
    case 'stop':
    case 'shutdown':
      if (ok) markStopped(state, guest);
      return;
    case 'destroy':
      delete guest.lock;
      if (!ok) return;
      markStopped(state, guest);
      state.guests.delete(guest.vmid);
      return;
  }
}

/** Why a task that was not told to fail fails anyway, checked when it ends. */
function precondition(
  state: State,
  task: TaskRecord,
  guest: FakeGuest | undefined,
): string | undefined {
  if (!guest) {
    const dir = task.kind === 'qemu' ? 'qemu-server' : 'lxc';
    return `Configuration file 'nodes/${task.node}/${dir}/${task.vmid}.conf' does not exist`;
  }
  if (task.type === 'start' && guest.kind === 'qemu') return missingSnippet(state, guest);
  return undefined;
}

function missingSnippet(state: State, guest: FakeGuest): string | undefined {
  const dir = state.options.snippetsDir;
  const cicustom = guest.config.cicustom;
  if (dir === undefined || cicustom === undefined) return undefined;
  const volume = /(?:^|,)user=(?<volume>[^,]+)/.exec(String(cicustom))?.groups?.volume;
  if (volume === undefined) return undefined;
  const file = volume.slice(volume.indexOf(':') + 1).replace(/^snippets\//, '');
  return existsSync(join(dir, file)) ? undefined : `volume '${volume}' does not exist`;
}

function markRunning(state: State, guest: FakeGuest, at: number): void {
  guest.status = 'running';
  guest.startedAt = at;
  state.options.onGuestStarted?.(copyGuest(guest));
}

function markStopped(state: State, guest: FakeGuest): void {
  if (guest.status !== 'running') return;
  guest.status = 'stopped';
  delete guest.startedAt;
  state.options.onGuestStopped?.(copyGuest(guest));
}

function findTask(state: State, args: Record<string, string>): TaskRecord {
  if (!/^UPID:/.test(args.upid ?? '')) throw paramError({ upid: 'unable to parse worker upid' });
  const task = state.tasks.find((t) => t.upid === args.upid);
  if (!task || task.node !== args.node) throw new ApiError(500, 'no such task');
  return task;
}

function taskStatus({ state, args }: RouteContext): Record<string, unknown> {
  const task = findTask(state, args);
  const answer: Record<string, unknown> = {
    upid: task.upid,
    node: task.node,
    pid: task.pid,
    pstart: task.pstart,
    starttime: task.starttime,
    type: task.pveType,
    id: task.id,
    user: task.user,
    status: task.exitstatus === undefined ? 'running' : 'stopped',
  };
  if (task.exitstatus !== undefined) answer.exitstatus = task.exitstatus;
  return answer;
}

function taskLog({ state, args, params }: RouteContext): unknown[] {
  const task = findTask(state, args);
  const lines = [`starting ${task.pveType} task for ${task.kind} ${task.vmid}`, ...task.log];
  const start = Math.max(0, Number(params.start ?? 0) || 0);
  const limit = Math.max(0, Number(params.limit ?? 50) || 50);
  return lines.slice(start, start + limit).map((t, index) => ({ n: start + index + 1, t }));
}

function publicTask(task: TaskRecord): FakeTask {
  const copy: FakeTask = {
    upid: task.upid,
    node: task.node,
    type: task.type,
    id: task.id,
    startedAt: task.startedAt,
    endsAt: task.endsAt,
  };
  if (task.exitstatus !== undefined) copy.exitstatus = task.exitstatus;
  return copy;
}

function hex8(value: number): string {
  return (value >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
