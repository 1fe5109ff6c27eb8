-- Claims an idempotency key for this request, or returns the stored answer; never waits for
-- another transaction that holds the key (409 idempotency_in_progress instead).
CREATE OR REPLACE FUNCTION api.idem_claim(p_client bigint, p_scope text, p_key text, p_hash text)
    RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    k idempotency_keys;
BEGIN
    IF NOT pg_try_advisory_xact_lock(api.idem_lock_key(p_client, p_key)) THEN
        PERFORM api.idem_in_progress();
    END IF;
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
    IF k.status IS NULL THEN
        PERFORM api.idem_in_progress();
    END IF;
    RETURN ROW(k.status, k.body, k.location)::api.response;
END $$;

-- The accrual run's claim (sql/010) with the same answer for a key in flight as every other POST.
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
    IF NOT pg_try_advisory_xact_lock(api.idem_lock_key(p_client, p_key)) THEN
        RETURN QUERY SELECT 409, '{"error":{"code":"idempotency_in_progress","message":"a request with this Idempotency-Key is in progress; repeat it with the same key after Retry-After seconds"}}'::text;
        RETURN;
    END IF;
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
        RETURN QUERY SELECT 409, '{"error":{"code":"idempotency_in_progress","message":"a request with this Idempotency-Key is in progress; repeat it with the same key after Retry-After seconds"}}'::text;
    ELSE
        RETURN QUERY SELECT k.status, k.body;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION api.idem_store_run(p_client bigint, p_scope text, p_key text, p_status int,
                                              p_body text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    UPDATE idempotency_keys SET status = p_status, body = p_body
     WHERE client_id = p_client AND key = p_key;
END $$;

-- The advisory lock of (client, key): class 0x1DE0 in the high bits keeps it apart from the
-- accrual run's locks; a hash collision only makes a request answer 409 and be retried.
CREATE OR REPLACE FUNCTION api.idem_lock_key(p_client bigint, p_key text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (x'1DE0'::bigint << 48) # (hashtextextended(p_client::text || ':' || p_key, 0)
                                      & x'0000FFFFFFFFFFFF'::bigint) $$;

CREATE OR REPLACE FUNCTION api.idem_in_progress() RETURNS void
    LANGUAGE sql AS $$
    SELECT api.fail(409, 'idempotency_in_progress',
        'a request with this Idempotency-Key is in progress; repeat it with the same key after Retry-After seconds') $$;

-- One batch of the nightly expiry: deletes at most p_batch keys created more than p_keep ago
-- (never less than 24 hours) and returns how many. Runs as the owner, so that the daemon's role
-- needs no DELETE on the table; the caller loops, one transaction per batch.
CREATE OR REPLACE FUNCTION api.idem_expire(p_keep interval, p_batch int) RETURNS int
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n int;
BEGIN
    IF p_keep IS NULL OR p_keep < interval '24 hours' OR p_batch IS NULL OR p_batch < 1
       OR p_batch > 100000 THEN
        RAISE EXCEPTION 'idem_expire: retention must be at least 24 hours, batch 1 to 100000';
    END IF;
    PERFORM set_config('reimbursed.scope', '*', true);
    DELETE FROM idempotency_keys
     WHERE ctid IN (SELECT ctid FROM idempotency_keys
                     WHERE created_at < now() - p_keep
                     ORDER BY created_at LIMIT p_batch FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION api.idem_expire(interval, int) FROM PUBLIC;
