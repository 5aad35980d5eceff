/**
 * A local stand-in for Anthropic's Messages API, for tests and `npm run bench:llm`.
 *
 * It speaks enough of the wire format (POST /v1/messages, non-streaming) that the real
 * `@anthropic-ai/sdk` client, given `baseURL: api.url`, works unchanged — so retries, timeouts and
 * error classes are the SDK's own, not a mock's. Every request is recorded, so callers count calls
 * and tokens from what the SDK actually sent.
 *
 * Answers come from a "brain" (a pure function of the request); a queue of scripted behaviours
 * can instead fail a request with a status, delay it, or corrupt its tool inputs.
 *
 * Token accounting imitates prompt caching: the prompt is tools, then system, then each message's
 * content blocks; the last block carrying `cache_control` (or the last block, when the body has a
 * top-level `cache_control`) ends the cacheable prefix. A prefix of at least `minCacheableTokens`
 * is written to the cache the first time this server sees it (same model, same parts) and read
 * from it afterwards. Tokens are approximated as a quarter of the characters — the bench compares
 * runs against each other, not against real billing.
 *
 * Only loopback: the server binds 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface FakeCall {
  /** 0-based request number over the server's lifetime (resetCalls does not restart it). */
  index: number;
  /** ms since the server started, when the request arrived. */
  atMs: number;
  /** Lower-cased. */
  headers: Record<string, string>;
  /** The parsed JSON request body ({} when it was not a JSON object). */
  body: Record<string, unknown>;
  /** What we answered; 0 while a slow answer is pending, 499 when the client left first. */
  status: number;
  /** On 200 answers. */
  usage?: FakeUsage;
  /** The behaviour applied; requests rejected before the script (404, 401, 400) count as 'status'. */
  behaviour: FakeBehaviour['kind'];
}

/** What the "model" answers for one request: a tool call and/or text. */
export interface BrainAnswer {
  text?: string;
  toolUses?: { name: string; input: unknown }[];
  stopReason?: 'end_turn' | 'tool_use' | 'max_tokens';
}

export type FakeBrain = (request: {
  model: string;
  system: unknown;
  messages: unknown[];
  tools: unknown[];
  tool_choice: unknown;
}) => BrainAnswer;

export type FakeBehaviour =
  | { kind: 'answer' }
  | {
      kind: 'status';
      status: number;
      errorType?: string;
      retryAfterSeconds?: number;
      message?: string;
    }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'malformed' };

export interface FakeMessagesApi {
  /** http://127.0.0.1:<port> — the SDK's baseURL. */
  readonly url: string;
  readonly calls: FakeCall[];
  /** Queue behaviours; each well-formed request consumes one; when empty, 'answer'. */
  script(...behaviours: FakeBehaviour[]): void;
  setBrain(brain: FakeBrain): void;
  /** Forget recorded calls (not the cache). */
  resetCalls(): void;
  close(): Promise<void>;
}

export interface FakeMessagesApiOptions {
  brain?: FakeBrain;
  port?: number;
  /** Smallest prefix, in approximate tokens, that is cached: a number, or per model (the default). */
  minCacheableTokens?: number | ((model: string) => number);
}

/**
 * Anthropic's minimum cacheable prompt length per model family (prompt-caching docs): 4096 tokens
 * for Haiku 4.5 and Opus 4.5 and later, 2048 for Haiku 3.x, 1024 for the other current models.
 */
export function defaultMinCacheableTokens(model: string): number {
  if (/^claude-(?:haiku-4-5|opus-4-[5-9])/.test(model)) return 4096;
  if (/^claude-(?:3-5-haiku|3-haiku|haiku-3)/.test(model)) return 2048;
  return 1024;
}
// Generous for a test server, but stops a runaway client from filling memory.
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const CLIENT_CLOSED_REQUEST = 499;

const ERROR_TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

/** Approximate token count: a quarter of the characters of the string, or of its JSON. */
export function approximateTokens(value: unknown): number {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text === undefined ? 0 : Math.ceil(text.length / 4);
}

/** Answers a forced tool call with an empty input, anything else with "ok". */
export const defaultBrain: FakeBrain = ({ tool_choice }) => {
  if (
    isRecord(tool_choice) &&
    tool_choice.type === 'tool' &&
    typeof tool_choice.name === 'string'
  ) {
    return { toolUses: [{ name: tool_choice.name, input: {} }] };
  }
  return { text: 'ok' };
};

