-- GET /v1/municipalities/{code}/balance?as_of=: owed vs paid at the level of the reconciliation
-- rows (payments included), cut on recorded time.
CREATE OR REPLACE FUNCTION api.balance(p_scope text, p_muni text, p_as_of timestamptz)
    RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    due_before date := date_trunc('month', api.stockholm_date(p_as_of))::date;
    result json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    WITH r AS (
        SELECT code, month < due_before AS due, owed_ore AS owed, paid_ore AS paid
          FROM api.recon_rows(p_muni, p_as_of)),
    c AS (
        SELECT code,
               coalesce(sum(owed) FILTER (WHERE due), 0) AS owed,
               coalesce(sum(paid), 0) AS paid,
               coalesce(sum(greatest(0, owed - paid)) FILTER (WHERE due), 0) AS outstanding,
               coalesce(sum(greatest(0, paid - CASE WHEN due THEN owed ELSE 0 END)), 0) AS reclaim,
               coalesce(sum(owed) FILTER (WHERE NOT due), 0) AS not_due
          FROM r GROUP BY code)
    SELECT json_build_object(
        'municipality', p_muni, 'as_of', api.ts(p_as_of),
        'owed_ore', coalesce(sum(owed), 0), 'paid_ore', coalesce(sum(paid), 0),
        'outstanding_ore', coalesce(sum(outstanding), 0),
        'expected_reclaim_ore', coalesce(sum(reclaim), 0),
        'accrued_not_due_ore', coalesce(sum(not_due), 0),
        'by_code', coalesce(json_agg(json_build_object(
            'code', code, 'owed_ore', owed, 'paid_ore', paid, 'outstanding_ore', outstanding,
            'expected_reclaim_ore', reclaim, 'accrued_not_due_ore', not_due) ORDER BY code),
            '[]'::json))
      INTO result FROM c;
    RETURN ROW(200, result::text, NULL)::api.response;
END $$;

-- Owed (ledger) against paid (payment lines and payments without lines) for one municipality,
-- every month, as known at p_at. Persons reconcile per (dossier, code); ALLOCATION_PLACE per
-- month; a month paid only as a lump sum is one LUMP_SUM row against everything owed that month.
CREATE OR REPLACE FUNCTION api.recon_rows(p_muni text, p_at timestamptz)
    RETURNS TABLE (month date, dossier_number text, placement_id bigint, code text,
                   owed_ore bigint, paid_ore bigint, covered boolean, known_person boolean)
    LANGUAGE sql STABLE AS $$
    WITH owed_person AS (
        SELECT p.month, per.dossier_number, min(p.placement_id) AS placement_id, p.code,
               sum(p.amount_ore)::bigint AS owed
          FROM postings p JOIN journal j ON j.id = p.journal_id
          JOIN placements pl ON pl.id = p.placement_id JOIN persons per ON per.id = pl.person_id
         WHERE p.municipality = p_muni::bpchar AND p.kind = 'accrual' AND p.account = 'receivable'
           AND j.recorded_at <= p_at
         GROUP BY p.month, per.dossier_number, p.code),
    owed_alloc AS (
        SELECT p.month, sum(p.amount_ore)::bigint AS owed
          FROM postings p JOIN journal j ON j.id = p.journal_id
         WHERE p.municipality = p_muni::bpchar AND p.kind = 'accrual' AND p.account = 'receivable'
           AND p.allocation_id IS NOT NULL AND j.recorded_at <= p_at
         GROUP BY p.month),
    paid AS (
        SELECT l.month, l.dossier_number, l.code, sum(l.amount_ore)::bigint AS paid,
               min(l.placement_id) AS placement_id
          FROM payment_lines l
         WHERE l.municipality = p_muni::bpchar AND l.recorded_at <= p_at
         GROUP BY l.month, l.dossier_number, l.code),
    lump AS (
        SELECT p.month, sum(p.amount_ore)::bigint AS paid
          FROM payments p
         WHERE p.municipality = p_muni::bpchar AND p.month IS NOT NULL AND p.recorded_at <= p_at
         GROUP BY p.month),
    line_months AS (SELECT DISTINCT month FROM paid),
    person_rows AS (
        SELECT coalesce(o.month, pd.month) AS month,
               coalesce(o.dossier_number, pd.dossier_number) AS dossier_number,
               coalesce(o.placement_id, pd.placement_id) AS placement_id,
               coalesce(o.code, pd.code) AS code,
               coalesce(o.owed, 0) AS owed, coalesce(pd.paid, 0) AS paid,
               o.dossier_number IS NOT NULL OR pd.placement_id IS NOT NULL AS known
          FROM owed_person o
          FULL JOIN (SELECT * FROM paid WHERE dossier_number IS NOT NULL) pd
            ON pd.month = o.month AND pd.dossier_number = o.dossier_number AND pd.code = o.code),
    alloc_rows AS (
        SELECT coalesce(o.month, pd.month) AS month, coalesce(o.owed, 0) AS owed,
               coalesce(pd.paid, 0) AS paid
          FROM owed_alloc o
          FULL JOIN (SELECT month, sum(paid)::bigint AS paid FROM paid
                      WHERE dossier_number IS NULL GROUP BY month) pd ON pd.month = o.month)
    SELECT r.month, r.dossier_number, r.placement_id, r.code, r.owed, r.paid,
           r.month IN (SELECT month FROM line_months) OR r.month IN (SELECT month FROM lump),
           r.known
      FROM person_rows r
     WHERE (r.owed <> 0 OR r.paid <> 0)
       AND NOT (r.month IN (SELECT month FROM lump) AND r.month NOT IN (SELECT month FROM line_months))
    UNION ALL
    SELECT a.month, NULL, NULL, 'ALLOCATION_PLACE', a.owed, a.paid,
           a.month IN (SELECT month FROM line_months) OR a.month IN (SELECT month FROM lump), true
      FROM alloc_rows a
     WHERE (a.owed <> 0 OR a.paid <> 0)
       AND NOT (a.month IN (SELECT month FROM lump) AND a.month NOT IN (SELECT month FROM line_months))
    UNION ALL
    SELECT l.month, NULL, NULL, 'LUMP_SUM',
           CASE WHEN l.month IN (SELECT month FROM line_months) THEN 0
                ELSE coalesce((SELECT sum(owed) FROM owed_person o WHERE o.month = l.month), 0)
                     + coalesce((SELECT owed FROM owed_alloc o WHERE o.month = l.month), 0) END::bigint,
           l.paid, true, true
      FROM lump l $$;

