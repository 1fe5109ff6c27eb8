-- The API's database side: one function call per HTTP request, each one transaction.
-- Every function returns (status, body, location); business errors are raised with api.fail()
-- and turned into a stored, replayable response by api.post().

-- Raises a business error that api.post()/api.get() turn into an HTTP response.
CREATE FUNCTION api.fail(p_status int, p_code text, p_message text, p_field text DEFAULT NULL,
                         p_details json DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    err json := json_strip_nulls(json_build_object('code', p_code, 'message', p_message,
                                                   'field', p_field, 'details', p_details));
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'RB000', MESSAGE = p_code,
        DETAIL = json_build_object('status', p_status, 'body', json_build_object('error', err))::text;
END $$;

CREATE FUNCTION api.ts(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

-- Runs one query with the scope widened to every municipality, for checks that must see across
-- municipalities (a person is housed in one place at a time) without showing the caller the rows.
CREATE FUNCTION api.widen_scope() RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    saved text := rb_scope();
BEGIN
    PERFORM set_config('reimbursed.scope', '*', true);
    RETURN saved;
END $$;

CREATE FUNCTION api.restore_scope(p_saved text) RETURNS void
    LANGUAGE sql AS $$ SELECT set_config('reimbursed.scope', p_saved, true) $$;

-- The person row for a dossier number, created when new; refuses a differing birth date or flag
-- without revealing the recorded values.
CREATE FUNCTION api.person_resolve(p_dossier text, p_birth date, p_uam boolean) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    saved text := api.widen_scope();
    per persons;
BEGIN
    SELECT * INTO per FROM persons WHERE dossier_number = p_dossier FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO persons (dossier_number, birth_date, former_uam)
        VALUES (p_dossier, p_birth, coalesce(p_uam, false))
        ON CONFLICT (dossier_number) DO NOTHING
        RETURNING * INTO per;
        IF NOT FOUND THEN
            SELECT * INTO per FROM persons WHERE dossier_number = p_dossier FOR UPDATE;
        END IF;
    END IF;
    PERFORM api.restore_scope(saved);
    IF per.birth_date <> p_birth OR (p_uam IS NOT NULL AND per.former_uam <> p_uam) THEN
        PERFORM api.fail(409, 'person_mismatch',
            'a person with this dossier number is already recorded with another birth date or former_uam flag; correct the person first');
    END IF;
    RETURN per.id;
END $$;

-- Refuses days in housing that overlap another placement of the same person, naming the other
-- placement only when the caller may see it.
CREATE FUNCTION api.check_overlap(p_person bigint, p_self bigint, p_housing daterange) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    saved text;
    other_id bigint;
    other_muni text;
BEGIN
    IF isempty(p_housing) THEN
        RETURN;
    END IF;
    saved := api.widen_scope();
    SELECT id, municipality INTO other_id, other_muni FROM placements
     WHERE person_id = p_person AND id IS DISTINCT FROM p_self AND housing && p_housing
     ORDER BY id LIMIT 1;
    PERFORM api.restore_scope(saved);
    IF other_id IS NULL THEN
        RETURN;
    END IF;
    IF saved = '*' OR saved = other_muni THEN
        PERFORM api.fail(409, 'placement_overlap',
            'the days in housing overlap another placement of the same person',
            NULL, json_build_object('conflicting_placement_id', other_id::text));
    END IF;
    PERFORM api.fail(409, 'placement_overlap_elsewhere',
        'the days in housing overlap a placement of the same person in another municipality');
END $$;

CREATE FUNCTION api.placement_json(p_id bigint) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', p.id::text,
        'dossier_number', per.dossier_number,
        'birth_date', per.birth_date,
        'former_uam', per.former_uam,
        'municipality', p.municipality,
        'assigned_on', p.assigned_on,
        'moved_in_on', p.moved_in_on,
        'moved_out_on', p.moved_out_on,
        'move_out_reason', p.move_out_reason,
        'registered_on', p.registered_on,
        'events', coalesce((
            SELECT json_agg(json_build_object(
                       'type', e.type, 'effective', e.effective, 'field', e.field,
                       'value', e.value, 'recorded_at', api.ts(e.recorded_at),
                       'client', CASE WHEN e.show_client THEN c.name END,
                       'reason', e.reason) ORDER BY e.id)
              FROM placement_events e LEFT JOIN clients c ON c.id = e.client_id
             WHERE e.placement_id = p.id), '[]'::json))
      FROM placements p JOIN persons per ON per.id = p.person_id
     WHERE p.id = p_id $$;

CREATE FUNCTION api.event_add(p_placement placements, p_type text, p_effective date,
                              p_client bigint, p_reason text DEFAULT NULL,
                              p_field text DEFAULT NULL, p_value text DEFAULT NULL) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO placement_events (placement_id, municipality, type, effective, field, value,
                                  reason, client_id)
    VALUES (p_placement.id, p_placement.municipality, p_type, p_effective, p_field, p_value,
            p_reason, p_client) $$;

CREATE TYPE api.response AS (status int, body text, location text);

-- POST /v1/placements. Arguments were validated for shape by the daemon.
CREATE FUNCTION api.placement_create(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    pl placements;
    person bigint;
    muni text := a->>'municipality';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM municipalities WHERE code = muni) THEN
        PERFORM api.fail(422, 'unknown_municipality', 'no municipality has the code ' || muni,
                         'municipality');
    END IF;
    person := api.person_resolve(a->>'dossier_number', (a->>'birth_date')::date,
                                 (a->>'former_uam')::boolean);
    PERFORM api.check_overlap(person, NULL,
        rb_housing((a->>'assigned_on')::date, (a->>'moved_in_on')::date, NULL, NULL));
    INSERT INTO placements (person_id, municipality, assigned_on, moved_in_on)
    VALUES (person, muni, (a->>'assigned_on')::date, (a->>'moved_in_on')::date)
    RETURNING * INTO pl;
    PERFORM api.event_add(pl, 'assigned', pl.assigned_on, p_client, NULL, 'person',
        (SELECT json_build_object('birth_date', birth_date, 'former_uam', former_uam)::text
           FROM persons WHERE id = person));
    IF pl.moved_in_on IS NOT NULL THEN
        PERFORM api.event_add(pl, 'moved_in', pl.moved_in_on, p_client);
    END IF;
    RETURN ROW(201, api.placement_json(pl.id)::text, '/v1/placements/' || pl.id)::api.response;
END $$;

CREATE FUNCTION api.placement_lock(p_id bigint) RETURNS placements
    LANGUAGE plpgsql AS $$
DECLARE
    pl placements;
BEGIN
    SELECT * INTO pl FROM placements WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM api.fail(404, 'not_found', 'no such placement');
    END IF;
    RETURN pl;
END $$;

-- POST /v1/placements/{id}/move-in
CREATE FUNCTION api.placement_move_in(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    pl placements := api.placement_lock((a->>'id')::bigint);
    d date := (a->>'date')::date;
BEGIN
    IF pl.moved_out_on IS NOT NULL OR pl.registered_on IS NOT NULL THEN
        PERFORM api.fail(409, 'placement_ended', 'the placement has ended; record a correction instead');
    END IF;
    IF pl.moved_in_on IS NOT NULL THEN
        PERFORM api.fail(409, 'already_moved_in', 'the placement already has a move-in; record a correction instead');
    END IF;
    PERFORM api.check_overlap(pl.person_id, pl.id, rb_housing(pl.assigned_on, d, NULL, NULL));
    UPDATE placements SET moved_in_on = d, updated_at = now() WHERE id = pl.id RETURNING * INTO pl;
    PERFORM api.event_add(pl, 'moved_in', d, p_client);
    RETURN ROW(200, api.placement_json(pl.id)::text, NULL)::api.response;
END $$;

-- POST /v1/placements/{id}/move-out; the reason `registered` also records the registration.
CREATE FUNCTION api.placement_move_out(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    pl placements := api.placement_lock((a->>'id')::bigint);
    d date := (a->>'date')::date;
    why text := a->>'reason';
BEGIN
    IF pl.moved_out_on IS NOT NULL THEN
        PERFORM api.fail(409, 'already_moved_out', 'the placement already has a move-out; record a correction instead');
    END IF;
    IF pl.moved_in_on IS NOT NULL AND d < pl.moved_in_on THEN
        PERFORM api.fail(422, 'move_out_before_move_in', 'the move-out date is before the move-in date', 'date');
    END IF;
    UPDATE placements
       SET moved_out_on = d, move_out_reason = why, updated_at = now(),
           registered_on = CASE WHEN why = 'registered' THEN coalesce(registered_on, d)
                                ELSE registered_on END
     WHERE id = pl.id RETURNING * INTO pl;
    PERFORM api.event_add(pl, 'moved_out', d, p_client, why);
    RETURN ROW(200, api.placement_json(pl.id)::text, NULL)::api.response;
END $$;

-- POST /v1/placements/search: a person's placements in the caller's scope.
CREATE FUNCTION api.placement_search(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE sql STABLE AS $$
    SELECT 200, json_build_object('items', coalesce(json_agg(api.placement_json(p.id) ORDER BY p.id),
                                                    '[]'::json))::text, NULL::text
      FROM placements p JOIN persons per ON per.id = p.person_id
     WHERE per.dossier_number = a->>'dossier_number' $$;

-- Claims an idempotency key for this request, or returns the stored answer. A concurrent request
-- with the same key waits on the primary key until the first commits, so only one executes.
CREATE FUNCTION api.idem_claim(p_client bigint, p_scope text, p_key text, p_hash text)
    RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    k idempotency_keys;
BEGIN
    INSERT INTO idempotency_keys (client_id, key, municipality, request_sha256)
    VALUES (p_client, p_key, p_scope, p_hash)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO k FROM idempotency_keys WHERE client_id = p_client AND key = p_key;
    IF k.request_sha256 <> p_hash THEN
        PERFORM api.fail(422, 'idempotency_key_reused',
            'this Idempotency-Key was used with another request; use a new key for a new request');
    END IF;
    RETURN ROW(k.status, k.body, k.location)::api.response;
END $$;

CREATE FUNCTION api.error_response(p_detail text) RETURNS api.response
    LANGUAGE sql IMMUTABLE AS $$
    SELECT ((p_detail::json->>'status')::int, (p_detail::json->'body')::text, NULL::text) $$;

-- The operations behind POST requests; later migrations redefine this as they add operations.
CREATE FUNCTION api.dispatch(p_op text, p_client bigint, p_args jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    r api.response;
BEGIN
    r := CASE p_op
        WHEN 'placement_create' THEN api.placement_create(p_client, p_args)
        WHEN 'placement_move_in' THEN api.placement_move_in(p_client, p_args)
        WHEN 'placement_move_out' THEN api.placement_move_out(p_client, p_args)
        WHEN 'placement_search' THEN api.placement_search(p_client, p_args)
    END;
    IF r.status IS NULL THEN
        RAISE EXCEPTION 'unknown operation %', p_op;
    END IF;
    RETURN r;
END $$;

-- Every POST: scope, idempotency, the operation, and the stored answer, in one transaction.
CREATE FUNCTION api.post(p_op text, p_client bigint, p_scope text, p_key text, p_hash text,
                         p_args jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    r api.response;
    detail text;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    IF p_key IS NOT NULL THEN
        BEGIN
            r := api.idem_claim(p_client, p_scope, p_key, p_hash);
        EXCEPTION WHEN SQLSTATE 'RB000' THEN
            GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
            RETURN api.error_response(detail);
        END;
        IF r.status IS NOT NULL THEN
            RETURN r;
        END IF;
    END IF;
    BEGIN
        r := api.dispatch(p_op, p_client, p_args);
    EXCEPTION
        WHEN SQLSTATE 'RB000' THEN
            GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
            r := api.error_response(detail);
        WHEN exclusion_violation THEN
            r := (409, json_build_object('error', json_build_object('code',
                     'placement_overlap_elsewhere', 'message',
                     'the days in housing overlap another placement of the same person'))::text,
                  NULL)::api.response;
    END;
    IF p_key IS NOT NULL THEN
        UPDATE idempotency_keys SET status = r.status, body = r.body, location = r.location
         WHERE client_id = p_client AND key = p_key;
    END IF;
    RETURN r;
END $$;

-- GET /v1/placements/{id}
CREATE FUNCTION api.placement_get(p_scope text, p_id bigint) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    body json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    body := api.placement_json(p_id);
    IF body IS NULL THEN
        RETURN ROW(404, '{"error":{"code":"not_found","message":"no such placement"}}', NULL)::api.response;
    END IF;
    RETURN ROW(200, body::text, NULL)::api.response;
END $$;

-- GET /v1/placements: ordered by id; the cursor is bound to the filters by a digest.
CREATE FUNCTION api.placement_list(p_scope text, p_muni text, p_active_on date, p_cursor text,
                                   p_limit int) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    filters text := coalesce(p_muni, '') || '|' || coalesce(p_active_on::text, '');
    after_id bigint := 0;
    ids bigint[];
    next_cursor text;
    items json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    IF p_cursor IS NOT NULL THEN
        IF p_cursor !~ '^[0-9]{1,18}\.[0-9a-f]{16}$'
           OR split_part(p_cursor, '.', 2) <>
              left(md5(filters || '|' || split_part(p_cursor, '.', 1)), 16) THEN
            RETURN ROW(400, '{"error":{"code":"invalid_cursor","message":"the cursor is not valid for this list and its filters"}}', NULL)::api.response;
        END IF;
        after_id := split_part(p_cursor, '.', 1)::bigint;
    END IF;
    SELECT array_agg(id ORDER BY id) INTO ids FROM (
        SELECT p.id FROM placements p
         WHERE p.id > after_id
           AND (p_muni IS NULL OR p.municipality = p_muni)
           AND (p_active_on IS NULL OR p.housing @> p_active_on)
         ORDER BY p.id LIMIT p_limit + 1) s;
    IF coalesce(array_length(ids, 1), 0) > p_limit THEN
        ids := ids[1:p_limit];
        next_cursor := ids[p_limit]::text || '.' || left(md5(filters || '|' || ids[p_limit]::text), 16);
    END IF;
    SELECT coalesce(json_agg(api.placement_json(i) ORDER BY i), '[]'::json) INTO items
      FROM unnest(ids) AS i;
    RETURN ROW(200, json_build_object('items', items, 'next_cursor', next_cursor)::text, NULL)::api.response;
END $$;

-- Token look-up for the daemon: the active client with this digest.
CREATE FUNCTION api.client_by_token(p_sha256 text)
    RETURNS TABLE (id bigint, name text, role text, scope text, token_sha256 text)
    LANGUAGE sql STABLE AS $$
    SELECT id, name, role, scope, token_sha256 FROM clients
     WHERE token_sha256 = p_sha256 AND revoked_at IS NULL $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO reimbursed_app;
GRANT USAGE ON TYPE api.response TO reimbursed_app;
