-- POST /v1/placements/{id}/move-out as the daemon issues it (see placement_create.sql for
-- asserted). Client c of C takes the placements lo + c, lo + c + C, ... (each one once).
-- Variables (pgbench -D): asserted tokhash cid scope reqhash run lo nclients n=0.
\set id :lo + :n * :nclients + :client_id
\set n :n + 1
\if :asserted
SELECT status, body, location FROM api.post('placement_move_out', :cid, :scope, 'M' || :run || '-' || :id, :reqhash, CAST('{"date":"2026-01-15","reason":"other","id":"' || :id || '"}' AS jsonb)) WHERE api.client_assert(:cid, :tokhash, 'write', :scope, NULL);
\else
SELECT id, name, role, scope, token_sha256, cert_sha256 FROM api.client_by_token(:tokhash);
SELECT status, body, location FROM api.post('placement_move_out', :cid, :scope, 'M' || :run || '-' || :id, :reqhash, CAST('{"date":"2026-01-15","reason":"other","id":"' || :id || '"}' AS jsonb));
\endif
