import { Router } from 'express';
import { pingCache } from '../cache.js';
import { pingDatabase } from '../db.js';

export const healthRouter = Router();

// Liveness: the process is up and the event loop answers.
healthRouter.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

// Readiness: both backing stores answer.
healthRouter.get('/readyz', async (_req, res) => {
  const checks = await Promise.allSettled([pingDatabase(), pingCache()]);
  const [database, cache] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : 'down'));
  const ready = database === 'ok' && cache === 'ok';
  res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', database, cache });
});
