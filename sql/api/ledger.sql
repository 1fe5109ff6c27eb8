-- Each row holds until the next row of its code; valid_to is derived, so ranges cannot overlap.
CREATE OR REPLACE VIEW rate_schedule AS
    SELECT code, valid_from,
           lead(valid_from) OVER (PARTITION BY code ORDER BY valid_from) AS valid_to,
           amount_ore
      FROM rates;
GRANT SELECT ON rate_schedule TO reimbursed_app;

CREATE OR REPLACE FUNCTION api.rate_json(p_code text, p_from date) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('code', code, 'valid_from', valid_from, 'valid_to', valid_to,
                             'amount_ore', amount_ore)
      FROM rate_schedule WHERE code = p_code AND valid_from = p_from $$;

-- GET /v1/rates
CREATE OR REPLACE FUNCTION api.rates_list() RETURNS api.response
    LANGUAGE sql STABLE AS $$
    SELECT ROW(200, json_build_object('items', coalesce(json_agg(json_build_object(
               'code', code, 'valid_from', valid_from, 'valid_to', valid_to,
               'amount_ore', amount_ore) ORDER BY code, valid_from), '[]'::json))::text,
               NULL)::api.response
      FROM rate_schedule $$;

-- National operations need national scope (issue 16, item 8). The daemon answers 403 before any
-- statement for a client whose scope is not '*'; the database refuses too, so that a rate row
-- (which changes what every municipality is owed) can never come from a municipality's client.
-- api.post sets reimbursed.scope to the client's scope before it dispatches. Allocations and
-- the ledger need nothing new: row-level security (WITH CHECK) keeps a scoped client's inserts
-- in its own municipality.
CREATE OR REPLACE FUNCTION api.rate_create(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    c text := a->>'code';
    f date := (a->>'valid_from')::date;
BEGIN
    IF rb_scope() IS DISTINCT FROM '*' THEN
        PERFORM api.fail(403, 'forbidden',
            'this changes money for every municipality and needs national scope (''*'')');
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('reimbursed.rates'));
    IF EXISTS (SELECT 1 FROM rates WHERE code = c AND valid_from = f) THEN
        PERFORM api.fail(409, 'rate_exists', 'a rate row for this code and valid_from exists; rows are never changed', 'valid_from');
    END IF;
    INSERT INTO rates (code, valid_from, amount_ore, note, client_id)
    VALUES (c, f, (a->>'amount_ore')::bigint, a->>'note', p_client);
    RETURN ROW(201, api.rate_json(c, f)::text, NULL)::api.response;
END $$;

CREATE OR REPLACE FUNCTION api.allocation_json(al allocations, p_decrease boolean) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', al.id::text, 'municipality', al.municipality, 'year', al.year,
                             'places', al.places, 'decided_on', al.decided_on,
                             'accrued_places', al.accrued_places, 'decrease', p_decrease,
                             'recorded_at', api.ts(al.recorded_at)) $$;

-- POST /v1/allocations: a decision accrues the places above the highest earlier decision of
-- that year; decisions of a year come in date order.
CREATE OR REPLACE FUNCTION api.allocation_create(p_client bigint, a jsonb) RETURNS api.response
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
CREATE OR REPLACE FUNCTION api.allocations_list(p_scope text, p_muni text, p_year int) RETURNS api.response
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

-- GET /v1/ledger/entries, streamed: postings with their journal, ordered by posting id. One row
-- per posting of the page ('i': the item's JSON and the cursor that would follow it), or one
-- row 'e' with the 400 body of a cursor that does not belong to this list. The daemon writes the
-- page around the items.
CREATE OR REPLACE FUNCTION api.ledger_entries_stream(p_scope text, p_muni text, p_from date, p_to date,
                                                     p_code text, p_cursor text, p_limit int)
    RETURNS TABLE (kind text, body text, next_cursor text)
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    filters text := coalesce(p_muni, '') || '|' || coalesce(p_from::text, '') || '|' ||
                    coalesce(p_to::text, '') || '|' || coalesce(p_code, '');
    after_id bigint := 0;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    IF p_cursor IS NOT NULL THEN
        IF p_cursor !~ '^[0-9]{1,18}\.[0-9a-f]{16}$'
           OR split_part(p_cursor, '.', 2) <>
              left(md5(filters || '|' || split_part(p_cursor, '.', 1)), 16) THEN
            RETURN QUERY SELECT 'e'::text, '{"error":{"code":"invalid_cursor","message":"the cursor is not valid for this list and its filters"}}'::text, NULL::text;
            RETURN;
        END IF;
        after_id := split_part(p_cursor, '.', 1)::bigint;
    END IF;
    RETURN QUERY
        SELECT 'i'::text, json_build_object(
                   'id', x.id::text, 'journal_id', x.journal_id::text, 'kind', x.kind,
                   'cause', j.cause, 'run_id', j.run_id::text, 'recorded_at', api.ts(j.recorded_at),
                   'account', x.account, 'municipality', x.municipality,
                   'placement_id', x.placement_id::text, 'allocation_id', x.allocation_id::text,
                   'month', api.month_text(x.month), 'code', x.code, 'amount_ore', x.amount_ore)::text,
               x.id::text || '.' || left(md5(filters || '|' || x.id::text), 16)
          FROM (SELECT * FROM postings p
                 WHERE p.id > after_id
                   AND (p_muni IS NULL OR p.municipality = p_muni)
                   AND (p_from IS NULL OR p.month >= date_trunc('month', p_from))
                   AND (p_to IS NULL OR p.month <= p_to)
                   AND (p_code IS NULL OR p.code = p_code)
                 ORDER BY p.id LIMIT p_limit) x
          JOIN journal j ON j.id = x.journal_id
         ORDER BY x.id;
END $$;
