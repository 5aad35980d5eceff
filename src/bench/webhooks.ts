/**
 * Delivers webhooks the way GitHub does, for tests and benches: a JSON POST carrying the event name,
 * a delivery GUID and the HMAC-SHA256 signature of the exact body (X-Hub-Signature-256).
 */
import { createHmac, randomUUID } from 'node:crypto';

/** Bounds one delivery; GitHub itself gives up after 10 seconds. */
const DELIVERY_TIMEOUT_MS = 10_000;

export interface WebhookDelivery {
  /** X-GitHub-Event, e.g. 'issue_comment'. */
  event: string;
  payload: unknown;
  /** The webhook secret the signature is made with. */
  secret: string;
  /** X-GitHub-Delivery; a random UUID when absent. */
  deliveryId?: string;
  /** Overrides the computed X-Hub-Signature-256 (to test rejection). */
  signature?: string;
}

/** GitHub's X-Hub-Signature-256 value for a body: "sha256=" + hex HMAC-SHA256 with the secret. */
export function signWebhook(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** POSTs one delivery to `url` and returns the receiver's status and body text. */
export async function sendWebhook(
  url: string,
  input: WebhookDelivery,
): Promise<{ status: number; body: string }> {
  const body = JSON.stringify(input.payload);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/fake',
      'x-github-event': input.event,
      'x-github-delivery': input.deliveryId ?? randomUUID(),
      'x-hub-signature-256': input.signature ?? signWebhook(input.secret, body),
    },
    body,
    signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
  });
  return { status: response.status, body: await response.text() };
}