export async function startFakeMessagesApi(
  options: FakeMessagesApiOptions = {},
): Promise<FakeMessagesApi> {
  const option = options.minCacheableTokens ?? defaultMinCacheableTokens;
  const minCacheableTokens = (model: string): number =>
    typeof option === 'number' ? option : option(model);
  const startedAt = performance.now();
  const calls: FakeCall[] = [];
  const queue: FakeBehaviour[] = [];
  const cache = new Set<string>();
  // Cancels every pending 'slow' wait, so close() leaves no timer behind.
  const pendingWaits = new Set<() => void>();
  let brain = options.brain ?? defaultBrain;
  let nextIndex = 0;
  let closed = false;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug here must not take the test process down; answer 500 if we still can.
      if (!res.headersSent && !res.destroyed) {
        sendError(res, 'req_fake_unhandled', 500, 'api_error', errorMessage(error));
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const atMs = performance.now() - startedAt;
    const raw = await readBody(req);
    const call: FakeCall = {
      index: nextIndex++,
      atMs,
      headers: lowerCaseHeaders(req),
      body: {},
      status: 0,
      behaviour: 'status',
    };
    calls.push(call);
    const requestId = `req_fake_${call.index}`;

    const reject = (status: number, message: string): void => {
      call.status = status;
      sendError(res, requestId, status, errorTypeFor(status), message);
    };

    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method !== 'POST' || path !== '/v1/messages') {
      return reject(404, `Not found: ${req.method ?? '?'} ${path}`);
    }
    if (raw === undefined) return reject(413, 'Request body too large.');
    const parsed = parseJson(raw);
    if (isRecord(parsed)) call.body = parsed;
    // This SDK (1.x) sends the API key as `Authorization: Bearer …`; older clients use x-api-key.
    if (!call.headers['x-api-key'] && !/^Bearer \S/i.test(call.headers.authorization ?? '')) {
      return reject(401, 'x-api-key or Authorization: Bearer header is required');
    }
    if (!call.headers['anthropic-version']) {
      return reject(400, 'anthropic-version: header is required');
    }
    if (!isRecord(parsed)) return reject(400, 'The request body is not a valid JSON object.');
    const problem = requestProblem(parsed);
    if (problem) return reject(400, problem);

    const behaviour = queue.shift() ?? { kind: 'answer' };
    call.behaviour = behaviour.kind;
    if (behaviour.kind === 'status') {
      call.status = behaviour.status;
      const headers: Record<string, string> = {};
      if (behaviour.retryAfterSeconds !== undefined) {
        headers['retry-after'] = String(behaviour.retryAfterSeconds);
      }
      sendError(
        res,
        requestId,
        behaviour.status,
        behaviour.errorType ?? errorTypeFor(behaviour.status),
        behaviour.message ?? `Scripted ${behaviour.status}.`,
        headers,
      );
      return;
    }
    if (behaviour.kind === 'slow') {
      const waitedFully = await waitUnlessClientLeaves(behaviour.delayMs, res);
      if (!waitedFully || closed || res.destroyed) {
        call.status = CLIENT_CLOSED_REQUEST;
        return;
      }
    }

    let answer: BrainAnswer;
    try {
      answer = brain({
        model: parsed.model as string,
        system: parsed.system,
        messages: parsed.messages as unknown[],
        tools: Array.isArray(parsed.tools) ? parsed.tools : [],
        tool_choice: parsed.tool_choice,
      });
    } catch (error) {
      return reject(500, `The fake brain threw: ${errorMessage(error)}`);
    }
    const content = contentBlocks(answer, call.index, behaviour.kind === 'malformed');
    const usage = accountUsage(parsed, content);
    call.status = 200;
    call.usage = usage;
    sendJson(res, requestId, 200, {
      id: `msg_fake_${call.index}`,
      type: 'message',
      role: 'assistant',
      model: parsed.model,
      content,
      stop_reason: answer.stopReason ?? (answer.toolUses?.length ? 'tool_use' : 'end_turn'),
      stop_sequence: null,
      // Required-but-nullable fields of the SDK's Message type.
      stop_details: null,
      container: null,
      usage: { ...usage, cache_creation: null, service_tier: 'standard' },
    });
  }

  /** Resolves true after ms, or false as soon as the client disconnects or close() is called. */
  function waitUnlessClientLeaves(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (waitedFully: boolean): void => {
        clearTimeout(timer);
        res.off('close', onClose);
        pendingWaits.delete(cancel);
        resolve(waitedFully);
      };
      const onClose = (): void => finish(false);
      const cancel = (): void => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      res.on('close', onClose);
      pendingWaits.add(cancel);
    });
  }

  /** The prompt-caching simulation described in the module header. */
  function accountUsage(body: Record<string, unknown>, content: unknown[]): FakeUsage {
    const { parts, breakpoint } = promptParts(body);
    const tokens = parts.map(approximateTokens);
    const total = sum(tokens);
    const prefixTokens = breakpoint < 0 ? 0 : sum(tokens.slice(0, breakpoint + 1));
    const usage: FakeUsage = {
      input_tokens: total,
      output_tokens: approximateTokens(content),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    if (breakpoint < 0 || prefixTokens < minCacheableTokens(String(body.model))) return usage;
    const key = createHash('sha256')
      .update(String(body.model))
      .update(JSON.stringify(parts.slice(0, breakpoint + 1)))
      .digest('hex');
    if (cache.has(key)) {
      usage.cache_read_input_tokens = prefixTokens;
    } else {
      cache.add(key);
      usage.cache_creation_input_tokens = prefixTokens;
    }
    usage.input_tokens = total - prefixTokens;
    return usage;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    script(...behaviours) {
      queue.push(...behaviours);
    },
    setBrain(next) {
      brain = next;
    },
    resetCalls() {
      calls.length = 0;
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      for (const cancel of [...pendingWaits]) cancel();
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

/** Why the body is not a request we answer, or undefined when it is. */
function requestProblem(body: Record<string, unknown>): string | undefined {
  if (typeof body.model !== 'string' || body.model === '') return 'model: Field required';
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens)) {
    return 'max_tokens: Field required';
  }
  if (body.max_tokens < 1) return 'max_tokens: must be at least 1';
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return 'messages: at least one message is required';
  }
  const badMessage = body.messages.findIndex(
    (message) =>
      !isRecord(message) ||
      typeof message.role !== 'string' ||
      !(typeof message.content === 'string' || Array.isArray(message.content)),
  );
  if (badMessage >= 0) return `messages.${badMessage}: needs a role and string or array content`;
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) {
    return 'system: must be a string or an array of text blocks';
  }
  if (body.tools !== undefined && !Array.isArray(body.tools)) return 'tools: must be an array';
  if (body.stream === true) return 'stream: this fake server does not stream';
  return undefined;
}

