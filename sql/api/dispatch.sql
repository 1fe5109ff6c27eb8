-- The operations behind POST requests: a new operation is one more WHEN here.
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
        WHEN 'payment_create' THEN api.payment_create(p_client, p_args)
        WHEN 'payment_import' THEN api.payment_import(p_client, p_args)
    END;
    IF r.status IS NULL THEN
        RAISE EXCEPTION 'unknown operation %', p_op;
    END IF;
    RETURN r;
END $$;

-- Every POST: scope, idempotency, the operation, and the stored answer, in one transaction.
CREATE OR REPLACE FUNCTION api.post(p_op text, p_client bigint, p_scope text, p_key text, p_hash text,
                                    p_args jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    r api.response;
    detail text;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    IF p_key IS NOT NULL THEN
        BEGIN
            r := api.idem_claim(p_client, p_scope, p_key, p_hash);
        EXCEPTION WHEN SQLSTATE 'RB000' THEN
            GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
            RETURN api.error_response(detail);
        END;
        IF r.status IS NOT NULL THEN
            RETURN r;
        END IF;
    END IF;
    BEGIN
        r := api.dispatch(p_op, p_client, p_args);
    EXCEPTION
        WHEN SQLSTATE 'RB000' THEN
            GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
            r := api.error_response(detail);
        WHEN exclusion_violation THEN
            r := (409, json_build_object('error', json_build_object('code',
                     'placement_overlap_elsewhere', 'message',
                     'the days in housing overlap another placement of the same person'))::text,
                  NULL)::api.response;
    END;
    IF p_key IS NOT NULL THEN
        UPDATE idempotency_keys SET status = r.status, body = r.body, location = r.location
         WHERE client_id = p_client AND key = p_key;
    END IF;
    RETURN r;
END $$;
