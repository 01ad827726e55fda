-- Daily snapshots of the readiness figures (issue 16), so that the report as of an instant
-- reads one snapshot and the history of less than a day instead of every version.
--
-- A snapshot holds the figures of readiness_counts and readiness_dates as they were at an
-- instant (regmo serve takes one for every midnight in Europe/Berlin): how many versions
-- valid then stood at each combination of stages, and how many per dimension had a target
-- date on each day at a stage that is not ready. The figures at a later instant T are those
-- of the latest snapshot S <= T plus one for every version that began in (S, T] and minus
-- one for every version that ended in (S, T]; a version that began and ended in between
-- nets to nothing. Two indexes find those versions.
--
-- Snapshots cannot go stale. History is append-only (migration 00005): a version is
-- inserted, and closed once. A statement that inserts a version valid from t, or closes one
-- at t, changes every snapshot taken at t or later, so a trigger removes those in the same
-- transaction, and the next run of the job takes them again (a write with a clock in the
-- past, a clock skewed between instances). Taking a snapshot holds writes of history off
-- (SHARE lock) until it commits, so no write falls between what it reads and its commit.

-- +goose Up
CREATE INDEX entry_versions_from ON entry_versions (valid_from);
CREATE INDEX entry_versions_to ON entry_versions (valid_to) WHERE valid_to IS NOT NULL;

CREATE TABLE readiness_snapshots (
    taken_at  timestamptz PRIMARY KEY
);

CREATE TABLE readiness_snapshot_counts (
    taken_at     timestamptz NOT NULL REFERENCES readiness_snapshots ON DELETE CASCADE,
    ressort      text COLLATE "C" NOT NULL,
    kind         text NOT NULL,
    idnr_stage   stage NOT NULL,
    noots_stage  stage NOT NULL,
    dsc_stage    stage NOT NULL,
    n            bigint NOT NULL
);
CREATE INDEX readiness_snapshot_counts_at ON readiness_snapshot_counts (taken_at);

CREATE TABLE readiness_snapshot_dates (
    taken_at     timestamptz NOT NULL REFERENCES readiness_snapshots ON DELETE CASCADE,
    ressort      text COLLATE "C" NOT NULL,
    kind         text NOT NULL,
    dimension    text NOT NULL CHECK (dimension IN ('idnr', 'noots', 'dsc')),
    stage        stage NOT NULL CHECK (stage NOT IN ('live', 'not_applicable')),
    target_date  date NOT NULL,
    n            bigint NOT NULL
);
CREATE INDEX readiness_snapshot_dates_at ON readiness_snapshot_dates (taken_at, target_date);