CREATE OR REPLACE FUNCTION api.recon_class(owed bigint, paid bigint, covered boolean, known boolean)
    RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN NOT known THEN 'unknown_person'
                WHEN NOT covered THEN 'not_yet_paid'
                WHEN paid = owed THEN 'ok'
                WHEN paid < owed THEN 'underpaid'
                ELSE 'overpaid' END $$;

-- GET /v1/reports/reconciliation (JSON or CSV).
CREATE OR REPLACE FUNCTION api.reconciliation(p_scope text, p_muni text, p_month date, p_at timestamptz,
                                              p_format text) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    rows json;
    totals json;
    csv text;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    CREATE TEMP TABLE IF NOT EXISTS recon_tmp (dossier_number text, placement_id bigint, code text,
        owed_ore bigint, paid_ore bigint, class text) ON COMMIT DROP;
    TRUNCATE recon_tmp;
    INSERT INTO recon_tmp
    SELECT r.dossier_number, r.placement_id, r.code, r.owed_ore, r.paid_ore,
           api.recon_class(r.owed_ore, r.paid_ore, r.covered, r.known_person)
      FROM api.recon_rows(p_muni, p_at) r WHERE r.month = p_month;
    IF p_format = 'csv' THEN
        SELECT 'municipality;month;dossier_number;placement_id;code;owed_ore;paid_ore;diff_ore;class' || E'\r\n' ||
               coalesce(string_agg(concat_ws(';', p_muni, api.month_text(p_month),
                            coalesce(dossier_number, ''), coalesce(placement_id::text, ''), code,
                            owed_ore, paid_ore, paid_ore - owed_ore, class), E'\r\n'
                            ORDER BY dossier_number NULLS LAST, code) || E'\r\n', '')
          INTO csv FROM recon_tmp;
        RETURN ROW(200, csv, NULL)::api.response;
    END IF;
    SELECT coalesce(json_agg(json_build_object(
               'dossier_number', dossier_number, 'placement_id', placement_id::text, 'code', code,
               'owed_ore', owed_ore, 'paid_ore', paid_ore, 'diff_ore', paid_ore - owed_ore,
               'class', class) ORDER BY dossier_number NULLS LAST, code), '[]'::json)
      INTO rows FROM recon_tmp;
    SELECT coalesce(json_agg(json_build_object('class', class, 'code', code, 'owed_ore', o,
               'paid_ore', p, 'diff_ore', p - o) ORDER BY class, code), '[]'::json)
      INTO totals
      FROM (SELECT class, code, sum(owed_ore)::bigint AS o, sum(paid_ore)::bigint AS p
              FROM recon_tmp GROUP BY class, code) t;
    RETURN ROW(200, json_build_object('municipality', p_muni, 'month', api.month_text(p_month),
               'as_known_at', api.ts(p_at), 'rows', rows, 'totals', totals)::text,
               NULL)::api.response;
END $$;

-- GET /v1/reports/reconciliation?format=csv, streamed: the header, then one line per row (the
-- daemon ends each with CRLF), the bytes api.reconciliation's CSV has.
CREATE OR REPLACE FUNCTION api.reconciliation_csv(p_scope text, p_muni text, p_month date, p_at timestamptz)
    RETURNS SETOF text
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    RETURN NEXT 'municipality;month;dossier_number;placement_id;code;owed_ore;paid_ore;diff_ore;class';
    RETURN QUERY
        SELECT concat_ws(';', p_muni, api.month_text(p_month), coalesce(r.dossier_number, ''),
                         coalesce(r.placement_id::text, ''), r.code, r.owed_ore, r.paid_ore,
                         r.paid_ore - r.owed_ore,
                         api.recon_class(r.owed_ore, r.paid_ore, r.covered, r.known_person))
          FROM api.recon_rows(p_muni, p_at) r
         WHERE r.month = p_month
         ORDER BY r.dossier_number NULLS LAST, r.code;
END $$;
