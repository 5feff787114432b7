-- Console sign-ins (a session per browser, with its CSRF token) and the departments whose monthly figures the
-- administrator publishes on the public portal.
CREATE TABLE IF NOT EXISTS app_session (
    id         text PRIMARY KEY,           -- SHA-256 of the cookie's value
    user_name  text NOT NULL REFERENCES app_user (name) ON DELETE CASCADE,
    csrf       text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS public_department (
    department_code text PRIMARY KEY,
    published_at    timestamptz NOT NULL DEFAULT now()
);
