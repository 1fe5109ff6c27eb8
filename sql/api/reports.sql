-- GET /v1/municipalities/{code}/balance: the totals are the sums of api.balance_codes.
CREATE OR REPLACE FUNCTION api.balance(p_scope text, p_muni text, p_as_of timestamptz)
    RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    result json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    WITH a AS (
        SELECT array_agg(r.month) AS m, array_agg(r.code) AS k, array_agg(r.owed_ore) AS o,
               array_agg(r.paid_ore) AS p
          FROM api.recon_rows(p_muni, p_as_of) r)
    SELECT json_build_object(
        'municipality', p_muni, 'as_of', api.ts(p_as_of),
        'owed_ore', coalesce(sum(c.owed_ore), 0), 'paid_ore', coalesce(sum(c.paid_ore), 0),
        'outstanding_ore', coalesce(sum(c.outstanding_ore), 0),
        'expected_reclaim_ore', coalesce(sum(c.reclaim_ore), 0),
        'accrued_not_due_ore', coalesce(sum(c.not_due_ore), 0),
        'by_code', coalesce(json_agg(json_build_object(
            'code', c.code, 'owed_ore', c.owed_ore, 'paid_ore', c.paid_ore,
            'outstanding_ore', c.outstanding_ore, 'expected_reclaim_ore', c.reclaim_ore,
            'accrued_not_due_ore', c.not_due_ore) ORDER BY c.code), '[]'::json))
      INTO result FROM a, api.balance_codes(p_as_of, a.m, a.k, a.o, a.p) c;
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
CREATE OR REPLACE FUNCTION api.reconciliation(p_scope text, p_muni text, p_month date,
                                              p_at timestamptz, p_format text)
    RETURNS api.response
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    PERFORM api.recon_fill(p_muni, p_at, p_month);
    IF p_format = 'csv' THEN
        RETURN ROW(200, api.recon_csv_of(p_muni, p_month), NULL)::api.response;
    END IF;
    RETURN ROW(200, api.recon_json_of(p_muni, p_month, p_at), NULL)::api.response;
END $$;

-- GET /v1/reports/reconciliation?format=csv, streamed: the header, then one line per row (the
-- daemon ends each with CRLF), the bytes api.recon_csv_of has.
CREATE OR REPLACE FUNCTION api.reconciliation_csv(p_scope text, p_muni text, p_month date,
                                                  p_at timestamptz)
    RETURNS SETOF text
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    RETURN NEXT api.recon_csv_header();
    RETURN QUERY
        SELECT api.recon_csv_line(p_muni, p_month, r.dossier_number, r.placement_id, r.code,
                                  r.owed_ore, r.paid_ore,
                                  api.recon_class(r.owed_ore, r.paid_ore, r.covered,
                                                  r.known_person))
          FROM api.recon_rows(p_muni, p_at) r
         WHERE r.month = p_month
         ORDER BY r.dossier_number NULLS LAST, r.code;
END $$;

