-- The minimal anchor of GET /v1/placements/{id}: one SELECT by primary key of a row of the same
-- shape from a plain table without the API. Variables (pgbench -D): lo hi.
\set id random(:lo, :hi)
SELECT id, dossier_number, birth_date, municipality, assigned_on, moved_in_on, moved_out_on FROM bench_min WHERE id = :id;
