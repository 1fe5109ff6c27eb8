-- The API's database side for rates, allocations, corrections, the bitemporal read of a
-- placement, accrual runs and reading the ledger.

CREATE FUNCTION api.month_text(d date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_char(d, 'YYYY-MM') $$;

-- The last day of the month that holds `t` in Stockholm, as a date.
CREATE FUNCTION api.stockholm_date(t timestamptz) RETURNS date
    LANGUAGE sql STABLE AS $$ SELECT (t AT TIME ZONE 'Europe/Stockholm')::date $$;

CREATE FUNCTION api.rate_json(p_code text, p_from date) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('code', code, 'valid_from', valid_from, 'valid_to', valid_to,
                             'amount_ore', amount_ore)
      FROM rate_schedule WHERE code = p_code AND valid_from = p_from $$;

-- GET /v1/rates
CREATE FUNCTION api.rates_list() RETURNS api.response
    LANGUAGE sql STABLE AS $$
    SELECT ROW(200, json_build_object('items', coalesce(json_agg(json_build_object(
               'code', code, 'valid_from', valid_from, 'valid_to', valid_to,
               'amount_ore', amount_ore) ORDER BY code, valid_from), '[]'::json))::text,
               NULL)::api.response
      FROM rate_schedule $$;

-- POST /v1/rates (admin): a new row, possibly dated in the past; the next run posts the
-- differences.
CREATE FUNCTION api.rate_create(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    c text := a->>'code';
    f date := (a->>'valid_from')::date;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('reimbursed.rates'));
    IF EXISTS (SELECT 1 FROM rates WHERE code = c AND valid_from = f) THEN
        PERFORM api.fail(409, 'rate_exists', 'a rate row for this code and valid_from exists; rows are never changed', 'valid_from');
    END IF;
    INSERT INTO rates (code, valid_from, amount_ore, note, client_id)
    VALUES (c, f, (a->>'amount_ore')::bigint, a->>'note', p_client);
    RETURN ROW(201, api.rate_json(c, f)::text, NULL)::api.response;
END $$;

CREATE FUNCTION api.allocation_json(al allocations, p_decrease boolean) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', al.id::text, 'municipality', al.municipality, 'year', al.year,
                             'places', al.places, 'decided_on', al.decided_on,
                             'accrued_places', al.accrued_places, 'decrease', p_decrease,
                             'recorded_at', api.ts(al.recorded_at)) $$;

-- POST /v1/allocations: a decision accrues the places above the highest earlier decision of
-- that year; decisions of a year come in date order.
CREATE FUNCTION api.allocation_create(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    muni text := a->>'municipality';
    y int := (a->>'year')::int;
    p int := (a->>'places')::int;
    d date := (a->>'decided_on')::date;
    latest allocations;
    highest int;
    al allocations;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM municipalities WHERE code = muni) THEN
        PERFORM api.fail(422, 'unknown_municipality', 'no municipality has the code ' || muni, 'municipality');
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('reimbursed.allocation'), hashtext(muni || ':' || y));
    SELECT * INTO latest FROM allocations WHERE municipality = muni AND year = y
     ORDER BY decided_on DESC, id DESC LIMIT 1;
    IF FOUND AND d < latest.decided_on THEN
        PERFORM api.fail(409, 'allocation_out_of_order',
            'a decision for this year is dated ' || latest.decided_on || '; a new one cannot be dated before it', 'decided_on');
    END IF;
    SELECT coalesce(max(places), 0) INTO highest FROM allocations WHERE municipality = muni AND year = y;
    INSERT INTO allocations (municipality, year, places, decided_on, accrued_places, client_id)
    VALUES (muni, y, p, d, greatest(0, p - highest), p_client) RETURNING * INTO al;
    RETURN ROW(201, api.allocation_json(al, latest.id IS NOT NULL AND p < latest.places)::text,
               NULL)::api.response;
END $$;

