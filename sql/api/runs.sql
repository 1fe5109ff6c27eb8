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

CREATE OR REPLACE FUNCTION api.run_json(p_run accrual_runs, p_scope text) RETURNS json
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

CREATE OR REPLACE FUNCTION api.run_get(p_scope text, p_id bigint) RETURNS api.response
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
