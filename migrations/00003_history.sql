-- Every change kept: an append-only audit trail, and every version of every entry with the
-- time it was valid, so that the inventory "as of" any past instant is one indexed query
-- instead of a replay of the events.

-- +goose Up
CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    action       text NOT NULL CHECK (action IN ('created', 'updated', 'deleted')),
    entity_type  text NOT NULL CHECK (entity_type IN ('register', 'onlinedienst', 'ressort', 'user', 'binding', 'token')),
    ressort      text COLLATE "C",
    key          text COLLATE "C" NOT NULL,
    -- {"readiness.noots.stage": {"from": "planned", "to": "testing"}}
    changes      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_entity ON events (entity_type, ressort, key, id);
CREATE INDEX events_at ON events (at, id);
CREATE INDEX events_ressort ON events (ressort, id);

-- Privileges do not bind the superuser the service may run as; a trigger does.
-- +goose StatementBegin
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- One row per version of an entry: the entry's columns as they were from valid_from until
-- valid_to (NULL: still current). A deleted entry's last version ends at the deletion.
CREATE TABLE entry_versions (LIKE entries INCLUDING DEFAULTS);
ALTER TABLE entry_versions
    ADD COLUMN valid_from timestamptz NOT NULL,
    ADD COLUMN valid_to   timestamptz,
    ADD CONSTRAINT entry_versions_valid CHECK (valid_to IS NULL OR valid_to >= valid_from);
CREATE INDEX entry_versions_address ON entry_versions (kind, ressort, key, valid_from);
CREATE INDEX entry_versions_current ON entry_versions (id) WHERE valid_to IS NULL;

-- Entries that exist before this migration start their history now.
INSERT INTO entry_versions SELECT e.*, e.updated_at, NULL FROM entries e;

-- +goose Down
DROP TABLE entry_versions;
DROP TABLE events;
DROP FUNCTION events_append_only();
