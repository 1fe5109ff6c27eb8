-- Mutual TLS: a client may be bound to a certificate (SHA-256 of its DER encoding). When the
-- daemon has tls_client_ca set, the presented certificate must be the one bound to the token's
-- client.
ALTER TABLE clients ADD COLUMN cert_sha256 text CHECK (cert_sha256 ~ '^[0-9a-f]{64}$');

DROP FUNCTION IF EXISTS api.client_by_token(text);
