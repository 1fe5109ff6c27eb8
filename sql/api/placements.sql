-- Refuses days in housing that overlap another placement of the same person, naming the other
-- placement only when the caller may see it.
CREATE OR REPLACE FUNCTION api.check_overlap(p_person bigint, p_self bigint, p_housing daterange) RETURNS void
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

-- A placement as its municipality knows it; with scope '*' also whether the municipalities'
-- records of the person disagree (`person_conflict`).
CREATE OR REPLACE FUNCTION api.placement_json(p_id bigint) RETURNS json
    LANGUAGE sql STABLE AS $$
    WITH j AS (
        SELECT p.person_id, r.birth_date, r.former_uam, json_build_object(
            'id', p.id::text,
            'dossier_number', per.dossier_number,
            'birth_date', r.birth_date,
            'former_uam', r.former_uam,
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
                 WHERE e.placement_id = p.id), '[]'::json)) AS body
          FROM placements p JOIN persons per ON per.id = p.person_id
          JOIN person_records r ON r.person_id = p.person_id AND r.municipality = p.municipality
         WHERE p.id = p_id)
    SELECT CASE WHEN rb_scope() = '*' THEN
               (left(j.body::text, -1) || ', "person_conflict" : ' || EXISTS (
                   SELECT 1 FROM person_records o
                    WHERE o.person_id = j.person_id
                      AND (o.birth_date <> j.birth_date OR o.former_uam <> j.former_uam))::text
                || '}')::json
           ELSE j.body END
      FROM j $$;

CREATE OR REPLACE FUNCTION api.event_add(p_placement placements, p_type text, p_effective date,
                                         p_client bigint, p_reason text DEFAULT NULL,
                                         p_field text DEFAULT NULL, p_value text DEFAULT NULL) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO placement_events (placement_id, municipality, type, effective, field, value,
                                  reason, client_id)
    VALUES (p_placement.id, p_placement.municipality, p_type, p_effective, p_field, p_value,
            p_reason, p_client) $$;

