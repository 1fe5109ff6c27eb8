-- The API's database side: one function call per HTTP request, each one transaction.
-- Every function returns (status, body, location); business errors are raised with api.fail()
-- and turned into a stored, replayable response by api.post().

CREATE TYPE api.response AS (status int, body text, location text);
GRANT USAGE ON TYPE api.response TO reimbursed_app;

-- Its functions (api.fail, api.post, api.dispatch, the placement operations, ...) live in
-- sql/api/ now (issue 14).
