#!/usr/bin/env python3
"""One ledger writer (issue 14, item 3): only api.ledger_post inserts into journal and postings.

Checks the tree (default: the repository this file is in):
  * no C or header file under daemon/ contains `INSERT INTO` a money table (journal, postings,
    payments, payment_lines, payment_imports, rates, allocations): the programs write money only
    through SQL functions;
  * in sql/, the definition of each function that a migrate leaves in force (the last
    `CREATE [OR REPLACE] FUNCTION` of its name, in the order migrate applies the files, unless a
    later DROP removes it) inserts into a money table only if it is that table's one writer:
    journal and postings api.ledger_post, payments and payment_lines api.payment_record,
    payment_imports api.payment_import, rates api.rate_create; statements outside functions
    insert nothing there but the seed rows of rates;
  * api.ledger_post exists, api.payment_record calls it, and a C file calls it (the accrual run).

Usage: ledger_writer_check.py [ROOT]      exit 0 when the tree holds, 1 with one line per breach
       ledger_writer_check.py --selftest  breaks a copy of the tree in each way and expects 1
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

WRITERS = {
    "journal": {"api.ledger_post"},
    "postings": {"api.ledger_post"},
    "payments": {"api.payment_record"},
    "payment_lines": {"api.payment_record"},
    "payment_imports": {"api.payment_import"},
    "rates": {"api.rate_create", "(top level)"},  # the seed rows of the schema migration
    "allocations": {"api.allocation_create"},
}
INSERT = re.compile(r"\bINSERT\s+INTO\s+([A-Za-z_][\w.]*)", re.I)
CREATE_FN = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([\w.]+)\s*\(", re.I)
DROP_FN = re.compile(r"\bDROP\s+FUNCTION\s+(?:IF\s+EXISTS\s+)?([\w.]+)", re.I)
DOLLAR = re.compile(r"\$(\w*)\$")


def table_of(name):
    return name.split(".")[-1].lower()


def c_breaches(root):
    """(file, table) for every INSERT INTO a money table in daemon/'s C sources."""
    out, calls = [], False
    for base, _, files in os.walk(os.path.join(root, "daemon")):
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(base, f)
            text = open(path, encoding="utf-8", errors="replace").read()
            text = re.sub(r'"\s*"', "", text)  # adjacent string literals are one literal
            calls = calls or "api.ledger_post(" in text
            for m in INSERT.finditer(text):
                if table_of(m.group(1)) in WRITERS:
                    out.append((os.path.relpath(path, root), table_of(m.group(1))))
    return out, calls


def sql_files(root):
    """The files in the order migrate applies them: sql/ and sql/schema/ by name, then sql/api/."""
    def listing(d):
        p = os.path.join(root, d)
        return [os.path.join(p, f) for f in os.listdir(p) if f.endswith(".sql")] \
            if os.path.isdir(p) else []
    first = sorted(listing("sql") + listing("sql/schema"), key=os.path.basename)
    return first + sorted(listing("sql/api"))


def split_functions(text):
    """[(name, definition text)] and the text outside the definitions."""
    defs, rest, pos = [], [], 0
    for m in CREATE_FN.finditer(text):
        if m.start() < pos:
            continue  # inside the previous definition's body
        q = DOLLAR.search(text, m.end())
        if q is None:
            continue
        end = text.find(q.group(0), q.end())
        end = len(text) if end < 0 else end + len(q.group(0))
        rest.append(text[pos:m.start()])
        defs.append((m.group(1).lower(), text[m.start():end]))
        pos = end
    rest.append(text[pos:])
    return defs, "".join(rest)