/** The prompt in cache order, and the index of the part that ends the cacheable prefix (-1: none). */
function promptParts(body: Record<string, unknown>): { parts: unknown[]; breakpoint: number } {
  const parts: unknown[] = [];
  if (Array.isArray(body.tools)) parts.push(...body.tools);
  if (typeof body.system === 'string') parts.push(body.system);
  else if (Array.isArray(body.system)) parts.push(...body.system);
  for (const message of body.messages as Record<string, unknown>[]) {
    if (Array.isArray(message.content)) parts.push(...message.content);
    else parts.push(message.content);
  }
  // A top-level cache_control marks the last cacheable block, which is always the latest one.
  if (isRecord(body.cache_control)) return { parts, breakpoint: parts.length - 1 };
  let breakpoint = -1;
  parts.forEach((part, i) => {
    if (isRecord(part) && part.cache_control != null) breakpoint = i;
  });
  return { parts, breakpoint };
}

function contentBlocks(answer: BrainAnswer, index: number, malformed: boolean): unknown[] {
  const blocks: unknown[] = [];
  if (answer.text !== undefined) blocks.push({ type: 'text', text: answer.text, citations: null });
  (answer.toolUses ?? []).forEach((use, k) => {
    blocks.push({
      type: 'tool_use',
      id: `toolu_fake_${index}_${k}`,
      name: use.name,
      input: malformed ? { unexpected: true } : use.input,
      caller: { type: 'direct' },
    });
  });
  return blocks;
}

/** The raw body, or undefined when it exceeds MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    // Keep draining so the answer can still be written on a keep-alive socket.
    if (!tooLarge) chunks.push(chunk);
  }
  return tooLarge ? undefined : Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return headers;
}

function errorTypeFor(status: number): string {
  return ERROR_TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

function sendError(
  res: ServerResponse,
  requestId: string,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    requestId,
    status,
    { type: 'error', error: { type, message }, request_id: requestId },
    headers,
  );
}

function sendJson(
  res: ServerResponse,
  requestId: string,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'request-id': requestId,
    ...headers,
  });
  res.end(body);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
