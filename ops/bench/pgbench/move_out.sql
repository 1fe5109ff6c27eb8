-- POST /v1/placements/{id}/move-out as the daemon issues it: the token lookup, then api.post.
-- Client c of C takes the placements lo + c, lo + c + C, ... (each one once).
-- Variables (pgbench -D): tokhash cid scope reqhash run lo nclients n=0.
\set id :lo + :n * :nclients + :client_id
\set n :n + 1
SELECT id, name, role, scope, token_sha256, cert_sha256 FROM api.client_by_token(:tokhash);
SELECT status, body, location FROM api.post('placement_move_out', :cid, :scope, 'M' || :run || '-' || :id, :reqhash, CAST('{"date":"2026-01-15","reason":"other","id":"' || :id || '"}' AS jsonb));
