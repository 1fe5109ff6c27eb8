#!/usr/bin/env python3
"""api.ledger_post, the ledger's one writer, on the fixture's database: a good batch is written
(one journal per service month, postings in their journals, in order), and every batch that breaks
a rule of the ledger is refused before anything is written. Each case runs in a transaction that
is rolled back, so the shared database is left as it was."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import rbtest  # noqa: E402

ENV = rbtest.fixture_env()
MUNI = "1480"
RUN = ("WITH r AS (INSERT INTO accrual_runs (through, status) VALUES ('2024-02-15', 'failed') "
       "RETURNING id) SELECT set_config('test.run', id::text, true) FROM r;\n")


def post(kind, months, journal, account, month, amount, run=True, placement="NULL",
         cause="'ledger_post test'"):
    """The SQL of one call; arrays are SQL expressions."""
    r = "current_setting('test.run')::bigint" if run else "NULL"
    return (f"SELECT api.ledger_post('{kind}', '{MUNI}', {cause}, {r}, NULL, {months}, {journal}, "
            f"{account}, {placement}, NULL, {month}, NULL, {amount});\n")


def run_sql(body, query_after=""):
    """(ok, output) of BEGIN; scope; body; query_after; ROLLBACK as the fixture's admin role."""
    sql = ("BEGIN;\nSELECT set_config('reimbursed.scope', '" + MUNI + "', true);\n" + RUN + body +
           query_after + "ROLLBACK;\n")
    p = subprocess.run(["psql", ENV["RB_DB_ADMIN"], "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"],
                       input=sql, capture_output=True, text=True)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def refused(name, sql, message):
    ok, out = run_sql(sql)
    error = [line for line in out.splitlines() if line.startswith("ERROR")]
    rbtest.check(name, not ok and message in out, error[0] if error else out)


def main():
    good = post("accrual", "'{2024-01-01,2024-02-01}'::date[]", "'{1,1,2,2,2}'::int[]",
                "'{receivable,compensation,receivable,receivable,compensation}'::text[]",
                "'{2024-01-01,2024-01-01,2024-02-01,2024-02-01,2024-02-01}'::date[]",
                "'{100,-100,7,-3,-4}'::bigint[]")
    ok, out = run_sql(good, "SELECT string_agg(j.service_month || ':' || p.account || ':' || "
                      "p.amount_ore, ',' ORDER BY p.id) FROM postings p JOIN journal j ON "
                      "j.id = p.journal_id WHERE j.run_id = current_setting('test.run')::bigint;\n")
    rows = out.splitlines()[-1] if ok else out
    rbtest.check("a balanced batch of two journals is written, in order", ok and rows == (
        "2024-01-01:receivable:100,2024-01-01:compensation:-100,2024-02-01:receivable:7,"
        "2024-02-01:receivable:-3,2024-02-01:compensation:-4"), rows)
    pay = post("payment", "ARRAY[NULL]::date[]", "'{1,1,1}'::int[]",
               "'{receivable,receivable,bank}'::text[]", "'{2024-01-01,2024-02-01,NULL}'::date[]",
               "'{-5,-6,11}'::bigint[]", run=False)
    ok, out = run_sql(pay, "SELECT count(*) FROM postings p JOIN journal j ON j.id = p.journal_id "
                      "WHERE j.cause = 'ledger_post test' AND j.kind = 'payment';\n")
    ok = ok and out.splitlines()[-1] == "3"
    rbtest.check("a payment journal without a service month holds lines of several months", ok,
                 "" if ok else out)

    two = ("'{2024-01-01,2024-02-01}'::date[]", "'{1,1,2,2}'::int[]",
           "'{receivable,compensation,receivable,compensation}'::text[]",
           "'{2024-01-01,2024-01-01,2024-02-01,2024-02-01}'::date[]")
    refused("a journal that does not sum to zero",
            post("accrual", *two, "'{100,-100,7,-6}'::bigint[]"), "not balanced (1 öre)")
    refused("an accrual posting to the bank account",
            post("accrual", two[0], two[1], "'{receivable,compensation,receivable,bank}'::text[]",
                 two[3], "'{100,-100,7,-7}'::bigint[]"), "an account not of a accrual journal")
    refused("a payment posting to the compensation account",
            post("payment", "ARRAY[NULL]::date[]", "'{1,1}'::int[]",
                 "'{receivable,compensation}'::text[]", "'{2024-01-01,2024-01-01}'::date[]",
                 "'{-5,5}'::bigint[]", run=False), "an account not of a payment journal")
    refused("a posting outside its journal's service month",
            post("accrual", two[0], two[1], two[2],
                 "'{2024-01-01,2024-02-01,2024-02-01,2024-02-01}'::date[]",
                 "'{100,-100,7,-7}'::bigint[]"), "not the journal's service month")
    refused("a month that is not the first of a month",
            post("payment", "ARRAY[NULL]::date[]", "'{1,1}'::int[]", "'{receivable,bank}'::text[]",
                 "'{2024-01-02,2024-01-02}'::date[]", "'{-5,5}'::bigint[]", run=False),
            "not the first of a month")
    refused("a service month that is not the first of a month",
            post("accrual", "'{2024-01-15}'::date[]", "'{1,1}'::int[]",
                 "'{receivable,compensation}'::text[]", "'{2024-01-15,2024-01-15}'::date[]",
                 "'{5,-5}'::bigint[]"), "a service month is not the first of a month")
    refused("an accrual posting after the month of its run's through",
            post("accrual", "'{2024-03-01}'::date[]", "'{1,1}'::int[]",
                 "'{receivable,compensation}'::text[]", "'{2024-03-01,2024-03-01}'::date[]",
                 "'{5,-5}'::bigint[]"), "a month after the month of the run's through")
    refused("a journal without postings",
            post("accrual", two[0], "'{1,1,1,1}'::int[]", two[2],
                 "'{2024-01-01,2024-01-01,2024-01-01,2024-01-01}'::date[]",
                 "'{100,-100,7,-7}'::bigint[]"), "1 of 2 journals")
    refused("a posting of a journal not in the batch",
            post("accrual", two[0], "'{1,1,3,3}'::int[]", two[2], two[3],
                 "'{100,-100,7,-7}'::bigint[]"), "no such journal")
    refused("a zero amount",
            post("accrual", two[0], two[1], two[2], two[3], "'{100,-100,0,0}'::bigint[]"),
            "an amount zero or out of bounds")
    refused("an amount beyond 2·10^16 öre",
            post("payment", "ARRAY[NULL]::date[]", "'{1,1}'::int[]", "'{receivable,bank}'::text[]",
                 "'{2024-01-01,2024-01-01}'::date[]",
                 "'{-20000000000000001,20000000000000001}'::bigint[]", run=False),
            "an amount zero or out of bounds")
    refused("an accrual journal without a run",
            post("accrual", *two, "'{100,-100,7,-7}'::bigint[]", run=False),
            "an accrual journal belongs to a run")
    refused("arrays of unequal length",
            post("accrual", *two, "'{100,-100,7}'::bigint[]"), "arrays of unequal length")
    refused("an unknown kind",
            post("reversal", *two, "'{100,-100,7,-7}'::bigint[]"), "unknown kind reversal")
    refused("another municipality's scope (row-level security)",
            post("accrual", *two, "'{100,-100,7,-7}'::bigint[]").replace(f"'{MUNI}'", "'1481'"),
            "row-level security")
    return rbtest.summary()


if __name__ == "__main__":
    sys.exit(main())
