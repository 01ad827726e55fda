-- Webhooks for scripts (issue 15). A delivery is a job of the e-mail queue (notify_jobs, kind
-- 'webhook'), so it shares the claim with FOR UPDATE SKIP LOCKED, the lease and the retries.
--
-- Deliveries are enqueued by a trigger on events, in the transaction of the entry write that
-- appends the event: a delivery exists exactly when the write committed (none lost), and the
-- unique key (webhook, event) makes a second enqueue of the same pair a no-op (none twice).
-- A cursor over events.id was the alternative; identities are handed out before commit, so a
-- cursor can pass an event whose transaction commits later, and closing that gap needs a lag
-- or snapshot bookkeeping the trigger does not.
--
-- Neither table holds Ressort data: a job names only the event's id, and the event is read
-- at delivery time in its owner's scope, under the row-level security of events.

-- +goose Up
CREATE TABLE webhooks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Its events are those this user may read when they are delivered.
    owner        text COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    url          text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
    event_types  text[] NOT NULL CHECK (cardinality(event_types) > 0
        AND event_types <@ ARRAY['entry.created', 'entry.changed', 'entry.deleted']),
    -- Empty: every Ressort the owner may read.
    ressorts     text[] COLLATE "C" NOT NULL DEFAULT '{}',
    -- The Standard Webhooks signing secret (whsec_…). It has to be kept to sign with; the
    -- API shows it once, in the answer that creates it.
    secret       text NOT NULL CHECK (secret LIKE 'whsec\_%'),
    created_at   timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, DELETE ON webhooks TO regmo_app;

ALTER TABLE notify_jobs DROP CONSTRAINT notify_jobs_kind_check,
    ADD CONSTRAINT notify_jobs_kind_check CHECK (kind IN ('reminder', 'digest', 'webhook'));
-- withheld: the webhook's owner may not (or no longer) read the event's Ressort.
ALTER TABLE notify_jobs DROP CONSTRAINT notify_jobs_state_check,
    ADD CONSTRAINT notify_jobs_state_check CHECK (state IN ('pending', 'sent', 'empty', 'failed', 'withheld'));
ALTER TABLE notify_jobs ALTER COLUMN slot DROP NOT NULL,
    ADD COLUMN webhook_id bigint REFERENCES webhooks (id) ON DELETE CASCADE,
    ADD COLUMN event_id bigint,
    ADD COLUMN event_type text,
    ADD CONSTRAINT notify_jobs_delivery_once UNIQUE (webhook_id, event_id),
    ADD CONSTRAINT notify_jobs_shape CHECK (CASE kind
        WHEN 'webhook' THEN webhook_id IS NOT NULL AND event_id IS NOT NULL AND event_type IS NOT NULL AND slot IS NULL
        ELSE slot IS NOT NULL AND webhook_id IS NULL AND event_id IS NULL END);
CREATE INDEX notify_jobs_webhook ON notify_jobs (webhook_id, id) WHERE webhook_id IS NOT NULL;

CREATE TABLE webhook_attempts (
    job_id       bigint NOT NULL REFERENCES notify_jobs (id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL,
    -- The receiver's HTTP status; NULL: no answer (refused, timed out, unreachable).
    status       integer,
    error        text,
    duration_ms  integer NOT NULL,
    PRIMARY KEY (job_id, attempt)
);
GRANT SELECT, INSERT ON webhook_attempts TO regmo_app;

-- One statement of events is one set of deliveries: the transition table keeps a COPY of a
-- large import at one INSERT … SELECT instead of one per row.
-- +goose StatementBegin
CREATE FUNCTION webhooks_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notify_jobs (kind, user_name, webhook_id, event_id, event_type)
    SELECT 'webhook', w.owner, w.id, e.id, t.type
    FROM new_events e
    CROSS JOIN LATERAL (SELECT CASE e.action WHEN 'created' THEN 'entry.created'
        WHEN 'updated' THEN 'entry.changed' ELSE 'entry.deleted' END AS type) t
    JOIN webhooks w ON t.type = ANY (w.event_types)
        AND (cardinality(w.ressorts) = 0 OR e.ressort = ANY (w.ressorts))
    WHERE e.entity_type IN ('register', 'onlinedienst')
    ON CONFLICT ON CONSTRAINT notify_jobs_delivery_once DO NOTHING;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER events_webhooks AFTER INSERT ON events REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION webhooks_enqueue();

-- +goose Down
DROP TRIGGER events_webhooks ON events;
DROP FUNCTION webhooks_enqueue();
DROP TABLE webhook_attempts;
DELETE FROM notify_jobs WHERE kind = 'webhook';
ALTER TABLE notify_jobs DROP CONSTRAINT notify_jobs_shape, DROP CONSTRAINT notify_jobs_delivery_once,
    DROP COLUMN event_type, DROP COLUMN event_id, DROP COLUMN webhook_id, ALTER COLUMN slot SET NOT NULL;
ALTER TABLE notify_jobs DROP CONSTRAINT notify_jobs_state_check,
    ADD CONSTRAINT notify_jobs_state_check CHECK (state IN ('pending', 'sent', 'empty', 'failed'));
ALTER TABLE notify_jobs DROP CONSTRAINT notify_jobs_kind_check,
    ADD CONSTRAINT notify_jobs_kind_check CHECK (kind IN ('reminder', 'digest'));
DROP TABLE webhooks;
