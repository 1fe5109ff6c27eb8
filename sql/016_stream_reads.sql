-- Large reads streamed row by row (the daemon reads them in libpq's single-row mode and writes
-- the reply as the rows come, so it never holds a whole export). Each function is STABLE, so
-- all its queries read one snapshot: the head of an SIE file (its years and accounts) and its
-- postings agree even while journals are being recorded.

-- The postings of an SIE export, with their journal (as api.sie_rows in 008).
CREATE FUNCTION api.sie_postings(p_muni text, p_from date, p_to date, p_payments boolean)
    RETURNS TABLE (journal_id bigint, payment boolean, cause text, recorded_on date,
                   service_month date, account text, code text, placement_id bigint,
                   amount_ore bigint, posting_id bigint)
    LANGUAGE sql STABLE AS $$
    SELECT p.journal_id, j.kind = 'payment', j.cause,
           (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date, j.service_month,
           p.account, p.code, p.placement_id, p.amount_ore, p.id
      FROM journal j JOIN postings p ON p.journal_id = j.id
     WHERE j.municipality = p_muni
       AND (p_from IS NULL OR (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date >= p_from)
       AND (p_to IS NULL OR (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date <= p_to)
       AND (p_payments OR j.kind = 'accrual') $$;

-- GET /v1/exports/sie, streamed. Rows by kind: 'h' once first (cause: the municipality's name,
-- recorded_on: today in Stockholm, first_on/last_on: the first and last recording day, NULL
-- without postings); then 'a' per (account, code) used, in the order of first use; then 'p' per
-- posting in journal order. No row at all: no such municipality.
CREATE FUNCTION api.sie_stream(p_scope text, p_muni text, p_from date, p_to date,
                               p_payments boolean)
    RETURNS TABLE (kind text, journal_id bigint, payment boolean, cause text, recorded_on date,
                   service_month date, account text, code text, placement_id bigint,
                   amount_ore bigint, first_on date, last_on date)
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    RETURN QUERY
        SELECT 'h', NULL::bigint, false, m.name::text, api.stockholm_date(now()), NULL::date,
               NULL::text, NULL::text, NULL::bigint, NULL::bigint, x.first_on, x.last_on
          FROM municipalities m,
               LATERAL (SELECT min(s.recorded_on) AS first_on, max(s.recorded_on) AS last_on
                          FROM api.sie_postings(p_muni, p_from, p_to, p_payments) s) x
         WHERE m.code = p_muni;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT 'a', NULL::bigint, false, NULL::text, NULL::date, NULL::date, u.account, u.code,
               NULL::bigint, NULL::bigint, NULL::date, NULL::date
          FROM (SELECT x.account, x.code, min(x.n) AS first_use
                  FROM (SELECT s.account, s.code,
                               row_number() OVER (ORDER BY s.journal_id, s.posting_id) AS n
                          FROM api.sie_postings(p_muni, p_from, p_to, p_payments) s) x
                 GROUP BY x.account, x.code) u
         ORDER BY u.first_use;
    RETURN QUERY
        SELECT 'p', s.journal_id, s.payment, s.cause, s.recorded_on, s.service_month, s.account,
               s.code, s.placement_id, s.amount_ore, NULL::date, NULL::date
          FROM api.sie_postings(p_muni, p_from, p_to, p_payments) s
         ORDER BY s.journal_id, s.posting_id;
END $$;
GRANT EXECUTE ON FUNCTION api.sie_postings(text, date, date, boolean) TO reimbursed_app;
GRANT EXECUTE ON FUNCTION api.sie_stream(text, text, date, date, boolean) TO reimbursed_app;

-- GET /v1/reports/reconciliation?format=csv, streamed: the header, then one line per row (the
-- daemon ends each with CRLF), the bytes api.reconciliation's CSV has.
CREATE FUNCTION api.reconciliation_csv(p_scope text, p_muni text, p_month date, p_at timestamptz)
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
GRANT EXECUTE ON FUNCTION api.reconciliation_csv(text, text, date, timestamptz) TO reimbursed_app;

-- GET /v1/ledger/entries, streamed: one row per posting of the page ('i': the item's JSON as
-- api.ledger_entries writes it, and the cursor that would follow it), or one row 'e' with the
-- 400 body of a cursor that does not belong to this list. The daemon writes the page around the
-- items, the bytes api.ledger_entries gives.
CREATE FUNCTION api.ledger_entries_stream(p_scope text, p_muni text, p_from date, p_to date,
                                          p_code text, p_cursor text, p_limit int)
    RETURNS TABLE (kind text, body text, next_cursor text)
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    filters text := coalesce(p_muni, '') || '|' || coalesce(p_from::text, '') || '|' ||
                    coalesce(p_to::text, '') || '|' || coalesce(p_code, '');
    after_id bigint := 0;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    IF p_cursor IS NOT NULL THEN
        IF p_cursor !~ '^[0-9]{1,18}\.[0-9a-f]{16}$'
           OR split_part(p_cursor, '.', 2) <>
              left(md5(filters || '|' || split_part(p_cursor, '.', 1)), 16) THEN
            RETURN QUERY SELECT 'e'::text, '{"error":{"code":"invalid_cursor","message":"the cursor is not valid for this list and its filters"}}'::text, NULL::text;
            RETURN;
        END IF;
        after_id := split_part(p_cursor, '.', 1)::bigint;
    END IF;
    RETURN QUERY
        SELECT 'i'::text, json_build_object(
                   'id', x.id::text, 'journal_id', x.journal_id::text, 'kind', x.kind,
                   'cause', j.cause, 'run_id', j.run_id::text, 'recorded_at', api.ts(j.recorded_at),
                   'account', x.account, 'municipality', x.municipality,
                   'placement_id', x.placement_id::text, 'allocation_id', x.allocation_id::text,
                   'month', api.month_text(x.month), 'code', x.code, 'amount_ore', x.amount_ore)::text,
               x.id::text || '.' || left(md5(filters || '|' || x.id::text), 16)
          FROM (SELECT * FROM postings p
                 WHERE p.id > after_id
                   AND (p_muni IS NULL OR p.municipality = p_muni)
                   AND (p_from IS NULL OR p.month >= date_trunc('month', p_from))
                   AND (p_to IS NULL OR p.month <= p_to)
                   AND (p_code IS NULL OR p.code = p_code)
                 ORDER BY p.id LIMIT p_limit) x
          JOIN journal j ON j.id = x.journal_id
         ORDER BY x.id;
END $$;
GRANT EXECUTE ON FUNCTION api.ledger_entries_stream(text, text, date, date, text, text, int)
    TO reimbursed_app;
