-- The web interface (issue 13): browser sessions and one-time login links. Neither is
-- Ressort data, so neither has row-level security; regmo_app gets only what it needs.

-- +goose Up
-- The table alexedwards/scs's postgresstore expects; token is the session cookie's value.
CREATE TABLE sessions (
    token   text PRIMARY KEY,
    data    bytea NOT NULL,
    expiry  timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO regmo_app;

-- A login link is shown once (regmo login-link USER) and stored only as the SHA-256 hash of
-- its secret. The service redeems it once, within its lifetime; the CLI creates it.
CREATE TABLE login_links (
    hash        bytea PRIMARY KEY CHECK (length(hash) = 32),
    user_name   text COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX login_links_user ON login_links (user_name);
GRANT SELECT, UPDATE (used_at) ON login_links TO regmo_app;

-- +goose Down
DROP TABLE login_links;
DROP TABLE sessions;
