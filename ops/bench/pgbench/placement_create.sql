-- POST /v1/placements as the daemon issues it: the token lookup, then api.post in its own
-- transaction (autocommit), each a prepared statement with the daemon's parameters.
-- Variables (pgbench -D): tokhash cid scope reqhash run n=0. The arguments are built in SQL
-- from the counter, since pgbench variables cannot hold strings that change.
\set n :n + 1
SELECT id, name, role, scope, token_sha256, cert_sha256 FROM api.client_by_token(:tokhash);
SELECT status, body, location FROM api.post('placement_create', :cid, :scope, 'P' || :run || '-' || :client_id || '-' || :n, :reqhash, CAST('{"dossier_number":"P' || :run || '-' || :client_id || '-' || :n || '","birth_date":"1990-05-17","municipality":"1480","assigned_on":"2025-03-01","moved_in_on":"2025-03-03"}' AS jsonb));