-- GET /v1/allocations
CREATE FUNCTION api.allocations_list(p_scope text, p_muni text, p_year int) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    items json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    SELECT coalesce(json_agg(json_build_object(
               'id', al.id::text, 'municipality', al.municipality, 'year', al.year,
               'places', al.places, 'decided_on', al.decided_on,
               'accrued_places', al.accrued_places,
               'decrease', coalesce(al.places < al.prev_places, false),
               'recorded_at', api.ts(al.recorded_at))
               ORDER BY al.municipality, al.year, al.decided_on, al.id), '[]'::json)
      INTO items
      FROM (SELECT a.*, lag(a.places) OVER (PARTITION BY a.municipality, a.year
                                            ORDER BY a.decided_on, a.id) AS prev_places
              FROM allocations a) al
     WHERE (p_muni IS NULL OR al.municipality = p_muni) AND (p_year IS NULL OR al.year = p_year);
    RETURN ROW(200, json_build_object('items', items, 'next_cursor', NULL)::text, NULL)::api.response;
END $$;

-- POST /v1/placements/{id}/corrections: a new event; the projection follows; every rule is
-- checked again on the corrected facts.
CREATE FUNCTION api.placement_correct(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    pl placements := api.placement_lock((a->>'id')::bigint);
    fld text := a->>'field';
    val text := a->>'value';
    why text := a->>'reason';
    saved text;
    foreign_count int;
    q record;
    n placements;
BEGIN
    IF fld IN ('birth_date', 'former_uam') THEN
        saved := api.widen_scope();
        SELECT count(*) INTO foreign_count FROM placements
         WHERE person_id = pl.person_id AND municipality <> pl.municipality;
        PERFORM api.restore_scope(saved);
        IF foreign_count > 0 AND saved <> '*' THEN
            PERFORM api.fail(409, 'person_shared',
                'this person has placements in other municipalities; an administrator makes this correction');
        END IF;
        PERFORM 1 FROM persons WHERE id = pl.person_id FOR UPDATE;
        IF fld = 'birth_date' THEN
            UPDATE persons SET birth_date = val::date WHERE id = pl.person_id;
        ELSE
            UPDATE persons SET former_uam = val::boolean WHERE id = pl.person_id;
        END IF;
        FOR q IN SELECT * FROM placements WHERE person_id = pl.person_id ORDER BY id FOR UPDATE LOOP
            UPDATE placements SET updated_at = now() WHERE id = q.id;
            INSERT INTO placement_events (placement_id, municipality, type, effective, field, value,
                                          reason, client_id, show_client)
            VALUES (q.id, q.municipality, 'correction',
                    CASE WHEN fld = 'birth_date' THEN val::date END, fld, val, why, p_client,
                    q.municipality = pl.municipality);
        END LOOP;
        RETURN ROW(200, api.placement_json(pl.id)::text, NULL)::api.response;
    END IF;

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

-- GET /v1/placements/{id}?as_known_at=T: the facts as recorded up to T, replayed from events.
CREATE FUNCTION api.placement_get_as_of(p_scope text, p_id bigint, p_at timestamptz)
    RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    pl placements;
    per persons;
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
    SELECT * INTO per FROM persons WHERE id = pl.person_id;
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
        'id', pl.id::text, 'dossier_number', per.dossier_number, 'birth_date', birth,
        'former_uam', uam, 'municipality', pl.municipality, 'assigned_on', assigned,
        'moved_in_on', moved_in, 'moved_out_on', moved_out, 'move_out_reason', out_reason,
        'registered_on', registered, 'as_known_at', api.ts(p_at), 'events', events)::text,
        NULL)::api.response;
END $$;

-- Starts an accrual run: `through` must be before today in Stockholm and not before the latest
-- run's. Returns the run id, or an error response.
CREATE FUNCTION api.run_begin(p_client bigint, p_through date, OUT status int, OUT body text,
                              OUT run_id bigint)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    latest date;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('reimbursed.run_begin'));
    IF p_through >= api.stockholm_date(now()) THEN
        status := 409;
        body := json_build_object('error', json_build_object('code', 'through_not_past',
                    'message', 'through must be before today (Europe/Stockholm)', 'field', 'through'))::text;
        RETURN;
    END IF;
    SELECT max(through) INTO latest FROM accrual_runs WHERE status = 'done';
    IF latest IS NOT NULL AND p_through < latest THEN
        status := 409;
        body := json_build_object('error', json_build_object('code', 'through_before_latest_run',
                    'message', 'through must not be before the latest run''s (' || latest || ')',
                    'field', 'through'))::text;
        RETURN;
    END IF;
    INSERT INTO accrual_runs (through, client_id) VALUES (p_through, p_client) RETURNING id INTO run_id;
    status := 0;