-- The versions valid at an instant, as signed rows of what the counters count: the figures
-- of snapshot prev (NULL: none, the empty inventory before any history) plus the versions
-- that began in (prev, at] minus those that ended in it. Both the job that takes snapshots
-- and the report as of an instant (domain/store, which inlines the same SQL to keep the
-- caller's row-level security) compute this way.
-- +goose StatementBegin
CREATE FUNCTION readiness_snapshot_take(at timestamptz) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
    -- JIT compiles for longer than a day's history takes to sum (a third of the time).
    SET jit = off
AS $$
DECLARE
    prev timestamptz;
    since timestamptz; -- prev, or before all history: a bound the indexes can use
BEGIN
    IF at > now() THEN
        RAISE EXCEPTION 'readiness_snapshot_take: % is in the future', at
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Writers of history wait until the snapshot commits (and it waits for those that have
    -- written); instances taking snapshots at once take turns.
    LOCK TABLE entry_versions IN SHARE MODE;
    PERFORM pg_advisory_xact_lock(hashtext('readiness_snapshot_take'));
    IF EXISTS (SELECT 1 FROM readiness_snapshots s WHERE s.taken_at = at) THEN
        RETURN false;
    END IF;
    SELECT max(s.taken_at) INTO prev FROM readiness_snapshots s WHERE s.taken_at < at;
    since := coalesce(prev, '-infinity');
    INSERT INTO readiness_snapshots (taken_at) VALUES (at);

    -- One statement: the delta is read once, and both tables are filled from it.
    WITH delta AS MATERIALIZED (
        SELECT v.ressort, v.kind, v.idnr_stage, v.noots_stage, v.dsc_stage,
               v.idnr_target_date, v.noots_target_date, v.dsc_target_date, 1 AS n
        FROM entry_versions v WHERE v.valid_from > since AND v.valid_from <= at
        UNION ALL
        SELECT v.ressort, v.kind, v.idnr_stage, v.noots_stage, v.dsc_stage,
               v.idnr_target_date, v.noots_target_date, v.dsc_target_date, -1
        FROM entry_versions v WHERE v.valid_to > since AND v.valid_to <= at),
    counts AS (
        INSERT INTO readiness_snapshot_counts (taken_at, ressort, kind, idnr_stage, noots_stage, dsc_stage, n)
        SELECT at, c.ressort, c.kind, c.idnr_stage, c.noots_stage, c.dsc_stage, sum(c.n)
        FROM (SELECT s.ressort, s.kind, s.idnr_stage, s.noots_stage, s.dsc_stage, s.n
                FROM readiness_snapshot_counts s WHERE s.taken_at = prev
              UNION ALL
              SELECT d.ressort, d.kind, d.idnr_stage, d.noots_stage, d.dsc_stage, d.n FROM delta d) AS c
        GROUP BY c.ressort, c.kind, c.idnr_stage, c.noots_stage, c.dsc_stage HAVING sum(c.n) <> 0)
    INSERT INTO readiness_snapshot_dates (taken_at, ressort, kind, dimension, stage, target_date, n)
    SELECT at, c.ressort, c.kind, c.dimension, c.stage, c.target_date, sum(c.n)
    FROM (SELECT s.ressort, s.kind, s.dimension, s.stage, s.target_date, s.n
            FROM readiness_snapshot_dates s WHERE s.taken_at = prev
          UNION ALL
          SELECT d.ressort, d.kind, x.dimension, x.stage, x.target_date, d.n
            FROM delta d CROSS JOIN LATERAL (VALUES
                ('idnr', d.idnr_stage, d.idnr_target_date),
                ('noots', d.noots_stage, d.noots_target_date),
                ('dsc', d.dsc_stage, d.dsc_target_date)) AS x(dimension, stage, target_date)
            WHERE x.target_date IS NOT NULL AND x.stage NOT IN ('live', 'not_applicable')) AS c
    GROUP BY c.ressort, c.kind, c.dimension, c.stage, c.target_date HAVING sum(c.n) <> 0;
    RETURN true;
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION readiness_snapshot_take(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION readiness_snapshot_take(timestamptz) TO regmo_app;

-- The midnights in Europe/Berlin after the first version began, up to until, that have no
-- snapshot, oldest first: what the job takes next. regmo_app cannot read history past its
-- scope, so it asks here; the answer names instants, nothing of any Ressort.
-- +goose StatementBegin
CREATE FUNCTION readiness_snapshot_due(until timestamptz) RETURNS SETOF timestamptz
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    SELECT d.day AT TIME ZONE 'Europe/Berlin'
    FROM (SELECT min(valid_from) AS first FROM entry_versions) AS h
    CROSS JOIN LATERAL generate_series(date_trunc('day', h.first AT TIME ZONE 'Europe/Berlin') + interval '1 day',
        until AT TIME ZONE 'Europe/Berlin', interval '1 day') AS d(day)
    WHERE h.first IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM readiness_snapshots s WHERE s.taken_at = d.day AT TIME ZONE 'Europe/Berlin')
    ORDER BY 1
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION readiness_snapshot_due(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION readiness_snapshot_due(timestamptz) TO regmo_app;

-- Removes the snapshots a statement on entry_versions changed: those taken at or after the
-- earliest instant at which one of its versions began (insert) or ended (update).
-- +goose StatementBegin
CREATE FUNCTION readiness_snapshots_invalidate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
DECLARE
    since timestamptz;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT min(valid_from) INTO since FROM new_rows;
    ELSE
        SELECT min(valid_to) INTO since FROM new_rows;
    END IF;
    IF since IS NOT NULL THEN
        DELETE FROM readiness_snapshots WHERE taken_at >= since;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION readiness_snapshots_invalidate() FROM PUBLIC;
CREATE TRIGGER entry_versions_snapshots_insert AFTER INSERT ON entry_versions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION readiness_snapshots_invalidate();
CREATE TRIGGER entry_versions_snapshots_update AFTER UPDATE ON entry_versions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION readiness_snapshots_invalidate();

GRANT SELECT ON readiness_snapshots, readiness_snapshot_counts, readiness_snapshot_dates TO regmo_app;
ALTER TABLE readiness_snapshot_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY readiness_snapshot_counts_read ON readiness_snapshot_counts FOR SELECT TO regmo_app
    USING ((SELECT regmo_scope_all('regmo.read_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.read_ressorts'))::text[]));
ALTER TABLE readiness_snapshot_dates ENABLE ROW LEVEL SECURITY;
CREATE POLICY readiness_snapshot_dates_read ON readiness_snapshot_dates FOR SELECT TO regmo_app
    USING ((SELECT regmo_scope_all('regmo.read_ressorts')) OR ressort = ANY ((SELECT regmo_scope_codes('regmo.read_ressorts'))::text[]));

-- +goose Down
DROP TRIGGER entry_versions_snapshots_update ON entry_versions;
DROP TRIGGER entry_versions_snapshots_insert ON entry_versions;
DROP FUNCTION readiness_snapshots_invalidate();
DROP FUNCTION readiness_snapshot_due(timestamptz);
DROP FUNCTION readiness_snapshot_take(timestamptz);
DROP TABLE readiness_snapshot_dates;
DROP TABLE readiness_snapshot_counts;
DROP TABLE readiness_snapshots;
DROP INDEX entry_versions_to;
DROP INDEX entry_versions_from;
