-- An administrator's reset of a user's sign-in throttle (`shenpi users unlock`): failures before it are forgotten.
ALTER TABLE app_user ADD COLUMN IF NOT EXISTS signin_reset_at timestamptz;
