-- The rate in force (RULES.md §2): each stored row holds until the next row of its code; valid_to
-- is derived, so ranges cannot overlap, and a null amount ends the rate. This view is the one
-- place the stored rows become ranges: the accrual run and `reimbursectl rates index` load it
-- (daemon/pg/rate_schedule.c) and the placement's accruals endpoint reads it, and the lookup of a
-- day's amount is C's accrual_rate_on (daemon/rules/accrual.c). Bound by rules_sql_agree, which
-- evaluates this view's own definition over the rows of tests/unit/rate_cases.h and checks
-- accrual_rate_on on the result against the cases' amounts (unit_accrual_cases).
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

-- POST /v1/allocations. The place compensation (RULES.md §2, "Allocation") is split between its
-- two homes, each defined once: the places a decision accrues, max(0, places - the highest
-- earlier decision of that year), are a stored fact computed here (allocations.accrued_places),
-- because only this transaction, under the year's lock, sees every earlier decision; what those
-- places are owed (× the rate in force on decided_on, in its month) is C's accrual_allocation
-- (daemon/rules/accrual.c), which reads accrued_places. Bound by integration_ledger's allocation
-- test (40 → 55 → 50 → 60 accrue 40, 15, 0 and 5 places, and the run posts them).
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
    PERFORM api.municipality_check(muni);
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
    after_id bigint := api.cursor_after(filters, p_cursor);
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    IF after_id IS NULL THEN
        RETURN QUERY SELECT 'e'::text, '{"error":{"code":"invalid_cursor","message":"the cursor is not valid for this list and its filters"}}'::text, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT 'i'::text, json_build_object(
                   'id', x.id::text, 'journal_id', x.journal_id::text, 'kind', x.kind,
                   'cause', j.cause, 'run_id', j.run_id::text, 'recorded_at', api.ts(j.recorded_at),
                   'account', x.account, 'municipality', x.municipality,
                   'placement_id', x.placement_id::text, 'allocation_id', x.allocation_id::text,
                   'month', api.month_text(x.month), 'code', x.code, 'amount_ore', x.amount_ore)::text,
               api.cursor_make(filters, x.id)
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

