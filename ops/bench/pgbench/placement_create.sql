-- POST /v1/placements as the daemon issues it, each statement prepared, in its own transaction:
-- with the daemon's token cache (sql/009, asserted=1) one statement, api.post with the cached
-- client asserted; without it (asserted=0) the token lookup, then api.post.
-- Variables (pgbench -D): asserted tokhash cid scope reqhash run n=0. The JSON argument is built
-- in SQL from the counter, since pgbench variables cannot hold strings that change.
\set n :n + 1
\if :asserted
SELECT status, body, location FROM api.post('placement_create', :cid, :scope, 'P' || :run || '-' || :client_id || '-' || :n, :reqhash, CAST('{"dossier_number":"P' || :run || '-' || :client_id || '-' || :n || '","birth_date":"1990-05-17","municipality":"1480","assigned_on":"2025-03-01","moved_in_on":"2025-03-03"}' AS jsonb)) WHERE api.client_assert(:cid, :tokhash, 'write', :scope, NULL);
\else
SELECT id, name, role, scope, token_sha256, cert_sha256 FROM api.client_by_token(:tokhash);
SELECT status, body, location FROM api.post('placement_create', :cid, :scope, 'P' || :run || '-' || :client_id || '-' || :n, :reqhash, CAST('{"dossier_number":"P' || :run || '-' || :client_id || '-' || :n || '","birth_date":"1990-05-17","municipality":"1480","assigned_on":"2025-03-01","moved_in_on":"2025-03-03"}' AS jsonb));
\endif
