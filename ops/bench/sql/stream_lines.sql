-- ops/bench (stream): n payment journals of two posting lines each for muni, as the superuser.
BEGIN;
WITH j AS (INSERT INTO journal (kind, cause, municipality, service_month)
           SELECT 'payment', 'Utbetalning ' || g, :'muni', date '2024-01-01'
             FROM generate_series(1, :n) g RETURNING id)
INSERT INTO postings (journal_id, kind, account, municipality, month, amount_ore)
SELECT j.id, 'payment', a.account, :'muni', date '2024-01-01', a.sign * (1000 + j.id % 977)
  FROM j, (VALUES (1, 'bank', 1), (2, 'receivable', -1)) a(k, account, sign)
 ORDER BY j.id, a.k;
COMMIT;
ANALYZE journal;
ANALYZE postings;
