-- The public portal's monthly figures, computed when the data changes and served from here: a page view costs no
-- indicator query. Months are local (Asia/Shanghai) months.
CREATE TABLE IF NOT EXISTS public_snapshot (
    department_code text NOT NULL,
    month           date NOT NULL,          -- the local month's first day
    figures         jsonb NOT NULL,
    data_version    text NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (department_code, month)
);
