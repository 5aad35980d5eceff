import pg from 'pg';
import { config } from './config.js';

export interface Link {
  code: string;
  targetUrl: string;
  createdAt: Date;
  expiresAt: Date | null;
  hits: number;
  lastHitAt: Date | null;
}

interface LinkRow {
  code: string;
  target_url: string;
  created_at: Date;
  expires_at: Date | null;
  hits: string;
  last_hit_at: Date | null;
}

export const pool = new pg.Pool({
  connectionString: config.databaseUrl,
  max: config.databasePoolMax,
  idleTimeoutMillis: 30_000,
  connectionTimeoutMillis: 5_000,
});

function toLink(row: LinkRow): Link {
  return {
    code: row.code,
    targetUrl: row.target_url,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    // BIGINT arrives as a string from node-postgres.
    hits: Number(row.hits),
    lastHitAt: row.last_hit_at,
  };
}

/** Inserts a link; returns undefined when the code is already taken. */
export async function insertLink(code: string, targetUrl: string, expiresAt: Date | null): Promise<Link | undefined> {
  const result = await pool.query<LinkRow>(
    `INSERT INTO links (code, target_url, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (code) DO NOTHING
     RETURNING code, target_url, created_at, expires_at, hits, last_hit_at`,
    [code, targetUrl, expiresAt],
  );
  const row = result.rows[0];
  return row ? toLink(row) : undefined;
}

export async function findLink(code: string): Promise<Link | undefined> {
  const result = await pool.query<LinkRow>(
    `SELECT code, target_url, created_at, expires_at, hits, last_hit_at FROM links WHERE code = $1`,
    [code],
  );
  const row = result.rows[0];
  return row ? toLink(row) : undefined;
}

export async function deleteLink(code: string): Promise<boolean> {
  const result = await pool.query(`DELETE FROM links WHERE code = $1`, [code]);
  return (result.rowCount ?? 0) > 0;
}

export async function recordHit(code: string): Promise<void> {
  await pool.query(`UPDATE links SET hits = hits + 1, last_hit_at = now() WHERE code = $1`, [code]);
}

export async function pingDatabase(): Promise<void> {
  await pool.query('SELECT 1');
}
