-- GET /v1/placements/{id} as the daemon issues it (see placement_create.sql for asserted).
-- Variables (pgbench -D): asserted tokhash cid scope lo hi.
\set id random(:lo, :hi)
\if :asserted
SELECT status, body, location FROM api.placement_get(:scope, :id) WHERE api.client_assert(:cid, :tokhash, 'write', :scope, NULL);
\else
SELECT id, name, role, scope, token_sha256, cert_sha256 FROM api.client_by_token(:tokhash);
SELECT status, body, location FROM api.placement_get(:scope, :id);
\endif
