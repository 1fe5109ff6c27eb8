-- An accrual run's Idempotency-Key is claimed by the database session that runs it. A daemon
-- killed during the run left the claim "in progress" for ever: every retry with that key got
-- 409 run_in_progress. The claim now names its session (pid and start), and a claim whose
-- session is gone is taken over by the retry, which then runs (runs are convergent, so running
-- again is what the interrupted one would have done). A session the caller may not inspect
-- counts as alive as long as its pid exists: a reused pid only delays the take-over. Behind a
-- transaction pooler the claiming server session outlives the daemon, so no take-over happens
-- there (as before): retry with a new key, which is safe.
ALTER TABLE idempotency_keys ADD COLUMN claimer_pid int, ADD COLUMN claimer_start timestamptz;

CREATE OR REPLACE FUNCTION api.idem_claim_run(p_client bigint, p_scope text, p_key text,
                                              p_hash text)
    RETURNS TABLE (status int, body text)
    LANGUAGE plpgsql AS $$
DECLARE
    k idempotency_keys;
    me_start timestamptz := (SELECT a.backend_start FROM pg_stat_activity a
                              WHERE a.pid = pg_backend_pid());
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    INSERT INTO idempotency_keys (client_id, key, municipality, request_sha256, claimer_pid,
                                  claimer_start)
    VALUES (p_client, p_key, p_scope, p_hash, pg_backend_pid(), me_start) ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN QUERY SELECT NULL::int, NULL::text;
        RETURN;
    END IF;
    SELECT * INTO k FROM idempotency_keys i
     WHERE i.client_id = p_client AND i.key = p_key FOR UPDATE;
    IF k.request_sha256 <> p_hash THEN
        RETURN QUERY SELECT 422, '{"error":{"code":"idempotency_key_reused","message":"this Idempotency-Key was used with another request; use a new key for a new request"}}'::text;
    ELSIF k.status IS NULL AND k.claimer_pid IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM pg_stat_activity a
             WHERE a.pid = k.claimer_pid
               AND (a.backend_start IS NULL OR a.backend_start = k.claimer_start)) THEN
        UPDATE idempotency_keys i SET claimer_pid = pg_backend_pid(), claimer_start = me_start
         WHERE i.client_id = p_client AND i.key = p_key;
        RETURN QUERY SELECT NULL::int, NULL::text;
    ELSIF k.status IS NULL THEN
        RETURN QUERY SELECT 409, '{"error":{"code":"run_in_progress","message":"a run with this Idempotency-Key is in progress"}}'::text;
    ELSE
        RETURN QUERY SELECT k.status, k.body;
    END IF;
END $$;
