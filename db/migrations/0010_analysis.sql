-- Decision support results, stored with their window and parameters and the data they were computed from:
-- served from here while the data has not changed, so a new computation never blocks a reader or the event path.
CREATE TABLE IF NOT EXISTS analysis_result (
    kind         text NOT NULL,          -- chains, recommendations, compare
    key          text NOT NULL,          -- digest of the window and the parameters
    params       jsonb NOT NULL,
    data_version text NOT NULL,
    result       jsonb NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, key)
);
