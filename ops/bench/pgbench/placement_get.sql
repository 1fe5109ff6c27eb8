-- GET /v1/placements/{id} as the daemon issues it: the token lookup, then api.placement_get.
-- Variables (pgbench -D): tokhash scope lo hi.
\set id random(:lo, :hi)
SELECT id, name, role, scope, token_sha256, cert_sha256 FROM api.client_by_token(:tokhash);
SELECT status, body, location FROM api.placement_get(:scope, :id);
