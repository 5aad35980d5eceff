import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import { evict } from '../cache.js';
import { config } from '../config.js';
import { deleteLink, findLink, insertLink, type Link } from '../db.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CODE_PATTERN = /^[0-9A-Za-z_-]{4,16}$/;

function newCode(length = 7): string {
  const bytes = randomBytes(length);
  let code = '';
  for (const byte of bytes) code += ALPHABET[byte % ALPHABET.length];
  return code;
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 2048) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function present(link: Link) {
  return {
    code: link.code,
    shortUrl: new URL(`/${link.code}`, config.publicBaseUrl).toString(),
    targetUrl: link.targetUrl,
    createdAt: link.createdAt.toISOString(),
    expiresAt: link.expiresAt?.toISOString() ?? null,
  };
}

export const linksRouter = Router();

// Create a short link: {"url": "https://…", "code"?: "custom", "ttlDays"?: 30}
linksRouter.post('/', async (req, res) => {
  const { url, code, ttlDays } = (req.body ?? {}) as { url?: unknown; code?: unknown; ttlDays?: unknown };
  if (!isHttpUrl(url)) {
    res.status(400).json({ error: 'url must be an http(s) URL of at most 2048 characters' });
    return;
  }
  if (code !== undefined && (typeof code !== 'string' || !CODE_PATTERN.test(code))) {
    res.status(400).json({ error: 'code must be 4-16 characters of [0-9A-Za-z_-]' });
    return;
  }
  if (ttlDays !== undefined && (typeof ttlDays !== 'number' || !Number.isInteger(ttlDays) || ttlDays < 1)) {
    res.status(400).json({ error: 'ttlDays must be a positive integer' });
    return;
  }
  const expiresAt = typeof ttlDays === 'number' ? new Date(Date.now() + ttlDays * 86_400_000) : null;

  if (typeof code === 'string') {
    const link = await insertLink(code, url, expiresAt);
    if (!link) {
      res.status(409).json({ error: `code "${code}" is already taken` });
      return;
    }
    res.status(201).location(`/api/links/${link.code}`).json(present(link));
    return;
  }

  // Random codes: retry the rare collision a few times.
  for (let attempt = 0; attempt < 5; attempt++) {
    const link = await insertLink(newCode(), url, expiresAt);
    if (link) {
      res.status(201).location(`/api/links/${link.code}`).json(present(link));
      return;
    }
  }
  res.status(503).json({ error: 'could not allocate a free code, try again' });
});

linksRouter.get('/:code', async (req, res) => {
  const link = await findLink(req.params.code);
  if (!link) {
    res.status(404).json({ error: 'not found' });
    return;
  }
  res.json(present(link));
});

linksRouter.get('/:code/stats', async (req, res) => {
  const link = await findLink(req.params.code);
  if (!link) {
    res.status(404).json({ error: 'not found' });
    return;
  }
  res.json({ code: link.code, hits: link.hits, lastHitAt: link.lastHitAt?.toISOString() ?? null });
});

linksRouter.delete('/:code', async (req, res) => {
  const deleted = await deleteLink(req.params.code);
  await evict(req.params.code);
  if (!deleted) {
    res.status(404).json({ error: 'not found' });
    return;
  }
  res.status(204).end();
});
