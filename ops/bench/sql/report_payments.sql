-- ops/bench (report): payment lists per municipality and ended month, whose lines are what the
-- ledger says is owed per person and code, with 2 % of the lines discrepant; through
-- api.payment_record as the owner role with the scope '*'. Variables: year_start month0.
SET max_parallel_workers_per_gather = 0;
-- All of it is one transaction, so the tables' statistics stay those of the start while
-- payment_lines and postings grow by a million rows: the plans api.payment_record caches would
-- scan payment_lines for each payment's own lines (quadratic: > 10 minutes). The daemon's
-- connections see autovacuum's fresh statistics between requests; this setup forces the index.
SET enable_seqscan = off;
SELECT setseed(0.17) \g /dev/null
SELECT set_config('reimbursed.scope', '*', false) \g /dev/null
CREATE TEMP TABLE owed AS
SELECT p.municipality AS muni, p.month, per.dossier_number AS dossier, p.code,
       sum(p.amount_ore)::bigint AS owed, random() AS r
  FROM postings p JOIN placements pl ON pl.id = p.placement_id
  JOIN persons per ON per.id = pl.person_id
 WHERE p.kind = 'accrual' AND p.account = 'receivable' AND p.month < :'month0'::date
 GROUP BY 1, 2, 3, 4 HAVING sum(p.amount_ore) <> 0;
CREATE TEMP TABLE lines AS
SELECT muni, month, dossier, code,
       CASE WHEN r < 0.007 THEN owed - 1 - floor(random() * owed / 2)::bigint -- underpaid
            WHEN r < 0.014 THEN owed + 100 + floor(random() * 300000)::bigint -- overpaid
            ELSE owed END AS amount
  FROM owed WHERE r >= 0.017 OR r < 0.014 -- 0.3 % missing (underpaid)
UNION ALL
SELECT muni, month, 'X' || dossier, code, owed -- 0.3 % unknown persons
  FROM owed WHERE r >= 0.017 AND r < 0.020
UNION ALL -- the housing places, per municipality
SELECT p.municipality, p.month, NULL, 'ALLOCATION_PLACE', sum(p.amount_ore)::bigint
  FROM postings p
 WHERE p.kind = 'accrual' AND p.account = 'receivable' AND p.allocation_id IS NOT NULL
   AND p.month < :'month0'::date
 GROUP BY 1, 2;
SELECT count(*) AS payment_lines FROM lines \gset
\echo payment lines: :payment_lines
-- The first municipality alone, then fresh statistics, so that the plans api.payment_record
-- caches for the rest see tables with rows in them.
CREATE TEMP TABLE groups AS
SELECT muni, month, sum(amount)::bigint AS total,
       jsonb_agg(jsonb_build_object('dossier_number', dossier, 'month', month, 'code', code,
                                    'amount_ore', amount)) AS lines
  FROM lines GROUP BY muni, month;
CREATE FUNCTION pg_temp.pay(p_first boolean) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT * FROM groups
              WHERE (muni = (SELECT min(muni) FROM groups)) = p_first ORDER BY muni, month LOOP
        PERFORM api.payment_record(NULL, g.muni, (g.month + interval '1 month 24 days')::date,
                                   g.total, 'UTB-' || to_char(g.month, 'YYYY-MM'), NULL,
                                   g.lines, NULL);
    END LOOP;
END $$;
SELECT pg_temp.pay(true) \g /dev/null
ANALYZE payments;
ANALYZE payment_lines;
ANALYZE journal;
ANALYZE postings;
SELECT pg_temp.pay(false) \g /dev/null