END $$;

CREATE FUNCTION api.run_json(p_run accrual_runs, p_scope text) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'run_id', p_run.id::text, 'through', p_run.through, 'status', p_run.status,
        'started_at', api.ts(p_run.started_at), 'finished_at', api.ts(p_run.finished_at),
        'lines_posted', CASE WHEN p_scope = '*' THEN p_run.lines_posted ELSE (
            SELECT coalesce(sum((t->>'lines')::bigint), 0)
              FROM jsonb_array_elements(p_run.result->'municipalities') t
             WHERE t->>'municipality' = p_scope) END,
        'parked', coalesce((SELECT json_agg(x) FROM jsonb_array_elements(p_run.result->'parked') x
                             WHERE p_scope = '*' OR x->>'municipality' = p_scope), '[]'::json),
        'totals', coalesce((SELECT json_agg(x) FROM jsonb_array_elements(p_run.result->'totals') x
                             WHERE p_scope = '*' OR x->>'municipality' = p_scope), '[]'::json),
        'errors', coalesce((SELECT json_agg(x) FROM jsonb_array_elements(p_run.result->'errors') x
                             WHERE p_scope = '*' OR x->>'municipality' = p_scope), '[]'::json)) $$;

CREATE FUNCTION api.run_get(p_scope text, p_id bigint) RETURNS api.response
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    r accrual_runs;
BEGIN
    SELECT * INTO r FROM accrual_runs WHERE id = p_id;
    IF NOT FOUND THEN
        RETURN ROW(404, '{"error":{"code":"not_found","message":"no such accrual run"}}', NULL)::api.response;
    END IF;
    RETURN ROW(200, api.run_json(r, p_scope)::text, NULL)::api.response;
END $$;

-- What the daemon needs to compute one placement's accruals: its facts, the schedule, what is
-- posted, and how far the ledger has been accrued.
CREATE FUNCTION api.placement_accrual_input(p_scope text, p_id bigint) RETURNS json
    LANGUAGE plpgsql AS $$
