-- One definition of each rule (issue 14, item 2). The money rules live in daemon/rules/accrual.c
-- (RULES.md §2); SQL keeps only what a constraint or a stored fact needs, each copy named here
-- with its C twin and the test that proves they agree. The bodies are unchanged: this file only
-- states the binding (the integrator folds it into sql/api/).

-- Days in housing (RULES.md §2): [max(moved_in, assigned), min(moved_out, registered)), empty
-- without a move-in. SQL must keep this copy: it is the generated column placements.housing,
-- which the exclusion constraint placements_no_overlap, api.check_overlap, the payments'
-- placement_for_line, the placement list's active_on filter and the accrual run's selection of
-- placements (accrual_run.c: `p.housing && daterange(...)`) all use. C twin:
-- accrual_housing_start/accrual_housing_end in daemon/rules/accrual.c. Bound by the ctest test
-- rules_sql_agree (tests/rules/test_rules_sql.c), which compares the two on every case of
-- tests/unit/housing_cases.h (the rows unit_accrual_cases checks, and every order of the four
-- dates) and the && of every pair with the C ranges' intersection.
CREATE OR REPLACE FUNCTION rb_housing(assigned date, moved_in date, moved_out date, registered date)
    RETURNS daterange
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN moved_in IS NULL THEN 'empty'::daterange
        WHEN least(moved_out, registered) IS NOT NULL
             AND least(moved_out, registered) <= greatest(moved_in, assigned) THEN 'empty'::daterange
        ELSE daterange(greatest(moved_in, assigned), least(moved_out, registered), '[)')
    END $$;

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
