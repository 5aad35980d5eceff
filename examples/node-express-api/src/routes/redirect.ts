import { Router } from 'express';
import { cacheTarget, getCachedTarget } from '../cache.js';
import { config } from '../config.js';
import { findLink, recordHit } from '../db.js';

export const redirectRouter = Router();

// The hot path: resolve a code and redirect. Redis first, PostgreSQL on a miss.
redirectRouter.get('/:code', async (req, res) => {
  const { code } = req.params;
  let target = await getCachedTarget(code);

  if (target === null) {
    const link = await findLink(code);
    if (!link || (link.expiresAt && link.expiresAt.getTime() <= Date.now())) {
      res.status(404).type('text/plain').send('Link not found or expired');
      return;
    }
    target = link.targetUrl;
    const ttl = link.expiresAt
      ? Math.min(config.cacheTtlSeconds, Math.floor((link.expiresAt.getTime() - Date.now()) / 1000))
      : config.cacheTtlSeconds;
    await cacheTarget(code, target, ttl);
  }

  // Counting is best effort and must not slow the redirect down.
  recordHit(code).catch((err: unknown) => console.error('recordHit failed', err));
  res.redirect(302, target);
});