DECLARE
    r json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    SELECT json_build_object(
        'assigned_on', p.assigned_on, 'moved_in_on', p.moved_in_on,
        'moved_out_on', p.moved_out_on, 'registered_on', p.registered_on,
        'birth_date', per.birth_date, 'former_uam', per.former_uam,
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
      FROM placements p JOIN persons per ON per.id = p.person_id
     WHERE p.id = p_id;
    RETURN r;
END $$;

-- GET /v1/ledger/entries: postings with their journal, ordered by posting id.
CREATE FUNCTION api.ledger_entries(p_scope text, p_muni text, p_from date, p_to date, p_code text,
                                   p_cursor text, p_limit int) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    filters text := coalesce(p_muni, '') || '|' || coalesce(p_from::text, '') || '|' ||
                    coalesce(p_to::text, '') || '|' || coalesce(p_code, '');
    after_id bigint := 0;
    rows json;
    last_id bigint;
    n int;
    next_cursor text;
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
    SELECT json_agg(json_build_object(
               'id', x.id::text, 'journal_id', x.journal_id::text, 'kind', x.kind,
               'cause', j.cause, 'run_id', j.run_id::text, 'recorded_at', api.ts(j.recorded_at),
               'account', x.account, 'municipality', x.municipality,
               'placement_id', x.placement_id::text, 'allocation_id', x.allocation_id::text,
               'month', api.month_text(x.month), 'code', x.code, 'amount_ore', x.amount_ore)
               ORDER BY x.id), max(x.id), count(*)
      INTO rows, last_id, n
      FROM (SELECT * FROM postings p
             WHERE p.id > after_id
               AND (p_muni IS NULL OR p.municipality = p_muni)
               AND (p_from IS NULL OR p.month >= date_trunc('month', p_from))
               AND (p_to IS NULL OR p.month <= p_to)
               AND (p_code IS NULL OR p.code = p_code)
             ORDER BY p.id LIMIT p_limit) x
      JOIN journal j ON j.id = x.journal_id;
    IF n = p_limit THEN
        next_cursor := last_id::text || '.' || left(md5(filters || '|' || last_id::text), 16);
    END IF;
    RETURN ROW(200, json_build_object('items', coalesce(rows, '[]'::json),
                                      'next_cursor', next_cursor)::text, NULL)::api.response;
END $$;

-- GET /v1/municipalities/{code}/balance?as_of=: owed vs paid at the level of the reconciliation
-- rows (placement or allocation, month, code), cut on recorded time.
CREATE FUNCTION api.balance(p_scope text, p_muni text, p_as_of timestamptz) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    due_before date := date_trunc('month', api.stockholm_date(p_as_of))::date;
    result json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    WITH r AS (
        SELECT p.code, p.month < due_before AS due,
               coalesce(sum(p.amount_ore) FILTER (WHERE p.kind = 'accrual'), 0) AS owed,
               coalesce(-sum(p.amount_ore) FILTER (WHERE p.kind = 'payment'), 0) AS paid
          FROM postings p JOIN journal j ON j.id = p.journal_id
         WHERE p.municipality = p_muni AND p.account = 'receivable' AND j.recorded_at <= p_as_of
         GROUP BY p.placement_id, p.allocation_id, p.month, p.code),
    c AS (
        SELECT code,
               coalesce(sum(owed) FILTER (WHERE due), 0) AS owed,
               sum(paid) AS paid,
               coalesce(sum(greatest(0, owed - paid)) FILTER (WHERE due), 0) AS outstanding,
               sum(greatest(0, paid - CASE WHEN due THEN owed ELSE 0 END)) AS reclaim,
               coalesce(sum(owed) FILTER (WHERE NOT due), 0) AS not_due
          FROM r GROUP BY code)
    SELECT json_build_object(
        'municipality', p_muni, 'as_of', api.ts(p_as_of),
        'owed_ore', coalesce(sum(owed), 0), 'paid_ore', coalesce(sum(paid), 0),
        'outstanding_ore', coalesce(sum(outstanding), 0),
        'expected_reclaim_ore', coalesce(sum(reclaim), 0),
        'accrued_not_due_ore', coalesce(sum(not_due), 0),
        'by_code', coalesce(json_agg(json_build_object(
            'code', code, 'owed_ore', owed, 'paid_ore', paid, 'outstanding_ore', outstanding,
            'expected_reclaim_ore', reclaim, 'accrued_not_due_ore', not_due) ORDER BY code),
            '[]'::json))
      INTO result FROM c;
    RETURN ROW(200, result::text, NULL)::api.response;
END $$;

-- The dispatcher learns the new operations.
CREATE OR REPLACE FUNCTION api.dispatch(p_op text, p_client bigint, p_args jsonb)
    RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    r api.response;
BEGIN
    r := CASE p_op
        WHEN 'placement_create' THEN api.placement_create(p_client, p_args)
        WHEN 'placement_move_in' THEN api.placement_move_in(p_client, p_args)
        WHEN 'placement_move_out' THEN api.placement_move_out(p_client, p_args)
        WHEN 'placement_search' THEN api.placement_search(p_client, p_args)
        WHEN 'placement_correct' THEN api.placement_correct(p_client, p_args)
        WHEN 'rate_create' THEN api.rate_create(p_client, p_args)
        WHEN 'allocation_create' THEN api.allocation_create(p_client, p_args)
    END;
    IF r.status IS NULL THEN
        RAISE EXCEPTION 'unknown operation %', p_op;
    END IF;
    RETURN r;
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO reimbursed_app;
