import Anthropic from '@anthropic-ai/sdk';
import {
  approximateTokens,
  defaultMinCacheableTokens,
  startFakeMessagesApi,
  type FakeMessagesApi,
} from '../../../src/bench/fake-messages-api.js';

const MODEL = 'claude-test-model';
const TOOL = {
  name: 'submit_plan',
  description: 'Submit the plan.',
  input_schema: { type: 'object' as const, properties: { cpu: { type: 'string' } } },
};
const USER = [{ role: 'user' as const, content: 'size this service' }];

function client(api: FakeMessagesApi, options: { maxRetries?: number; timeout?: number } = {}) {
  return new Anthropic({ apiKey: 'test-key', baseURL: api.url, maxRetries: 0, ...options });
}

/** Waits (bounded) until the server has recorded `count` answered calls. */
async function answeredCalls(api: FakeMessagesApi, count: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (api.calls.filter((call) => call.status !== 0).length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`expected ${count} answered calls, saw ${api.calls.length}`);
}

function post(api: FakeMessagesApi, body: string, headers: Record<string, string> = {}) {
  return fetch(`${api.url}/v1/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': 'k',
      'anthropic-version': '2023-06-01',
      ...headers,
    },
    body,
  });
}

const VALID_BODY = JSON.stringify({ model: MODEL, max_tokens: 16, messages: USER });

describe('bench/fake-messages-api', () => {
  let api: FakeMessagesApi;

  beforeEach(async () => {
    api = await startFakeMessagesApi();
  });

  afterEach(async () => {
    await api.close();
  });

  describe('approximateTokens', () => {
    it.each([
      ['', 0],
      ['abcd', 1],
      ['abcde', 2],
      [{ a: 1 }, 2], // {"a":1} is 7 characters
      [undefined, 0],
    ])('%p → %p', (value, expected) => {
      expect(approximateTokens(value)).toBe(expected);
    });
  });

  describe('answers through the real SDK', () => {
    it('answers a forced tool call with the tool_use block and records the request', async () => {
      const message = await client(api).messages.create({
        model: MODEL,
        max_tokens: 256,
        system: 'You size workloads.',
        tools: [TOOL],
        tool_choice: { type: 'tool', name: 'submit_plan' },
        messages: USER,
      });

      expect(message.stop_reason).toBe('tool_use');
      expect(message.content).toEqual([
        expect.objectContaining({
          type: 'tool_use',
          id: 'toolu_fake_0_0',
          name: 'submit_plan',
          input: {},
        }),
      ]);
      expect(api.calls).toHaveLength(1);
      const call = api.calls[0]!;
      expect(call).toMatchObject({ index: 0, status: 200, behaviour: 'answer' });
      // This SDK sends the key as a bearer token, not as x-api-key.
      expect(call.headers.authorization).toBe('Bearer test-key');
      expect(call.headers['anthropic-version']).toEqual(expect.any(String));
      expect(call.body).toMatchObject({
        model: MODEL,
        max_tokens: 256,
        system: 'You size workloads.',
        tool_choice: { type: 'tool', name: 'submit_plan' },
        messages: USER,
      });
      expect(call.usage?.output_tokens).toBe(approximateTokens(message.content));
    });

    it("uses the brain's answer: text and tool calls, with the given stop reason", async () => {
      const seen: unknown[] = [];
      api.setBrain((request) => {
        seen.push(request);
        return {
          text: 'thinking',
          toolUses: [
            { name: 'retrieve', input: { query: 'redis' } },
            { name: 'validate', input: {} },
          ],
        };
      });

      const message = await client(api).messages.create({
        model: MODEL,
        max_tokens: 64,
        tools: [TOOL],
        messages: USER,
      });

      expect(seen).toEqual([
        { model: MODEL, system: undefined, messages: USER, tools: [TOOL], tool_choice: undefined },
      ]);
      expect(message.content.map((block) => block.type)).toEqual(['text', 'tool_use', 'tool_use']);
      expect(message.content[1]).toMatchObject({ id: 'toolu_fake_0_0', input: { query: 'redis' } });
      expect(message.content[2]).toMatchObject({ id: 'toolu_fake_0_1', name: 'validate' });
      expect(message.stop_reason).toBe('tool_use');
    });

    it('answers "ok" with end_turn by default, and ignores a query string', async () => {
      const { data, response } = await client(api)
        .messages.create({ model: MODEL, max_tokens: 16, messages: USER }, { query: { x: '1' } })
        .withResponse();

      expect(data).toMatchObject({
        id: 'msg_fake_0',
        type: 'message',
        role: 'assistant',
        model: MODEL,
        content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
      });
      expect(response.headers.get('request-id')).toBe('req_fake_0');
    });
  });

  describe('usage and prompt caching', () => {
    const longSystem = [
      {
        type: 'text' as const,
        text: 'x'.repeat(6000),
        cache_control: { type: 'ephemeral' as const },
      },
    ];

    it('creates the cache on the first call and reads it on an identical second call', async () => {
      const sdk = client(api);
      const request = { model: MODEL, max_tokens: 16, system: longSystem, messages: USER };
      const prefix = approximateTokens(longSystem[0]);
      const rest = approximateTokens(USER[0]!.content);

      const first = await sdk.messages.create(request);
      const second = await sdk.messages.create(request);

      expect(prefix).toBeGreaterThanOrEqual(1024);
      expect(first.usage).toMatchObject({
        cache_creation_input_tokens: prefix,
        cache_read_input_tokens: 0,
        input_tokens: rest,
      });
      expect(second.usage).toMatchObject({
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: prefix,
        input_tokens: rest,
      });
      expect(api.calls.map((call) => call.usage?.cache_read_input_tokens)).toEqual([0, prefix]);
    });

    it('keys the cache by model and prefix, and keeps it across resetCalls', async () => {
      const sdk = client(api);
      await sdk.messages.create({
        model: MODEL,
        max_tokens: 16,
        system: longSystem,
        messages: USER,
      });
      api.resetCalls();

      const otherModel = await sdk.messages.create({
        model: 'claude-other',
        max_tokens: 16,
        system: longSystem,
        messages: USER,
      });
      const sameAgain = await sdk.messages.create({
        model: MODEL,
        max_tokens: 16,
        system: longSystem,
        messages: [{ role: 'user', content: 'a different question' }],
      });

      expect(api.calls).toHaveLength(2);
      expect(otherModel.usage.cache_creation_input_tokens).toBeGreaterThan(0);
      expect(sameAgain.usage.cache_read_input_tokens).toBeGreaterThan(0);
    });

    it('takes the last breakpoint: tools and system before a cached message block', async () => {
      const block = {
        type: 'text' as const,
        text: 'y'.repeat(5000),
        cache_control: { type: 'ephemeral' as const },
      };
      const message = await client(api).messages.create({
        model: MODEL,
        max_tokens: 16,
        tools: [TOOL],
        system: 'short',
        messages: [{ role: 'user', content: [block, { type: 'text', text: 'tail' }] }],
      });

      const prefix =
        approximateTokens(TOOL) + approximateTokens('short') + approximateTokens(block);
      expect(message.usage.cache_creation_input_tokens).toBe(prefix);
      expect(message.usage.input_tokens).toBe(approximateTokens({ type: 'text', text: 'tail' }));
    });

    it('does not cache a prefix below the threshold, nor a prompt without a breakpoint', async () => {
      const sdk = client(api);
      const shortSystem = [
        { type: 'text' as const, text: 'short', cache_control: { type: 'ephemeral' as const } },
      ];
      const small = await sdk.messages.create({
        model: MODEL,
        max_tokens: 16,
        system: shortSystem,
        messages: USER,
      });
      const unmarked = await sdk.messages.create({
        model: MODEL,
        max_tokens: 16,
        system: 'z'.repeat(8000),
        messages: USER,
      });

      expect(small.usage).toMatchObject({
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        input_tokens: approximateTokens(shortSystem[0]) + approximateTokens(USER[0]!.content),
      });
      expect(unmarked.usage.cache_creation_input_tokens).toBe(0);
      expect(unmarked.usage.input_tokens).toBe(2000 + approximateTokens(USER[0]!.content));
    });

    it('honours a top-level cache_control and a custom threshold', async () => {
      await api.close();
      api = await startFakeMessagesApi({ minCacheableTokens: 5 });

      const message = await client(api).messages.create({
        model: MODEL,
        max_tokens: 16,
        cache_control: { type: 'ephemeral' },
        system: 'a system prompt of some length',
        messages: USER,
      });

      expect(message.usage.cache_creation_input_tokens).toBe(
        approximateTokens('a system prompt of some length') + approximateTokens(USER[0]!.content),
      );
      expect(message.usage.input_tokens).toBe(0);
    });
  });

  describe('scripted behaviours', () => {
    it('429 with retry-after surfaces as RateLimitError without retries', async () => {
      api.script({ kind: 'status', status: 429, retryAfterSeconds: 7 });

      const error = await client(api)
        .messages.create({ model: MODEL, max_tokens: 16, messages: USER })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(Anthropic.RateLimitError);
      expect(
        (error as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after'),
      ).toBe('7');
      expect((error as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({
        type: 'error',
        error: { type: 'rate_limit_error' },
      });
      expect(api.calls).toMatchObject([{ status: 429, behaviour: 'status' }]);
    });

    it('the SDK retries a 429 and then succeeds; each behaviour is consumed once', async () => {
      api.script({ kind: 'status', status: 429, retryAfterSeconds: 0 }, { kind: 'answer' });

      const message = await client(api, { maxRetries: 1 }).messages.create({
        model: MODEL,
        max_tokens: 16,
        messages: USER,
      });

      expect(message.content).toEqual([expect.objectContaining({ text: 'ok' })]);
      expect(api.calls.map((call) => call.status)).toEqual([429, 200]);
    });

    it('529 reaches the caller with status 529, 500 as InternalServerError', async () => {
      api.script({ kind: 'status', status: 529 }, { kind: 'status', status: 500 });
      const sdk = client(api);
      const request = { model: MODEL, max_tokens: 16, messages: USER };

      const overloaded = await sdk.messages.create(request).catch((e: unknown) => e);
      const internal = await sdk.messages.create(request).catch((e: unknown) => e);
      const afterScript = await sdk.messages.create(request);

      expect(overloaded).toBeInstanceOf(Anthropic.APIError);
      expect((overloaded as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
      expect((overloaded as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
        error: { type: 'overloaded_error' },
      });
      expect(internal).toBeInstanceOf(Anthropic.InternalServerError);
      expect(afterScript.stop_reason).toBe('end_turn');
    });

    it('malformed replaces every tool_use input with {unexpected: true}', async () => {
      api.setBrain(() => ({ toolUses: [{ name: 'submit_plan', input: { cpu: '250m' } }] }));
      api.script({ kind: 'malformed' });
      const sdk = client(api);
      const request = { model: MODEL, max_tokens: 16, tools: [TOOL], messages: USER };

      const broken = await sdk.messages.create(request);
      const fine = await sdk.messages.create(request);

      expect(broken.content).toEqual([
        expect.objectContaining({ type: 'tool_use', input: { unexpected: true } }),
      ]);
      expect(fine.content).toEqual([expect.objectContaining({ input: { cpu: '250m' } })]);
      expect(api.calls.map((call) => call.behaviour)).toEqual(['malformed', 'answer']);
    });

    it('slow past the client timeout → APIConnectionTimeoutError, recorded as 499', async () => {
      api.script({ kind: 'slow', delayMs: 1000 });

      const error = await client(api, { timeout: 200 })
        .messages.create({ model: MODEL, max_tokens: 16, messages: USER })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
      await answeredCalls(api, 1);
      expect(api.calls).toMatchObject([{ status: 499, behaviour: 'slow' }]);
    });

    it('slow within the client timeout answers normally', async () => {
      api.script({ kind: 'slow', delayMs: 50 });

      const message = await client(api, { timeout: 2000 }).messages.create({
        model: MODEL,
        max_tokens: 16,
        messages: USER,
      });

      expect(message.content).toEqual([expect.objectContaining({ text: 'ok' })]);
      expect(api.calls).toMatchObject([{ status: 200, behaviour: 'slow' }]);
    });

    it('close() ends a pending slow answer without waiting for it', async () => {
      api.script({ kind: 'slow', delayMs: 60_000 });
      const pending = post(api, VALID_BODY).then(
        () => 'answered',
        () => 'connection closed',
      );
      for (let i = 0; i < 100 && api.calls.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }

      const started = Date.now();
      await api.close();

      expect(await pending).toBe('connection closed');
      expect(Date.now() - started).toBeLessThan(1000);
      expect(api.calls).toMatchObject([{ status: 499 }]);
    });
  });

  describe('rejects what the real API rejects (plain fetch)', () => {
    it.each([
      ['neither x-api-key nor a bearer token', { 'x-api-key': '' }],
      ['a non-bearer Authorization', { 'x-api-key': '', authorization: 'Basic abc' }],
    ])('401 with %s', async (_name, headers) => {
      const response = await post(api, VALID_BODY, headers);

      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({
        type: 'error',
        error: { type: 'authentication_error' },
      });
      expect(response.headers.get('request-id')).toBe('req_fake_0');
    });

    it('accepts x-api-key or a bearer token', async () => {
      const byKey = await post(api, VALID_BODY);
      const byBearer = await post(api, VALID_BODY, { 'x-api-key': '', authorization: 'Bearer k' });

      expect([byKey.status, byBearer.status]).toEqual([200, 200]);
    });

    it.each([
      ['not JSON', '{"model":', {}],
      ['no model', JSON.stringify({ max_tokens: 16, messages: USER }), {}],
      ['no max_tokens', JSON.stringify({ model: MODEL, messages: USER }), {}],
      ['empty messages', JSON.stringify({ model: MODEL, max_tokens: 16, messages: [] }), {}],
      [
        'stream: true',
        JSON.stringify({ model: MODEL, max_tokens: 16, messages: USER, stream: true }),
        {},
      ],
      ['no anthropic-version', VALID_BODY, { 'anthropic-version': '' }],
    ])('400 for %s', async (_name, body, headers) => {
      api.script({ kind: 'status', status: 529 });

      const response = await post(api, body, headers);

      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
      // A rejected request does not consume the script.
      expect((await post(api, VALID_BODY)).status).toBe(529);
    });

    it('404 for other paths and methods', async () => {
      const other = await fetch(`${api.url}/v1/complete`, { method: 'POST', body: VALID_BODY });
      const get = await fetch(`${api.url}/v1/messages`);

      expect([other.status, get.status]).toEqual([404, 404]);
      expect(await other.json()).toMatchObject({ error: { type: 'not_found_error' } });
      expect(api.calls.map((call) => call.status)).toEqual([404, 404]);
    });

    it('a well-formed fetch request is answered', async () => {
      const response = await post(api, VALID_BODY);

      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ content: [{ type: 'text', text: 'ok' }] });
    });
  });

  it.each([
    ['claude-haiku-4-5', 4096],
    ['claude-haiku-4-5-20251001', 4096],
    ['claude-opus-4-5', 4096],
    ['claude-3-5-haiku-latest', 2048],
    ['claude-sonnet-4-6', 1024],
    ['claude-opus-4-1', 1024],
  ])('caches a %s prefix from %d tokens, as Anthropic documents', (model, min) => {
    expect(defaultMinCacheableTokens(model)).toBe(min);
  });
});
