-- People who read and act through the API (and the console): a role, and a region scope (a region code whose
-- subtree they see; '' = everywhere). Tokens are kept as SHA-256 digests, passwords as argon2 hashes.
CREATE TABLE IF NOT EXISTS app_user (
    name          text PRIMARY KEY,
    role          text NOT NULL CHECK (role IN ('viewer', 'supervisor', 'list_admin', 'admin')),
    region_scope  text NOT NULL DEFAULT '',
    password_hash text,
    token_digest  text UNIQUE,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Every write and every sign-in, by whom.
CREATE TABLE IF NOT EXISTS audit_log (
    id     bigserial PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text NOT NULL,
    action text NOT NULL,
    status integer,
    detail jsonb
);
