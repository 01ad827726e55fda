-- The second wall of Ressort isolation. The service checks every request's Ressort scope
-- itself; PostgreSQL checks it again, so that a bug in a query's filter cannot show or change
-- another Ressort's data.
--
-- All request work runs as the role regmo_app (NOLOGIN, no SUPERUSER, no BYPASSRLS, owner of
-- nothing): `regmo serve` connects with DATABASE_URL's role and sets its sessions to
-- regmo_app. Each transaction names the caller's scope with set_config(..., true):
--   regmo.read_ressorts   Ressorts whose rows may be read: '*' (all) or 'SF,SIS'
--   regmo.write_ressorts  Ressorts whose rows may be written, in the same form
--   regmo.read_access     'on' when access data (user, binding and token events) may be read
-- With nothing set, regmo_app sees no row and can write none.
--
-- Every authenticated user may read a register's public card (Ressort, key, name, NOOTS
-- stage): the view register_cards shows exactly that, with its owner's rights.

-- +goose Up
-- The role is cluster-wide: several databases (and test runs) may create it at once.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regmo_app') THEN
        BEGIN
            CREATE ROLE regmo_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- created by a concurrent migration
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'regmo_app', 'MEMBER') THEN
        EXECUTE format('GRANT regmo_app TO %I', current_user);
    END IF;
END;
$$;
-- +goose StatementEnd

-- The scope of the current transaction. STABLE and wrapped in (SELECT ...) by the policies, so
-- that PostgreSQL reads the setting once per query, not once per row.
CREATE FUNCTION regmo_scope_all(setting text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN coalesce(current_setting(setting, true), '') = '*';

CREATE FUNCTION regmo_scope_codes(setting text) RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE WHEN coalesce(current_setting(setting, true), '') IN ('', '*') THEN '{}'::text[]
                ELSE string_to_array(current_setting(setting, true), ',') END;

-- The grants: what a request may do at all. Row-level security below decides which rows.
GRANT USAGE ON SCHEMA public TO regmo_app;
GRANT SELECT ON ressorts, idnrg_anlage TO regmo_app;
GRANT INSERT, UPDATE ON ressorts TO regmo_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON entries, nachweise TO regmo_app;
-- History is append-only: insert and read, never change (see entry_versions_close below).
GRANT SELECT, INSERT ON entry_versions, events TO regmo_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, bindings, tokens TO regmo_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO regmo_app;

ALTER TABLE entries ENABLE ROW LEVEL SECURITY;
CREATE POLICY entries_read ON entries FOR SELECT TO regmo_app
    USING ((SELECT regmo_scope_all('regmo.read_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.read_ressorts'))::text[]));
CREATE POLICY entries_insert ON entries FOR INSERT TO regmo_app
    WITH CHECK ((SELECT regmo_scope_all('regmo.write_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.write_ressorts'))::text[]));
CREATE POLICY entries_update ON entries FOR UPDATE TO regmo_app
    USING ((SELECT regmo_scope_all('regmo.write_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.write_ressorts'))::text[]))
    WITH CHECK ((SELECT regmo_scope_all('regmo.write_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.write_ressorts'))::text[]));
CREATE POLICY entries_delete ON entries FOR DELETE TO regmo_app
    USING ((SELECT regmo_scope_all('regmo.write_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.write_ressorts'))::text[]));

ALTER TABLE entry_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY entry_versions_read ON entry_versions FOR SELECT TO regmo_app
    USING ((SELECT regmo_scope_all('regmo.read_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.read_ressorts'))::text[]));
CREATE POLICY entry_versions_insert ON entry_versions FOR INSERT TO regmo_app
    WITH CHECK ((SELECT regmo_scope_all('regmo.write_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.write_ressorts'))::text[]));

-- A nachweise row belongs to its Onlinedienst's Ressort.
ALTER TABLE nachweise ENABLE ROW LEVEL SECURITY;
CREATE POLICY nachweise_read ON nachweise FOR SELECT TO regmo_app
    USING (EXISTS (SELECT FROM entries e WHERE e.id = onlinedienst_id));
CREATE POLICY nachweise_insert ON nachweise FOR INSERT TO regmo_app
    WITH CHECK (EXISTS (SELECT FROM entries e WHERE e.id = onlinedienst_id
        AND ((SELECT regmo_scope_all('regmo.write_ressorts')) OR e.ressort = ANY ((SELECT regmo_scope_codes('regmo.write_ressorts'))::text[]))));
CREATE POLICY nachweise_delete ON nachweise FOR DELETE TO regmo_app
    USING (EXISTS (SELECT FROM entries e WHERE e.id = onlinedienst_id
        AND ((SELECT regmo_scope_all('regmo.write_ressorts')) OR e.ressort = ANY ((SELECT regmo_scope_codes('regmo.write_ressorts'))::text[]))));

-- Events of entries belong to their Ressort; those of Ressorts need the whole picture; those
-- of users, bindings and tokens are access data.
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY events_read ON events FOR SELECT TO regmo_app
    USING (CASE entity_type
        WHEN 'register' THEN (SELECT regmo_scope_all('regmo.read_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.read_ressorts'))::text[])
        WHEN 'onlinedienst' THEN (SELECT regmo_scope_all('regmo.read_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.read_ressorts'))::text[])
        WHEN 'ressort' THEN (SELECT regmo_scope_all('regmo.read_ressorts'))
        ELSE (SELECT coalesce(current_setting('regmo.read_access', true), '') = 'on')
    END);
