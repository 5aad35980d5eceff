import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendWebhook, signWebhook } from '../../../src/bench/webhooks.js';
import {
  issueCommentPayload,
  repositoryDispatchPayload,
} from '../../../src/bench/webhook-payloads.js';

const COMMENT_INPUT = {
  owner: 'acme',
  repo: 'shop',
  cloneUrl: 'http://127.0.0.1:9/acme/shop.git',
  issueNumber: 7,
  commentId: 555,
  body: '/ai-provision help',
  login: 'alice',
  installationId: 77,
};

describe('bench/webhooks', () => {
  it("signs like GitHub's documented example", () => {
    // https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    const signature = signWebhook("It's a Secret to Everybody", 'Hello, World!');

    expect(signature).toBe(
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
  });

  it('POSTs the payload with the event, delivery id and signature headers', async () => {
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(202).end('accepted');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;

    try {
      const answer = await sendWebhook(url, {
        event: 'issue_comment',
        payload: { action: 'created' },
        secret: 's3cret',
        deliveryId: 'delivery-1',
      });

      expect(answer).toEqual({ status: 202, body: 'accepted' });
      expect(received).toHaveLength(1);
      expect(received[0]?.body).toBe('{"action":"created"}');
      expect(received[0]?.headers).toMatchObject({
        'content-type': 'application/json',
        'x-github-event': 'issue_comment',
        'x-github-delivery': 'delivery-1',
        'x-hub-signature-256': signWebhook('s3cret', '{"action":"created"}'),
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('bench/webhook-payloads', () => {
  it('builds an issue_comment created payload on an issue', () => {
    const payload = issueCommentPayload(COMMENT_INPUT);

    expect(payload).toMatchObject({
      action: 'created',
      issue: {
        number: 7,
        html_url: 'https://github.com/acme/shop/issues/7',
        user: { login: 'alice' },
      },
      comment: {
        id: 555,
        body: '/ai-provision help',
        user: { login: 'alice', type: 'User' },
        author_association: 'COLLABORATOR',
        html_url: 'https://github.com/acme/shop/issues/7#issuecomment-555',
      },
      repository: {
        name: 'shop',
        full_name: 'acme/shop',
        owner: { login: 'acme' },
        default_branch: 'main',
        private: false,
        clone_url: 'http://127.0.0.1:9/acme/shop.git',
        html_url: 'https://github.com/acme/shop',
      },
      sender: { login: 'alice', type: 'User' },
      installation: { id: 77 },
    });
    expect(payload.issue.pull_request).toBeUndefined();
    expect(payload.changes).toBeUndefined();
  });

  it('marks pull request threads and edits, and bot senders', () => {
    const payload = issueCommentPayload({
      ...COMMENT_INPUT,
      login: 'renovate[bot]',
      senderType: 'Bot',
      action: 'edited',
      changesBodyFrom: 'old',
      isPullRequest: true,
    });

    expect(payload.issue.pull_request?.html_url).toBe('https://github.com/acme/shop/pull/7');
    expect(payload.comment.html_url).toBe('https://github.com/acme/shop/pull/7#issuecomment-555');
    expect(payload.changes).toEqual({ body: { from: 'old' } });
    expect(payload.sender).toMatchObject({ login: 'renovate[bot]', type: 'Bot' });
  });

  it('builds a repository_dispatch payload: action is the event type, branch the default branch', () => {
    const payload = repositoryDispatchPayload({
      owner: 'acme',
      repo: 'shop',
      cloneUrl: 'http://127.0.0.1:9/acme/shop.git',
      clientPayload: { git_repo: 'https://github.com/acme/shop', app_description: 'a shop' },
      login: 'alice',
      installationId: 77,
      defaultBranch: 'trunk',
    });

    expect(payload).toMatchObject({
      action: 'ai-provision',
      branch: 'trunk',
      client_payload: { git_repo: 'https://github.com/acme/shop' },
      repository: { full_name: 'acme/shop', default_branch: 'trunk' },
      sender: { login: 'alice' },
      installation: { id: 77 },
    });
  });
});
