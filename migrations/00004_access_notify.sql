-- Instances keep authenticated callers in memory for at most a second. Every change that
-- can take a right away (users, bindings, a token's revocation or expiry) tells them at
-- once on the channel regmo_access, so it applies at their next request, wherever it was
-- made: through another instance, the CLI or psql.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION notify_access_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- NOTIFY is sent at commit; identical notifications of one transaction fold into one.
    PERFORM pg_notify('regmo_access', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER users_notify_access AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();
CREATE TRIGGER bindings_notify_access AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON bindings
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();
-- A new token is not in any cache yet, and last_used_at changes nothing about rights.
CREATE TRIGGER tokens_notify_access AFTER UPDATE OF user_name, hash, expires_at, revoked_at OR DELETE OR TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();

-- +goose Down
DROP TRIGGER tokens_notify_access ON tokens;
DROP TRIGGER bindings_notify_access ON bindings;
DROP TRIGGER users_notify_access ON users;
DROP FUNCTION notify_access_change();
