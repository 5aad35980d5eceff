import express, { type NextFunction, type Request, type Response } from 'express';
import { redis } from './cache.js';
import { config } from './config.js';
import { pool } from './db.js';
import { healthRouter } from './routes/health.js';
import { linksRouter } from './routes/links.js';
import { redirectRouter } from './routes/redirect.js';

const app = express();
app.disable('x-powered-by');
app.set('trust proxy', true);
app.use(express.json({ limit: '16kb' }));

app.use(healthRouter);
app.use('/api/links', linksRouter);
// Last: "/:code" would otherwise shadow everything above.
app.use(redirectRouter);

app.use((_req: Request, res: Response) => {
  res.status(404).json({ error: 'not found' });
});

// Express 5 forwards rejected promises from async handlers here.
app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  console.error(err);
  res.status(500).json({ error: 'internal error' });
});

const server = app.listen(config.port, () => {
  console.log(`link-shortener listening on :${config.port}`);
});

// Give in-flight requests time to finish when Kubernetes sends SIGTERM.
function shutdown(signal: string) {
  console.log(`${signal} received, draining`);
  server.close(async () => {
    await Promise.allSettled([pool.end(), redis.quit()]);
    process.exit(0);
  });
  setTimeout(() => process.exit(1), 10_000).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
