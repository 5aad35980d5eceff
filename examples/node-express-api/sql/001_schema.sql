-- Applied by the postgres container on first start (docker-entrypoint-initdb.d).
CREATE TABLE IF NOT EXISTS links (
  code        VARCHAR(16) PRIMARY KEY,
  target_url  TEXT        NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at  TIMESTAMPTZ,
  hits        BIGINT      NOT NULL DEFAULT 0,
  last_hit_at TIMESTAMPTZ
);

CREATE INDEX IF NOT EXISTS links_expires_at_idx ON links (expires_at) WHERE expires_at IS NOT NULL;
