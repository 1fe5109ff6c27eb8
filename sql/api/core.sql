-- Raises a business error that api.post()/api.get() turn into an HTTP response.
CREATE OR REPLACE FUNCTION api.fail(p_status int, p_code text, p_message text, p_field text DEFAULT NULL,
                                    p_details json DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    err json := json_strip_nulls(json_build_object('code', p_code, 'message', p_message,
                                                   'field', p_field, 'details', p_details));
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'RB000', MESSAGE = p_code,
        DETAIL = json_build_object('status', p_status, 'body', json_build_object('error', err))::text;
END $$;

-- 422 unknown_municipality (field `municipality`) unless a municipality has the code.
CREATE OR REPLACE FUNCTION api.municipality_check(p_code text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM municipalities WHERE code = p_code) THEN
        PERFORM api.fail(422, 'unknown_municipality', 'no municipality has the code ' || p_code,
                         'municipality');
    END IF;
END $$;

CREATE OR REPLACE FUNCTION api.ts(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

-- Runs one query with the scope widened to every municipality, for checks that must see across
-- municipalities (a person is housed in one place at a time) without showing the caller the rows.
CREATE OR REPLACE FUNCTION api.widen_scope() RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    saved text := rb_scope();
BEGIN
    PERFORM set_config('reimbursed.scope', '*', true);
    RETURN saved;
END $$;

CREATE OR REPLACE FUNCTION api.restore_scope(p_saved text) RETURNS void
    LANGUAGE sql AS $$ SELECT set_config('reimbursed.scope', p_saved, true) $$;

CREATE OR REPLACE FUNCTION api.error_response(p_detail text) RETURNS api.response
    LANGUAGE sql IMMUTABLE AS $$
    SELECT ((p_detail::json->>'status')::int, (p_detail::json->'body')::text, NULL::text) $$;

-- The keyset cursors of the lists: "ID.SIG", SIG the first 16 hex digits of md5(filters|ID), so a
-- cursor is good only for the list and filters it was made for.
CREATE OR REPLACE FUNCTION api.cursor_make(p_filters text, p_id bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT p_id::text || '.' || left(md5(p_filters || '|' || p_id::text), 16) $$;

-- The id after which a list resumes: 0 without a cursor, NULL for one not made for `p_filters`.
CREATE OR REPLACE FUNCTION api.cursor_after(p_filters text, p_cursor text) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF p_cursor IS NULL THEN
        RETURN 0;
    END IF;
    IF p_cursor !~ '^[0-9]{1,18}\.[0-9a-f]{16}$'
       OR split_part(p_cursor, '.', 2) <>
          left(md5(p_filters || '|' || split_part(p_cursor, '.', 1)), 16) THEN
        RETURN NULL;
    END IF;
    RETURN split_part(p_cursor, '.', 1)::bigint;
END $$;

CREATE OR REPLACE FUNCTION api.month_text(d date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_char(d, 'YYYY-MM') $$;

-- The last day of the month that holds `t` in Stockholm, as a date.
CREATE OR REPLACE FUNCTION api.stockholm_date(t timestamptz) RETURNS date
    LANGUAGE sql STABLE AS $$ SELECT (t AT TIME ZONE 'Europe/Stockholm')::date $$;

-- "Now" for a report that must be reproducible with as_known_at: rows are stamped with their
-- transaction's start, so a transaction still in flight may later commit rows dated before this
-- moment. The cut is therefore the start of the oldest transaction in flight (of this role, whose
-- sessions it may see), or now.
CREATE OR REPLACE FUNCTION api.safe_now() RETURNS timestamptz
    LANGUAGE sql STABLE AS $$
    SELECT least(now(), coalesce((SELECT min(xact_start) - interval '1 microsecond'
                                    FROM pg_stat_activity
                                   WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL
                                     AND usename = current_user), now())) $$;
