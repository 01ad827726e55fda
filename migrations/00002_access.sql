-- Users, their role bindings per Ressort, and API tokens (stored only as SHA-256 hashes).

-- +goose Up
CREATE TABLE users (
    name          text COLLATE "C" PRIMARY KEY CHECK (name ~ '^[a-z0-9._-]{2,64}$'),
    display_name  text NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 200),
    email         text NOT NULL DEFAULT '' CHECK (char_length(email) <= 254),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- A Ressortverantwortliche/r is bound to one Ressort per row; the global roles to none.
CREATE TABLE bindings (
    user_name  text COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('ressortverantwortliche', 'ozg-koordination', 'admin')),
    ressort    text COLLATE "C" REFERENCES ressorts (code),
    CONSTRAINT bindings_scope CHECK ((role = 'ressortverantwortliche') = (ressort IS NOT NULL)),
    CONSTRAINT bindings_unique UNIQUE NULLS NOT DISTINCT (user_name, role, ressort)
);

CREATE TABLE tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name     text COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    -- SHA-256 of the whole token; the token itself is shown once and never stored.
    hash          bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    label         text NOT NULL DEFAULT '' CHECK (char_length(label) <= 200),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX tokens_user ON tokens (user_name);

-- +goose Down
DROP TABLE tokens;
DROP TABLE bindings;
DROP TABLE users;
