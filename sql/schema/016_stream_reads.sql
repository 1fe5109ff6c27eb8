-- Large reads streamed row by row (the daemon reads them in libpq's single-row mode and writes
-- the reply as the rows come, so it never holds a whole export). Each function is STABLE, so
-- all its queries read one snapshot: the head of an SIE file (its years and accounts) and its
-- postings agree even while journals are being recorded.

-- Its functions (api.sie_postings, api.sie_stream, api.reconciliation_csv,
-- api.ledger_entries_stream) live in sql/api/ now (issue 14).