-- The one writer of the ledger (issue 14, item 3). Every journal and every posting — an accrual
-- run's differences, a payment (manual or imported), later write-offs and reversals — is written
-- by api.ledger_post and by nothing else; tests/sql/ledger_writer_check.py fails the build's
-- tests when another function or a C file inserts into journal or postings.
--
-- One call writes a batch: the journals of one municipality and kind (an accrual run writes one
-- journal per service month of a municipality in one call; a payment writes one), and their
-- postings as parallel arrays, each posting naming its journal by its 1-based place in p_months.
-- Before it writes, it checks what the ledger's rules say of every batch:
--   * kind: 'accrual' (written by a run: p_run names it) or 'payment' (p_run null);
--   * account: accrual postings are receivable or compensation, payment postings receivable or
--     bank;
--   * balance: every journal has postings and they sum to zero (exactly, in numeric);
--   * municipality: journals and postings take p_muni, so they cannot disagree (row-level security
--     keeps it in the caller's scope);
--   * period: every month is a first of month; a journal with a service month holds postings of
--     that month only; an accrual posts no month after the month that holds its run's `through`
--     (the ledger has no closed periods: a late correction is a new posting in its own month);
--   * amounts: never zero, |amount| <= 2·10^16 öre (the largest payment list's total).
-- The table triggers of 004 (balanced per statement, journal of this transaction, not empty at
-- commit) stay as the last line of defence. Returns the journal ids in p_months order.
CREATE OR REPLACE FUNCTION api.ledger_post(p_kind text, p_muni text, p_cause text, p_run bigint,
                                           p_client bigint, p_months date[], p_journal int[],
                                           p_account text[], p_placement bigint[],
                                           p_allocation bigint[], p_month date[], p_code text[],
                                           p_amount bigint[]) RETURNS bigint[]
    LANGUAGE plpgsql AS $$
DECLARE
    nj int := coalesce(cardinality(p_months), 0);
    n int := coalesce(cardinality(p_amount), 0);
    accounts text[] := CASE p_kind WHEN 'accrual' THEN '{receivable,compensation}'::text[]
                                   ELSE '{receivable,bank}'::text[] END;
    bound constant bigint := 20000000000000000; -- 2·10^16 öre: the largest payment list's total
    last_month date;
    groups bigint;
    bad jsonb;
    ids bigint[];
BEGIN
    IF p_kind IS NULL OR p_kind NOT IN ('accrual', 'payment') THEN
        RAISE EXCEPTION 'ledger_post: unknown kind %', p_kind USING ERRCODE = 'check_violation';
    END IF;
    IF (p_kind = 'accrual') <> (p_run IS NOT NULL) THEN
        RAISE EXCEPTION 'ledger_post: an accrual journal belongs to a run, a payment journal to none'
            USING ERRCODE = 'check_violation';
    END IF;
    IF nj = 0 OR n = 0 OR coalesce(cardinality(p_journal), 0) <> n
       OR coalesce(cardinality(p_account), 0) <> n OR coalesce(cardinality(p_month), 0) <> n
       OR coalesce(cardinality(p_placement), n) <> n OR coalesce(cardinality(p_allocation), n) <> n
       OR coalesce(cardinality(p_code), n) <> n THEN
        RAISE EXCEPTION 'ledger_post: % journals and % postings, with arrays of unequal length',
            nj, n USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_months) m WHERE m <> date_trunc('month', m)) THEN
        RAISE EXCEPTION 'ledger_post: a service month is not the first of a month'
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_kind = 'accrual' THEN
        SELECT date_trunc('month', r.through)::date INTO last_month
          FROM accrual_runs r WHERE r.id = p_run;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'ledger_post: no accrual run %', p_run USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    -- One pass over the postings, one group per journal: how many journals have postings, and
    -- those that break a rule (every test is coalesced: bool_and would skip a null).
    SELECT count(*) FILTER (WHERE g.j BETWEEN 1 AND nj),
           jsonb_agg(to_jsonb(g) ORDER BY g.j) FILTER (WHERE g.j IS NULL OR g.j NOT BETWEEN 1 AND nj
               OR g.total <> 0 OR NOT (g.account_ok AND g.amount_ok AND g.month_ok AND g.through_ok))
      INTO groups, bad
      FROM (SELECT t.j, coalesce(sum(t.amt), 0) AS total,
                   bool_and(coalesce(t.acct = ANY (accounts), false)) AS account_ok,
                   bool_and(coalesce(t.amt <> 0 AND t.amt BETWEEN -bound AND bound, false))
                       AS amount_ok,
                   bool_and(CASE WHEN t.m IS NULL THEN p_months[t.j] IS NULL
                                 WHEN p_months[t.j] IS NOT NULL THEN t.m = p_months[t.j]
                                 ELSE t.m = date_trunc('month', t.m) END) AS month_ok,
                   bool_and(coalesce(last_month IS NULL OR t.m <= last_month, false)) AS through_ok
              FROM unnest(p_journal, p_account, p_month, p_amount) AS t(j, acct, m, amt)
             GROUP BY t.j) g;
    IF bad IS NOT NULL THEN
        bad := bad->0;
        RAISE EXCEPTION 'ledger_post: journal % of % (%): %', bad->>'j', nj, p_cause,
            CASE WHEN (bad->>'j') IS NULL OR (bad->>'j')::int NOT BETWEEN 1 AND nj
                     THEN 'no such journal'
                 WHEN (bad->>'total')::numeric <> 0 THEN 'not balanced (' || (bad->>'total') || ' öre)'
                 WHEN NOT (bad->>'account_ok')::boolean THEN 'an account not of a ' || p_kind || ' journal'
                 WHEN NOT (bad->>'amount_ok')::boolean THEN 'an amount zero or out of bounds'
                 WHEN NOT (bad->>'month_ok')::boolean
                     THEN 'a month not the first of a month, or not the journal''s service month'
                 ELSE 'a month after the month of the run''s through' END
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF groups <> nj THEN
        RAISE EXCEPTION 'ledger_post: % of % journals (%) have postings', groups, nj, p_cause
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- Identities are drawn in the order of the rows, so ordering by id is p_months' order.
    WITH ins AS (
        INSERT INTO journal (kind, cause, run_id, municipality, service_month, client_id)
        SELECT p_kind, p_cause, p_run, p_muni, m, p_client FROM unnest(p_months) AS m
        RETURNING id)
    SELECT array_agg(id ORDER BY id) INTO ids FROM ins;
    INSERT INTO postings (journal_id, kind, account, municipality, placement_id, allocation_id,
                          month, code, amount_ore)
    SELECT ids[t.j], p_kind, t.acct, p_muni, t.p, t.al, t.m, t.c, t.amt
      FROM unnest(p_journal, p_account, p_placement, p_allocation, p_month, p_code, p_amount)
           AS t(j, acct, p, al, m, c, amt);
    RETURN ids;
END $$;