CREATE POLICY events_insert ON events FOR INSERT TO regmo_app
    WITH CHECK (CASE entity_type
        WHEN 'register' THEN (SELECT regmo_scope_all('regmo.write_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.write_ressorts'))::text[])
        WHEN 'onlinedienst' THEN (SELECT regmo_scope_all('regmo.write_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.write_ressorts'))::text[])
        ELSE (SELECT regmo_scope_all('regmo.write_ressorts'))
    END);

-- The public register card: exactly Ressort, key, name and NOOTS stage of every register (id
-- is the handle the nachweise rows join on; it is never shown). A view runs with its owner's
-- rights, so it reads past the row-level security of entries by design.
CREATE VIEW register_cards WITH (security_barrier) AS
    SELECT id, ressort, key, name, noots_stage FROM entries WHERE kind = 'register';
-- The same cards as they were: a version of a register shows its card for the time it was valid.
CREATE VIEW register_card_versions WITH (security_barrier) AS
    SELECT id, ressort, key, name, noots_stage, valid_from, valid_to FROM entry_versions WHERE kind = 'register';
GRANT SELECT ON register_cards, register_card_versions TO regmo_app;

-- The Onlinedienste that draw Nachweise from the given registers, for a refusal to delete
-- them: a referencing Onlinedienst of a Ressort the caller may read is named, any other is
-- counted for its Ressort only (key NULL). Only registers the caller may write are answered.
-- +goose StatementBegin
CREATE FUNCTION register_references(register_ids bigint[])
    RETURNS TABLE (register_id bigint, ressort text, key text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    SELECT n.register_id, o.ressort::text,
           CASE WHEN regmo_scope_all('regmo.read_ressorts') OR o.ressort = ANY (regmo_scope_codes('regmo.read_ressorts'))
                THEN o.key::text END
    FROM nachweise n
    JOIN entries r ON r.id = n.register_id
    JOIN entries o ON o.id = n.onlinedienst_id
    WHERE n.register_id = ANY (register_ids)
      AND (regmo_scope_all('regmo.write_ressorts') OR r.ressort = ANY (regmo_scope_codes('regmo.write_ressorts')))
    ORDER BY n.register_id, o.ressort, o.key
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION register_references(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION register_references(bigint[]) TO regmo_app;

-- Closing a version (setting valid_to when the entry changes or goes) is the one change
-- history allows. regmo_app may not UPDATE entry_versions; it closes the current versions of
-- entries in its write scope through this function: for each entry id, the open version
-- older than before_version (NULL: any open version, for a deletion). The version guard keeps
-- a version written by the same statement open, whatever order PostgreSQL runs it in.
-- +goose StatementBegin
CREATE FUNCTION entry_versions_close(entry_ids bigint[], before_versions bigint[], at timestamptz) RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    WITH closed AS (
        UPDATE entry_versions v SET valid_to = at
        FROM unnest(entry_ids, before_versions) AS c(id, before_version)
        WHERE v.id = c.id AND v.valid_to IS NULL
          AND (c.before_version IS NULL OR v.version < c.before_version)
          AND (regmo_scope_all('regmo.write_ressorts') OR v.ressort = ANY (regmo_scope_codes('regmo.write_ressorts')))
        RETURNING 1)
    SELECT count(*) FROM closed
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION entry_versions_close(bigint[], bigint[], timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION entry_versions_close(bigint[], bigint[], timestamptz) TO regmo_app;

-- entry_versions is append-only like events: a version may only be closed once, nothing else
-- about it changes, and no version is ever removed. Triggers bind the owner too (the service
-- may run migrations as it); regmo_app owns nothing, so it cannot disable them.
-- +goose StatementBegin
CREATE FUNCTION entry_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL
       AND (to_jsonb(NEW) - 'valid_to') = (to_jsonb(OLD) - 'valid_to') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'entry_versions are append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER entry_versions_no_change BEFORE UPDATE OR DELETE ON entry_versions
    FOR EACH ROW EXECUTE FUNCTION entry_versions_append_only();
CREATE TRIGGER entry_versions_no_truncate BEFORE TRUNCATE ON entry_versions
    FOR EACH STATEMENT EXECUTE FUNCTION entry_versions_append_only();

-- +goose Down
DROP TRIGGER entry_versions_no_truncate ON entry_versions;
DROP TRIGGER entry_versions_no_change ON entry_versions;
DROP FUNCTION entry_versions_append_only();
DROP FUNCTION entry_versions_close(bigint[], bigint[], timestamptz);
DROP FUNCTION register_references(bigint[]);
DROP VIEW register_card_versions;
DROP VIEW register_cards;
DROP POLICY events_insert ON events;
DROP POLICY events_read ON events;
ALTER TABLE events DISABLE ROW LEVEL SECURITY;
DROP POLICY nachweise_delete ON nachweise;
DROP POLICY nachweise_insert ON nachweise;
DROP POLICY nachweise_read ON nachweise;
ALTER TABLE nachweise DISABLE ROW LEVEL SECURITY;
DROP POLICY entry_versions_insert ON entry_versions;
DROP POLICY entry_versions_read ON entry_versions;
ALTER TABLE entry_versions DISABLE ROW LEVEL SECURITY;
DROP POLICY entries_delete ON entries;
DROP POLICY entries_update ON entries;
DROP POLICY entries_insert ON entries;
DROP POLICY entries_read ON entries;
ALTER TABLE entries DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM regmo_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM regmo_app;
REVOKE ALL ON SCHEMA public FROM regmo_app;
DROP FUNCTION regmo_scope_codes(text);
DROP FUNCTION regmo_scope_all(text);
