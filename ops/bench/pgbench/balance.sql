-- GET /v1/municipalities/{code}/balance (no as_of) as the daemon issues it (see
-- placement_create.sql for asserted). The daemon's third parameter is NULL here; pgbench cannot
-- pass NULL, so it is written as a typed NULL in the same expression.
-- Variables (pgbench -D): asserted tokhash cid scope muni.
\if :asserted
SELECT status, body, location FROM api.balance(:scope, :muni, CASE WHEN length(NULL::text) = 10 THEN ((NULL::date + 1)::timestamp AT TIME ZONE 'Europe/Stockholm') - interval '1 microsecond' ELSE coalesce(NULL::timestamptz, api.safe_now()) END) WHERE api.client_assert(:cid, :tokhash, 'write', :scope, NULL);
\else
SELECT id, name, role, scope, token_sha256, cert_sha256 FROM api.client_by_token(:tokhash);
SELECT status, body, location FROM api.balance(:scope, :muni, CASE WHEN length(NULL::text) = 10 THEN ((NULL::date + 1)::timestamp AT TIME ZONE 'Europe/Stockholm') - interval '1 microsecond' ELSE coalesce(NULL::timestamptz, api.safe_now()) END);
\endif
