-- Token look-up for the daemon: the active client with this digest.
CREATE OR REPLACE FUNCTION api.client_by_token(p_sha256 text)
    RETURNS TABLE (id bigint, name text, role text, scope text, token_sha256 text,
                   cert_sha256 text)
    LANGUAGE sql STABLE AS $$
    SELECT id, name, role, scope, token_sha256, cert_sha256 FROM clients
     WHERE token_sha256 = p_sha256 AND revoked_at IS NULL $$;

-- The daemon keeps a small cache of token → client so that a request costs one statement, not
-- two. A cached client is only a claim: every statement the daemon runs on it carries
-- `WHERE api.client_assert(...)`, a one-time filter evaluated before the statement's function,
-- which raises RB401 unless the token is still active with the same id, role, scope and bound
-- certificate. Raising aborts the statement's implicit transaction, so nothing is written on a
-- stale claim; the daemon then drops the entry and authenticates afresh.
CREATE OR REPLACE FUNCTION api.client_assert(p_id bigint, p_token_sha256 text, p_role text, p_scope text,
                                             p_cert_sha256 text) RETURNS boolean
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM 1 FROM clients
      WHERE id = p_id AND token_sha256 = p_token_sha256 AND revoked_at IS NULL
        AND role = p_role AND scope = p_scope
        AND cert_sha256 IS NOT DISTINCT FROM p_cert_sha256;
    IF NOT FOUND THEN
        RAISE SQLSTATE 'RB401' USING MESSAGE = 'the cached client is no longer valid';
    END IF;
    RETURN true;
END $$;