def sql_breaches(root):
    """(file, function, table) for every insert into a money table by a function in force (or at
    the top level) that is not that table's writer; and the functions in force."""
    live, out = {}, []
    for path in sql_files(root):
        text = re.sub(r"--[^\n]*", "", open(path, encoding="utf-8").read())
        defs, rest = split_functions(text)
        for name, body in defs:
            live[name] = (os.path.relpath(path, root), body)
        for m in DROP_FN.finditer(rest):
            live.pop(m.group(1).lower(), None)
        for m in INSERT.finditer(rest):
            t = table_of(m.group(1))
            if t in WRITERS and "(top level)" not in WRITERS[t]:
                out.append((os.path.relpath(path, root), "(top level)", t))
    for name, (path, body) in sorted(live.items()):
        for m in INSERT.finditer(body):
            t = table_of(m.group(1))
            if t in WRITERS and name not in WRITERS[t]:
                out.append((path, name, t))
    return out, live


def check(root):
    problems = []
    cb, c_calls = c_breaches(root)
    for path, table in cb:
        problems.append(f"{path}: INSERT INTO {table} in C; write it through its SQL function")
    sb, live = sql_breaches(root)
    for path, fn, table in sb:
        problems.append(f"{path}: {fn} inserts into {table}; only "
                        f"{' or '.join(sorted(WRITERS[table]))} may")
    if "api.ledger_post" not in live:
        problems.append("sql/: no api.ledger_post, the ledger's one writer")
    elif "api.ledger_post(" not in live.get("api.payment_record", ("", ""))[1]:
        problems.append("sql/: api.payment_record does not post through api.ledger_post")
    if not c_calls:
        problems.append("daemon/: no C file posts through api.ledger_post (the accrual run)")
    for p in problems:
        print(p)
    return 1 if problems else 0


def selftest(root):
    """Each way of breaking the rule, on a copy of daemon/ and sql/, must fail the check."""
    # A redefinition counts when it is applied last: after sql/api/ once that folder exists.
    LAST_SQL = "sql/api/zz_break.sql" if os.path.isdir(os.path.join(root, "sql/api")) \
        else "sql/999_break.sql"
    breaks = {
        "a C file inserts postings": ("daemon/pg/zz_break.c",
                                      'const char *q = "INSERT INTO postings (journal_id) "\n'
                                      '                "VALUES (1)";\n'),
        "a C file inserts a rate": ("daemon/ctl/zz_break.c",
                                    'const char *q = "INSERT " "INTO rates VALUES (1)";\n'),
        "a second SQL writer of journal": (
            "sql/999_break.sql",
            "CREATE OR REPLACE FUNCTION api.write_off(p bigint) RETURNS void\n"
            "    LANGUAGE sql AS $$ INSERT INTO journal (kind) VALUES ('accrual') $$;\n"),
        "api.payment_record writes postings itself": (
            LAST_SQL,
            "CREATE OR REPLACE FUNCTION api.payment_record(p bigint) RETURNS void\n"
            "    LANGUAGE plpgsql AS $body$ BEGIN INSERT INTO public.postings (kind)\n"
            "    VALUES ('payment'); END $body$;\n"),
        "the writer is dropped": (LAST_SQL,
                                  "DROP FUNCTION api.ledger_post(text);\n"),
    }
    if check(root) != 0:
        print("selftest: the tree itself fails the check")
        return 1
    failed = 0
    for what, (rel, text) in breaks.items():
        with tempfile.TemporaryDirectory() as tmp:
            for d in ("daemon", "sql"):
                shutil.copytree(os.path.join(root, d), os.path.join(tmp, d))
            with open(os.path.join(tmp, rel), "a", encoding="utf-8") as f:
                f.write(text)
            r = subprocess.run([sys.executable, __file__, tmp], capture_output=True, text=True)
            ok = r.returncode == 1 and r.stdout.strip() != ""
            print(f"{'ok' if ok else 'NOT CAUGHT'}: {what}: {r.stdout.strip()}")
            failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if len(sys.argv) > 1 and sys.argv[1] == "--selftest":
        sys.exit(selftest(sys.argv[2] if len(sys.argv) > 2 else here))
    sys.exit(check(sys.argv[1] if len(sys.argv) > 1 else here))
