-- The minimal anchor of POST /v1/placements: one INSERT of a row of the same shape (a placement's
-- facts) into a plain table without the API (no token, no idempotency, no events, no RLS), each
-- its own transaction. Variables (pgbench -D): run n=0.
\set n :n + 1
INSERT INTO bench_min (dossier_number, birth_date, municipality, assigned_on, moved_in_on) VALUES ('P' || :run || '-' || :client_id || '-' || :n, '1990-05-17', '1480', '2025-03-01', '2025-03-03') RETURNING id;
