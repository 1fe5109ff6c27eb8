-- Issue 16, items 1 and 5.
--
-- A run never goes back behind what any run has posted. Before, api.run_begin compared a new
-- run's `through` only with runs whose status is `done`; a run that failed or was killed part way
-- had already posted some municipalities through its later day, and a run with an earlier
-- `through` was accepted and reversed those later months. Every municipality's committed run
-- records how far its ledger is accrued in accrual_state (in the same transaction as its
-- postings), so the latest day any run posted through is max(accrual_state.through); a new run
-- must not be before it nor before the latest done run's. (The daemon also restricts the diff to
-- service months up to `through`, and refuses a municipality already accrued through a later day
-- under that municipality's lock, for runs that start alongside each other.)
CREATE OR REPLACE FUNCTION api.run_begin(p_client bigint, p_through date, OUT status int,
                                         OUT body text, OUT run_id bigint)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    saved text := rb_scope();
    latest date;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('reimbursed.run_begin'));
    IF p_through >= api.stockholm_date(now()) THEN
        status := 409;
        body := json_build_object('error', json_build_object('code', 'through_not_past',
                    'message', 'through must be before today (Europe/Stockholm)', 'field', 'through'))::text;
        RETURN;
    END IF;
    PERFORM set_config('reimbursed.scope', '*', true);
    SELECT greatest((SELECT max(r.through) FROM accrual_runs r WHERE r.status = 'done'),
                    (SELECT max(s.through) FROM accrual_state s))
      INTO latest;
    PERFORM set_config('reimbursed.scope', saved, true);
    IF latest IS NOT NULL AND p_through < latest THEN
        status := 409;
        body := json_build_object('error', json_build_object('code', 'through_before_latest_run',
                    'message', 'through must not be before ' || latest || ', the latest day a run '
                               'accrued the ledger through (runs that failed part way count)',
                    'field', 'through'))::text;
        RETURN;
    END IF;
    INSERT INTO accrual_runs (through, client_id) VALUES (p_through, p_client) RETURNING id INTO run_id;
    status := 0;
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO reimbursed_app;

-- Payment amounts are bounded: |amount| <= 10^11 öre for each payment line and each payment
-- without lines (the daemon answers 422 before this; these constraints hold for any other
-- writer). A payment with lines totals at most 200 000 lines * 10^11 = 2 * 10^16, so every sum
-- over one payment or list is exact in bigint. NOT VALID: rows recorded before stay as they are
-- (the ledger is append-only); every new row is checked.
ALTER TABLE payment_lines ADD CONSTRAINT payment_lines_amount_bounded
    CHECK (amount_ore BETWEEN -100000000000 AND 100000000000) NOT VALID;
ALTER TABLE payments ADD CONSTRAINT payments_amount_bounded
    CHECK (amount_ore BETWEEN -20000000000000000 AND 20000000000000000
           AND (import_id IS NOT NULL OR amount_ore BETWEEN -100000000000 AND 100000000000)) NOT VALID;
