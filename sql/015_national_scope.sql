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

GRANT EXECUTE ON FUNCTION api.rate_create(bigint, jsonb) TO reimbursed_app;
