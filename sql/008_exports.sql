-- Exports: the ledger's postings for the SIE file, journal by journal. The first row carries the
-- municipality's name and today's date in Stockholm (journal_id null); no row at all means no
-- such municipality.
CREATE FUNCTION api.sie_rows(p_scope text, p_muni text, p_from date, p_to date,
                             p_payments boolean)
    RETURNS TABLE (journal_id bigint, payment boolean, cause text, recorded_on date,
                   service_month date, account text, code text, placement_id bigint,
                   amount_ore bigint, name text)
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    RETURN QUERY SELECT NULL::bigint, false, NULL::text, api.stockholm_date(now()), NULL::date,
                        NULL::text,
                        NULL::text, NULL::bigint, NULL::bigint, m.name
                   FROM municipalities m WHERE m.code = p_muni;
    RETURN QUERY
        SELECT p.journal_id, j.kind = 'payment', j.cause,
               (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date, j.service_month,
               p.account, p.code, p.placement_id, p.amount_ore, NULL::text
          FROM journal j JOIN postings p ON p.journal_id = j.id
         WHERE j.municipality = p_muni
           AND (p_from IS NULL OR (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date >= p_from)
           AND (p_to IS NULL OR (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date <= p_to)
           AND (p_payments OR j.kind = 'accrual')
         ORDER BY p.journal_id, p.id;
END $$;
GRANT EXECUTE ON FUNCTION api.sie_rows(text, text, date, date, boolean) TO reimbursed_app;

-- Idempotency for accrual runs, which span many transactions: the claim commits on its own;
-- a claim still without a status means a run under that key is in progress (409).
CREATE FUNCTION api.idem_claim_run(p_client bigint, p_scope text, p_key text, p_hash text)
    RETURNS TABLE (status int, body text)
    LANGUAGE plpgsql AS $$
DECLARE
    k idempotency_keys;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    INSERT INTO idempotency_keys (client_id, key, municipality, request_sha256)
    VALUES (p_client, p_key, p_scope, p_hash) ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN QUERY SELECT NULL::int, NULL::text;
        RETURN;
    END IF;
    SELECT * INTO k FROM idempotency_keys i WHERE i.client_id = p_client AND i.key = p_key;
    IF k.request_sha256 <> p_hash THEN
        RETURN QUERY SELECT 422, '{"error":{"code":"idempotency_key_reused","message":"this Idempotency-Key was used with another request; use a new key for a new request"}}'::text;
    ELSIF k.status IS NULL THEN
        RETURN QUERY SELECT 409, '{"error":{"code":"run_in_progress","message":"a run with this Idempotency-Key is in progress"}}'::text;
    ELSE
        RETURN QUERY SELECT k.status, k.body;
    END IF;
END $$;

CREATE FUNCTION api.idem_store_run(p_client bigint, p_scope text, p_key text, p_status int,
                                   p_body text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    UPDATE idempotency_keys SET status = p_status, body = p_body
     WHERE client_id = p_client AND key = p_key;
END $$;
GRANT EXECUTE ON FUNCTION api.idem_claim_run(bigint, text, text, text) TO reimbursed_app;
GRANT EXECUTE ON FUNCTION api.idem_store_run(bigint, text, text, int, text) TO reimbursed_app;

-- "Now" for a report that must be reproducible with as_known_at: rows are stamped with their
-- transaction's start, so a transaction still in flight may later commit rows dated before this
-- moment. The cut is therefore the start of the oldest transaction in flight (of this role, whose
-- sessions it may see), or now.
CREATE FUNCTION api.safe_now() RETURNS timestamptz
    LANGUAGE sql STABLE AS $$
    SELECT least(now(), coalesce((SELECT min(xact_start) - interval '1 microsecond'
                                    FROM pg_stat_activity
                                   WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL
                                     AND usename = current_user), now())) $$;
GRANT EXECUTE ON FUNCTION api.safe_now() TO reimbursed_app;
