-- Two reads that nothing calls since sql/016 streamed them (the check `sql_definitions` finds
-- every function no code calls): api.sie_rows (replaced by api.sie_postings/api.sie_stream) and
-- api.ledger_entries (replaced by api.ledger_entries_stream, which gives the same bytes).
DROP FUNCTION IF EXISTS api.sie_rows(text, text, date, date, boolean);
DROP FUNCTION IF EXISTS api.ledger_entries(text, text, date, date, text, text, int);