-- Issue 14, item 4: the nightly report is a view of the API. The reconciliation and balance
-- documents are built by one set of functions over the reconciliation rows held in the
-- transaction-local table recon_tmp (api.recon_fill): GET /v1/reports/reconciliation fills it
-- with one month, GET /v1/municipalities/{code}/balance passes api.recon_rows' rows to
-- api.balance_codes as arrays (no temporary table), and the nightly report
-- (daemon/pg/report.c) fills it once per municipality and reads the same documents from it (it
-- must not call api.recon_rows, which reads the municipality's whole ledger, once per document).
-- One CSV line format for the buffered and the streamed reconciliation.

-- The rows of api.recon_rows(p_muni, p_at), classified, for p_month only or (NULL) every month.
CREATE OR REPLACE FUNCTION api.recon_fill(p_muni text, p_at timestamptz, p_month date)
    RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS recon_tmp (month date, dossier_number text,
        placement_id bigint, code text, owed_ore bigint, paid_ore bigint, class text)
        ON COMMIT DROP;
    TRUNCATE recon_tmp;
    INSERT INTO recon_tmp
    SELECT r.month, r.dossier_number, r.placement_id, r.code, r.owed_ore, r.paid_ore,
           api.recon_class(r.owed_ore, r.paid_ore, r.covered, r.known_person)
      FROM api.recon_rows(p_muni, p_at) r
     WHERE p_month IS NULL OR r.month = p_month;
END $$;

CREATE OR REPLACE FUNCTION api.recon_csv_header() RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT 'municipality;month;dossier_number;placement_id;code;owed_ore;paid_ore;diff_ore;class' $$;

-- One line of the reconciliation CSV (without its CRLF).
CREATE OR REPLACE FUNCTION api.recon_csv_line(p_muni text, p_month date, p_dossier text,
                                              p_placement bigint, p_code text, p_owed bigint,
                                              p_paid bigint, p_class text) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT concat_ws(';', p_muni, api.month_text(p_month), coalesce(p_dossier, ''),
                     coalesce(p_placement::text, ''), p_code, p_owed, p_paid, p_paid - p_owed,
                     p_class) $$;

-- The reconciliation of p_month as CSV, from recon_tmp.
CREATE OR REPLACE FUNCTION api.recon_csv_of(p_muni text, p_month date) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN api.recon_csv_header() || E'\r\n' ||
           coalesce((SELECT string_agg(api.recon_csv_line(p_muni, p_month, t.dossier_number,
                                           t.placement_id, t.code, t.owed_ore, t.paid_ore,
                                           t.class), E'\r\n'
                                       ORDER BY t.dossier_number NULLS LAST, t.code) || E'\r\n'
                       FROM recon_tmp t WHERE t.month = p_month), '');
END $$;

-- The reconciliation of p_month as JSON, from recon_tmp.
CREATE OR REPLACE FUNCTION api.recon_json_of(p_muni text, p_month date, p_at timestamptz)
    RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    rows json;
    totals json;
BEGIN
    SELECT coalesce(json_agg(json_build_object(
               'dossier_number', t.dossier_number, 'placement_id', t.placement_id::text,
               'code', t.code, 'owed_ore', t.owed_ore, 'paid_ore', t.paid_ore,
               'diff_ore', t.paid_ore - t.owed_ore, 'class', t.class)
               ORDER BY t.dossier_number NULLS LAST, t.code), '[]'::json)
      INTO rows FROM recon_tmp t WHERE t.month = p_month;
    SELECT coalesce(json_agg(json_build_object('class', x.class, 'code', x.code, 'owed_ore', x.o,
               'paid_ore', x.p, 'diff_ore', x.p - x.o) ORDER BY x.class, x.code), '[]'::json)
      INTO totals
      FROM (SELECT t.class, t.code, sum(t.owed_ore)::bigint AS o, sum(t.paid_ore)::bigint AS p
              FROM recon_tmp t WHERE t.month = p_month GROUP BY t.class, t.code) x;
    RETURN json_build_object('municipality', p_muni, 'month', api.month_text(p_month),
               'as_known_at', api.ts(p_at), 'rows', rows, 'totals', totals)::text;
END $$;

-- The balance per code of reconciliation rows given as parallel arrays (month, code, owed, paid;
-- arrays, so that the API passes api.recon_rows' rows without a temporary table and the report
-- those of recon_tmp): owed counts the months that had ended by p_as_of (Stockholm); the
-- running month's accruals are not due.
CREATE OR REPLACE FUNCTION api.balance_codes(p_as_of timestamptz, p_month date[], p_code text[],
                                             p_owed bigint[], p_paid bigint[])
    RETURNS TABLE (code text, owed_ore numeric, paid_ore numeric, outstanding_ore numeric,
                   reclaim_ore numeric, not_due_ore numeric)
    LANGUAGE sql STABLE AS $$
    WITH r AS (
        SELECT t.code, t.month < date_trunc('month', api.stockholm_date(p_as_of))::date AS due,
               t.owed, t.paid
          FROM unnest(p_month, p_code, p_owed, p_paid) AS t(month, code, owed, paid))
    SELECT r.code,
           coalesce(sum(r.owed) FILTER (WHERE r.due), 0),
           coalesce(sum(r.paid), 0),
           coalesce(sum(greatest(0, r.owed - r.paid)) FILTER (WHERE r.due), 0),
           coalesce(sum(greatest(0, r.paid - CASE WHEN r.due THEN r.owed ELSE 0 END)), 0),
           coalesce(sum(r.owed) FILTER (WHERE NOT r.due), 0)
      FROM r GROUP BY r.code ORDER BY r.code $$;