-- POST /v1/placements. Arguments were validated for shape by the daemon.
CREATE OR REPLACE FUNCTION api.placement_create(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    pl placements;
    rec person_records;
    muni text := a->>'municipality';
BEGIN
    PERFORM api.municipality_check(muni);
    rec := api.person_record_resolve(a->>'dossier_number', muni, (a->>'birth_date')::date,
                                     (a->>'former_uam')::boolean);
    PERFORM api.check_overlap(rec.person_id, NULL,
        rb_housing((a->>'assigned_on')::date, (a->>'moved_in_on')::date, NULL, NULL));
    INSERT INTO placements (person_id, municipality, assigned_on, moved_in_on)
    VALUES (rec.person_id, muni, (a->>'assigned_on')::date, (a->>'moved_in_on')::date)
    RETURNING * INTO pl;
    PERFORM api.event_add(pl, 'assigned', pl.assigned_on, p_client, NULL, 'person',
        json_build_object('birth_date', rec.birth_date, 'former_uam', rec.former_uam)::text);
    IF pl.moved_in_on IS NOT NULL THEN
        PERFORM api.event_add(pl, 'moved_in', pl.moved_in_on, p_client);
    END IF;
    RETURN ROW(201, api.placement_json(pl.id)::text, '/v1/placements/' || pl.id)::api.response;
END $$;

CREATE OR REPLACE FUNCTION api.placement_lock(p_id bigint) RETURNS placements
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
CREATE OR REPLACE FUNCTION api.placement_move_in(p_client bigint, a jsonb) RETURNS api.response
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
CREATE OR REPLACE FUNCTION api.placement_move_out(p_client bigint, a jsonb) RETURNS api.response
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
CREATE OR REPLACE FUNCTION api.placement_search(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE sql STABLE AS $$
    SELECT 200, json_build_object('items', coalesce(json_agg(api.placement_json(p.id) ORDER BY p.id),
                                                    '[]'::json))::text, NULL::text
      FROM placements p JOIN persons per ON per.id = p.person_id
     WHERE per.dossier_number = a->>'dossier_number' $$;

-- GET /v1/placements/{id}
CREATE OR REPLACE FUNCTION api.placement_get(p_scope text, p_id bigint) RETURNS api.response
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
CREATE OR REPLACE FUNCTION api.placement_list(p_scope text, p_muni text, p_active_on date, p_cursor text,
                                              p_limit int) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    filters text := coalesce(p_muni, '') || '|' || coalesce(p_active_on::text, '');
    after_id bigint := api.cursor_after(filters, p_cursor);
    ids bigint[];
    next_cursor text;
    items json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    IF after_id IS NULL THEN
        RETURN ROW(400, '{"error":{"code":"invalid_cursor","message":"the cursor is not valid for this list and its filters"}}', NULL)::api.response;
    END IF;
    SELECT array_agg(id ORDER BY id) INTO ids FROM (
        SELECT p.id FROM placements p
         WHERE p.id > after_id
           AND (p_muni IS NULL OR p.municipality = p_muni)
           AND (p_active_on IS NULL OR p.housing @> p_active_on)
         ORDER BY p.id LIMIT p_limit + 1) s;
    IF coalesce(array_length(ids, 1), 0) > p_limit THEN
        ids := ids[1:p_limit];
        next_cursor := api.cursor_make(filters, ids[p_limit]);
    END IF;
    SELECT coalesce(json_agg(api.placement_json(i) ORDER BY i), '[]'::json) INTO items
      FROM unnest(ids) AS i;
    RETURN ROW(200, json_build_object('items', items, 'next_cursor', next_cursor)::text, NULL)::api.response;
END $$;

-- POST /v1/placements/{id}/corrections: a new event; the projection follows; every rule is
-- checked again on the corrected facts.
CREATE OR REPLACE FUNCTION api.placement_correct(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    fld text := a->>'field';
    val text := a->>'value';
    why text := a->>'reason';
    pl placements;
    n placements;
BEGIN
    IF fld IN ('birth_date', 'former_uam') THEN
        RETURN api.person_correct(p_client, a);
    END IF;
    pl := api.placement_lock((a->>'id')::bigint);
    n := pl;
    CASE fld
        WHEN 'assigned_on' THEN n.assigned_on := val::date;
        WHEN 'moved_in_on' THEN n.moved_in_on := val::date;
        WHEN 'moved_out_on' THEN n.moved_out_on := val::date;
        WHEN 'registered_on' THEN n.registered_on := val::date;
    END CASE;
    IF n.moved_out_on IS NOT NULL AND n.moved_in_on IS NOT NULL AND n.moved_out_on < n.moved_in_on THEN
        PERFORM api.fail(422, 'move_out_before_move_in',
            'after this correction the move-out would be before the move-in', 'value');
    END IF;
    PERFORM api.check_overlap(pl.person_id, pl.id,
        rb_housing(n.assigned_on, n.moved_in_on, n.moved_out_on, n.registered_on));
    UPDATE placements
       SET assigned_on = n.assigned_on, moved_in_on = n.moved_in_on,
           moved_out_on = n.moved_out_on, registered_on = n.registered_on,
           move_out_reason = CASE WHEN n.moved_out_on IS NULL THEN NULL ELSE move_out_reason END,
           updated_at = now()
     WHERE id = pl.id;
    PERFORM api.event_add(pl, 'correction', val::date, p_client, why, fld, val);
    RETURN ROW(200, api.placement_json(pl.id)::text, NULL)::api.response;
END $$;

-- GET /v1/placements/{id}?as_known_at=T: the facts as recorded up to T, replayed from events
-- (the person as the placement's municipality recorded it: its assigned event and corrections).
CREATE OR REPLACE FUNCTION api.placement_get_as_of(p_scope text, p_id bigint, p_at timestamptz)
    RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    pl placements;
    dossier text;
    e record;
    birth date;
    uam boolean;
    assigned date;
    moved_in date;
    moved_out date;
    out_reason text;
    registered date;
    events json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    SELECT * INTO pl FROM placements WHERE id = p_id;
    IF NOT FOUND OR pl.created_at > p_at THEN
        RETURN ROW(404, '{"error":{"code":"not_found","message":"no such placement at that time"}}', NULL)::api.response;
    END IF;
    SELECT dossier_number INTO dossier FROM persons WHERE id = pl.person_id;
    FOR e IN SELECT * FROM placement_events WHERE placement_id = p_id AND recorded_at <= p_at
              ORDER BY id LOOP
        CASE e.type
            WHEN 'assigned' THEN
                assigned := e.effective;
                birth := (e.value::json->>'birth_date')::date;
                uam := (e.value::json->>'former_uam')::boolean;
            WHEN 'moved_in' THEN moved_in := e.effective;
            WHEN 'moved_out' THEN
                moved_out := e.effective;
                out_reason := e.reason;
                IF e.reason = 'registered' THEN registered := coalesce(registered, e.effective); END IF;
            ELSE
                CASE e.field
                    WHEN 'birth_date' THEN birth := e.value::date;
                    WHEN 'former_uam' THEN uam := e.value::boolean;
                    WHEN 'assigned_on' THEN assigned := e.value::date;
                    WHEN 'moved_in_on' THEN moved_in := e.value::date;
                    WHEN 'moved_out_on' THEN
                        moved_out := e.value::date;
                        IF moved_out IS NULL THEN out_reason := NULL; END IF;
                    WHEN 'registered_on' THEN registered := e.value::date;
                END CASE;
        END CASE;
    END LOOP;
    SELECT coalesce(json_agg(json_build_object(
               'type', e2.type, 'effective', e2.effective, 'field', e2.field, 'value', e2.value,
               'recorded_at', api.ts(e2.recorded_at),
               'client', CASE WHEN e2.show_client THEN c.name END, 'reason', e2.reason)
               ORDER BY e2.id), '[]'::json) INTO events
      FROM placement_events e2 LEFT JOIN clients c ON c.id = e2.client_id
     WHERE e2.placement_id = p_id AND e2.recorded_at <= p_at;
    RETURN ROW(200, json_build_object(
        'id', pl.id::text, 'dossier_number', dossier, 'birth_date', birth,
        'former_uam', uam, 'municipality', pl.municipality, 'assigned_on', assigned,
        'moved_in_on', moved_in, 'moved_out_on', moved_out, 'move_out_reason', out_reason,
        'registered_on', registered, 'as_known_at', api.ts(p_at), 'events', events)::text,
        NULL)::api.response;
END $$;

-- What the daemon needs to compute one placement's accruals: its facts (the person as the
-- placement's municipality records it), the schedule, what is posted, and how far the ledger has
-- been accrued.
CREATE OR REPLACE FUNCTION api.placement_accrual_input(p_scope text, p_id bigint) RETURNS json
    LANGUAGE plpgsql AS $$
DECLARE
    r json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    SELECT json_build_object(
        'assigned_on', p.assigned_on, 'moved_in_on', p.moved_in_on,
        'moved_out_on', p.moved_out_on, 'registered_on', p.registered_on,
        'birth_date', rec.birth_date, 'former_uam', rec.former_uam,
        'through', (SELECT through FROM accrual_state s WHERE s.municipality = p.municipality),
        'rates', (SELECT json_agg(json_build_object('code', code, 'valid_from', valid_from,
                                                    'valid_to', valid_to, 'amount_ore', amount_ore)
                                  ORDER BY code, valid_from) FROM rate_schedule),
        'posted', coalesce((SELECT json_agg(json_build_object('month', api.month_text(month),
                                                              'code', code, 'amount_ore', amt))
                              FROM (SELECT month, code, sum(amount_ore) AS amt FROM postings
                                     WHERE placement_id = p.id AND kind = 'accrual'
                                       AND account = 'receivable'
                                     GROUP BY month, code) x), '[]'::json))
      INTO r
      FROM placements p
      JOIN person_records rec ON rec.person_id = p.person_id AND rec.municipality = p.municipality
     WHERE p.id = p_id;
    RETURN r;
END $$;
