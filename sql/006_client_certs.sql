-- Mutual TLS: a client may be bound to a certificate (SHA-256 of its DER encoding). When the
-- daemon has tls_client_ca set, the presented certificate must be the one bound to the token's
-- client.
ALTER TABLE clients ADD COLUMN cert_sha256 text CHECK (cert_sha256 ~ '^[0-9a-f]{64}$');

DROP FUNCTION api.client_by_token(text);
CREATE FUNCTION api.client_by_token(p_sha256 text)
    RETURNS TABLE (id bigint, name text, role text, scope text, token_sha256 text,
                   cert_sha256 text)
    LANGUAGE sql STABLE AS $$
    SELECT id, name, role, scope, token_sha256, cert_sha256 FROM clients
     WHERE token_sha256 = p_sha256 AND revoked_at IS NULL $$;
GRANT EXECUTE ON FUNCTION api.client_by_token(text) TO reimbursed_app;
