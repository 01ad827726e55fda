-- Reminders and the weekly digest (issue 15). The queue is PostgreSQL itself: one row per
-- (kind, user, slot) whose unique key makes "each e-mail once" hold by construction, however
-- many instances enqueue it; workers claim rows with FOR UPDATE SKIP LOCKED and a lease, so
-- a killed instance's job goes to another once the lease runs out. Neither table is Ressort
-- data (the e-mail's content is read in the user's scope when it is sent), so neither has
-- row-level security; regmo_app gets only what it needs.

-- +goose Up
CREATE TABLE notification_prefs (
    user_name   text COLLATE "C" PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,
    reminder    boolean NOT NULL DEFAULT true,
    digest      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE ON notification_prefs TO regmo_app;

CREATE TABLE notify_jobs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('reminder', 'digest')),
    user_name     text COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    -- The Berlin calendar day of the 07:00 slot (for the digest: its Monday).
    slot          date NOT NULL,
    -- pending: to do; sent: the e-mail went out; empty: nothing to say or nobody to say it
    -- to; failed: gave up after the last retry.
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'empty', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    run_after     timestamptz NOT NULL DEFAULT now(),
    locked_by     text,
    locked_until  timestamptz,
    message_id    text,
    items         integer,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    done_at       timestamptz,
    CONSTRAINT notify_jobs_once UNIQUE (kind, user_name, slot)
);
CREATE INDEX notify_jobs_pending ON notify_jobs (run_after) WHERE state = 'pending';
GRANT SELECT, INSERT, UPDATE ON notify_jobs TO regmo_app;

-- +goose Down
DROP TABLE notify_jobs;
DROP TABLE notification_prefs;
