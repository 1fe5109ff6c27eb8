-- ops/bench (write, read, memory): N placements of MUNI, one new person each, made as the
-- superuser with their events, from placement id FIRST on. Variables: n first movein out muni tag
-- (movein 1: moved in; out 1: half of them also moved out, for the balance).
SELECT setval(pg_get_serial_sequence('placements', 'id'), :first - 1, true)
 WHERE :first > 1;
INSERT INTO persons (dossier_number)
SELECT :'tag' || lpad(g::text, 8, '0') FROM generate_series(1, :n) g;
INSERT INTO person_records (person_id, municipality, birth_date, former_uam)
SELECT id, :'muni', date '1985-01-01' + (g % 5000), g % 20 = 0
  FROM (SELECT id, (row_number() OVER (ORDER BY id))::int AS g FROM persons
         WHERE dossier_number LIKE :'tag' || '%') p;
INSERT INTO placements (person_id, municipality, assigned_on, moved_in_on, moved_out_on,
                        move_out_reason)
SELECT id, :'muni', date '2024-01-01' + (g % 300),
       CASE WHEN :movein = 1 THEN date '2024-01-05' + (g % 300) END,
       CASE WHEN :out = 1 AND g % 2 = 0 THEN date '2024-01-05' + (g % 300) + 30 + g % 400 END,
       CASE WHEN :out = 1 AND g % 2 = 0 THEN 'other' END
  FROM (SELECT id, (row_number() OVER (ORDER BY id))::int AS g FROM persons
         WHERE dossier_number LIKE :'tag' || '%') p
 ORDER BY g;
INSERT INTO placement_events (placement_id, municipality, type, effective)
SELECT p.id, p.municipality, t.type, t.effective
  FROM placements p JOIN persons per ON per.id = p.person_id
 CROSS JOIN LATERAL (VALUES (1, 'assigned', p.assigned_on), (2, 'moved_in', p.moved_in_on),
                            (3, 'moved_out', p.moved_out_on)) AS t(k, type, effective)
 WHERE per.dossier_number LIKE :'tag' || '%' AND t.effective IS NOT NULL
 ORDER BY p.id, t.k;
VACUUM ANALYZE;
