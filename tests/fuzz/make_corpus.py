#!/usr/bin/python3
"""Writes the seed corpora (corpus/<target>/) and dictionaries (<target>.dict) of the fuzzers.

Run from anywhere: /usr/bin/python3 tests/fuzz/make_corpus.py. The seeds are small, real-looking
inputs (the DESIGN and unit-test examples); the fuzzers grow their own corpora from them on a
temporary copy (ops/fuzz/run), so these folders stay as written here."""
import hashlib
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, seeds):
    d = os.path.join(CORPUS, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for s in seeds:
        if isinstance(s, str):
            s = s.encode()
        name = hashlib.sha1(s).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(s)


def write_dict(target, words):
    with open(os.path.join(HERE, target + ".dict"), "w") as f:
        f.write("# libFuzzer dictionary for fuzz_%s (written by make_corpus.py)\n" % target)
        for w in words:
            f.write('"%s"\n' % "".join(
                c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "\\x%02X" % ord(c)
                for c in w))


# ---- civil_date: strings first (the parser reads the raw input), day numbers after
write("civil_date", ["2024-02-29", "2023-02-28", "1900-01-01", "9999-12-31", "2000-02-29",
                     "2024-04-31", "2024-13-01", "24-01-01", "2024-1-1", "\x00\x00\x4d\x2a"])
write_dict("civil_date", ["-", "-02-29", "1900", "9999", "2000", "-12-31", "-00-"])

# ---- config
conf = open(os.path.join(HERE, "../../etc/reimbursed.conf")).read()
write("config", [
    conf,
    "listen = 0.0.0.0\nport = 8443\ndb_pool_size = 8\ndb_prepared = off\n",
    "# comment\n; other comment\n\ntls_client_ca = \"/etc/reimbursed/tls/ca.pem\"\n"
    "log_level = debug\nmax_body_bytes = 1048576\n",
    "sie_chart = receivable=1510,bank=1920,DAY_ADULT=3914,other=3999\n",
    "db = \"host=/run/postgresql dbname=reimbursed\"\ndb_admin = host=/tmp user=postgres\n"
    "accrual_jobs = 4\nrequest_timeout_s=30\nidle_timeout_s=60\nmax_connections=2000\n",
    "port = 70000\n",
    "unknown_key = 1\n",
])
write_dict("config", ["listen", "port", "tls_cert", "tls_key", "tls_client_ca", "tls_ticket_rotate_s", "db",
                      "db_admin", "db_pool_size", "db_prepared", "db_queue_max", "accrual_jobs",
                      "max_body_bytes", "max_header_bytes", "max_connections",
                      "request_timeout_s", "idle_timeout_s", "log_level", "sie_chart", " = ",
                      "\"", "on", "off", "debug", "receivable=", "bank=", "reclaim=", "other=",
                      "MOVE_IN=", "DAY_CHILD=", "DAY_ADULT=", "ALLOCATION_PLACE=",
                      "DAY_FORMER_UAM=", ",", "\n"])

# ---- payments_csv
H = "municipality;dossier_number;month;code;amount_ore;paid_on;reference"
write("payments_csv", [
    H + "\n1480;MV-123-456;2024-03;DAY_ADULT;930000;2024-04-25;UTB-2024-04\n"
        "1480;;2024-01;ALLOCATION_PLACE;40000000;2024-04-25;UTB-2024-04\n",
    "\ufeff" + H + "\r\n1480;MV-1;2024-02;DAY_CHILD;-1860;2024-04-25;\"Återkrav; \"\"feb\"\"\"\r\n",
    "\n" + ' "municipality" ; dossier_number;month;code;amount_ore;paid_on;reference\n'
    "\n;;;\n1481;a-b-C;2024-12;MOVE_IN;+3200000;2025-01-31;Utbetalning 2024-12\n",
    H + "\n1480;MV-9;2024-03;DAY_FORMER_UAM;12,50;2024-13-25;\n1480;x y;24-3;DAY;;;\n",
    H.replace(";", ",") + "\n",
    "\xff\xfem\x00u\x00",
])
write_dict("payments_csv", [H, "1480;", "MV-123-456", ";2024-03;", "DAY_ADULT", "DAY_CHILD",
                            "MOVE_IN", "ALLOCATION_PLACE", "DAY_FORMER_UAM", ";2024-04-25;",
                            "\"\"", "\r\n", "\xef\xbb\xbf", "1000000000000", "-"])

# ---- sie: byte 0 mode (0 text, 1 writer, 2 ledger_sie_write), then NUL-separated strings
#      and bytes (see fuzz_sie.c)
text = "Göteborg \"Centrum\" \\ C:\\temp\\ tab\there\r\nny rad ÅÄÖ åäö é ü ½ € \x7f\x01"
write("sie", [
    b"\x00" + text.encode(),
    b"\x00" + "1820\\A012 \\\" \\".encode(),
    b"\x00\xc3\x28\xe2\x82\xc3\xa5\xed\xa0\x80\xf0\x9f\x98\x80\xc2\xa0\xc2\x85",
    b"\x01reimbursed\x000.1.0\x00G\xc3\xb6teborg kommun (1480)\x00\x01212000-1355\x00"
    b"\x00\x00\x4d\x2a\x03\x00Fordran\x00\x01Bank\x00\x02Int\xc3\xa4kt \"dygn\"\x00\x02"
    b"A\x00Schablon, tj\xc3\xa4nstem\xc3\xa5nad 2024-03\x00\x05\x02"
    b"\x00\x00\x00\x00\x00\x10\x00\x00\x18DAY_ADULT placering 12\x00\x01",
    b"\x02G\xc3\xb6teborg\x00\x06Accrual run 3\x00\x41\x00\x01\x00\x00\x00\x42\x01"
    b"Payment \"UTB-2024-04\"\x00\xc1\x02\x00\x01\x86\xa0\x06\x01",
])
write_dict("sie", ["\\", "\"", "\\\"", "\\\\", "\xc3\xa5", "\xc3\xa4", "\xc3\xb6", "\xc2\xa0",
                   "\xe2\x82\xac", "\r\n", "\t"])

# ---- json_check
write("json_check", [
    '{"a":"x","date":"2024-02-29","n":5,"b":true,"s":"hello","e":"other","municipality":"1480"}',
    '{"date":"2023-02-29","n":-1001,"b":"yes","municipality":"148"}',
    '{"date":null,"n":1000000000000,"municipality":"14800","e":"DAY_ADULT"}',
    '{"s":"a\\u0000b","municipality":"\\u0661480","unknown":1}',
    '{"ö' + "x" * 70 + '":1}',
    '{"a":1,"a":2}', '[1,2]', '{"a":', '"str"', '{"n":1.5,"b":false,"s":""}',
    # found by this fuzzer: jansson's message quoted half a character (a 500 instead of a 400)
    b'{"\\\xc3\xa6\xb6x}',
])
JSON_WORDS = ["{", "}", "[", "]", ":", ",", "null", "true", "false", "\"\"", "\\u0000", "\\ud800",
              "2024-02-29", "1480", "*"]
write_dict("json_check", JSON_WORDS + ["\"a\"", "\"date\"", "\"n\"", "\"b\"", "\"s\"", "\"e\"",
                                       "\"municipality\"", "\"other\"", "\"left_country\"",
                                       "\"DAY_ADULT\""])

# ---- api_body: byte 0 route, byte 1 flags (role bits 0-1, bit 2 all-scope, bit 3 key,
#      bit 4 bad id, bit 5 wrong content type), then the body
W, A, WA = 0x02, 0x03, 0x06  # write scoped, admin scoped, write all
bodies = [
    (0, W, '{"dossier_number":"MV-123-456","birth_date":"2008-02-29","former_uam":false,'
           '"municipality":"1480","assigned_on":"2024-03-01","moved_in_on":"2024-03-04"}'),
    (0, WA | 8, '{"dossier_number":"MV-1","birth_date":"2008-01-01","municipality":"1481",'
                '"assigned_on":"2024-01-01"}'),
    (1, 0x01, '{"dossier_number":"MV-123-456"}'),
    (2, W | 8, '{"date":"2024-03-04"}'),
    (3, W, '{"date":"2024-06-30","reason":"own_housing"}'),
    (4, W, '{"field":"moved_out_on","value":null,"reason":"registered in error"}'),
    (4, W, '{"field":"former_uam","value":true,"reason":"turned 18"}'),
    (4, W, '{"field":"birth_date","value":"2007-12-31","reason":"age assessment"}'),
    (5, A, '{"code":"DAY_ADULT","valid_from":"2025-01-01","amount_ore":35000,"note":"2025"}'),
    (5, A, '{"code":"MOVE_IN","valid_from":"2026-01-01","amount_ore":null}'),
    (6, W, '{"municipality":"1480","year":2024,"places":120,"decided_on":"2023-11-15"}'),
    (7, A | 8, '{"through":"2024-03-31"}'),
    (8, W, '{"municipality":"1480","paid_on":"2024-04-25","amount_ore":40930000,'
           '"reference":"UTB-2024-04","month":"2024-03","lines":[{"dossier_number":"MV-1",'
           '"month":"2024-03","code":"DAY_ADULT","amount_ore":930000},{"month":"2024-01",'
           '"code":"ALLOCATION_PLACE","amount_ore":40000000}]}'),
    (9, W, H + "\n1480;MV-123-456;2024-03;DAY_ADULT;930000;2024-04-25;UTB-2024-04\n"
              "1480;;2024-01;ALLOCATION_PLACE;40000000;2024-04-25;UTB-2024-04\n"),
    (9, WA, H + "\n1481;MV-9;2024-03;MOVE_IN;3200000;2024-04-25;UTB\n"),
    (0, W, '{"dossier_number":"MV 1","municipality":"1481"}'),
    (8, W, '{"municipality":"1480","paid_on":"2024-04-25","amount_ore":1,"reference":"r",'
           '"lines":[{"month":"2024-13","code":"DAY_ADULT","amount_ore":1}]}'),
]
write("api_body", [bytes([r, f]) + b.encode() for r, f, b in bodies])
write_dict("api_body", JSON_WORDS + [
    "\"dossier_number\"", "\"birth_date\"", "\"former_uam\"", "\"municipality\"",
    "\"assigned_on\"", "\"moved_in_on\"", "\"moved_out_on\"", "\"registered_on\"", "\"date\"",
    "\"reason\"", "\"field\"", "\"value\"", "\"code\"", "\"valid_from\"", "\"amount_ore\"",
    "\"note\"", "\"year\"", "\"places\"", "\"decided_on\"", "\"through\"", "\"paid_on\"",
    "\"reference\"", "\"month\"", "\"lines\"", "\"other_municipality\"", "\"left_country\"",
    "\"own_housing\"", "\"registered\"", "\"deceased\"", "\"ALLOCATION_PLACE\"", "\"MOVE_IN\"",
    "\"DAY_CHILD\"", "\"DAY_ADULT\"", "\"DAY_FORMER_UAM\"", "\"2024-03\"", "1000000000000"])

# ---- api_request: byte 0 (role bits 0-1, bit 2 all-scope, bit 3 no token, bits 4-5 method
#      GET/POST/PUT/DELETE), the target, a newline, headers, an empty line, the body
R, RA, G, P = 0x01, 0x05, 0x00, 0x10
reqs = [
    (0x00, "/healthz"), (0x00, "/readyz"), (0x00, "/metrics"), (0x00, "/v1/openapi.json"),
    (R, "/v1/placements?municipality=1480&active_on=2024-03-01&limit=50"),
    (R, "/v1/placements?cursor=eyJpZCI6MTJ9&limit=1000"),
    (R, "/v1/placements/42?as_known_at=2024-05-01T12:00:00Z"),
    (R, "/v1/placements/42?as_known_at=2024-05-01T12:00:00.123+02:00"),
    (R, "/v1/placements/42/accruals"), (R, "/v1/rates"),
    (RA, "/v1/allocations?municipality=1480&year=2024"),
    (R, "/v1/accruals/runs/7"),
    (R, "/v1/ledger/entries?municipality=1480&from=2024-01-01&to=2024-03-31&code=DAY_ADULT"
        "&limit=10"),
    (RA, "/v1/municipalities/1480/balance?as_of=2024-03-31"),
    (R, "/v1/municipalities/1480/balance?as_of=2024-03-31T23:59:59%2B01:00"),
    (R, "/v1/reports/reconciliation?municipality=1480&month=2024-03&format=csv"),
    (R, "/v1/reports/reconciliation?municipality=1480&month=2024-03"
        "&as_known_at=2024-04-01T00:00:00Z"),
    (R, "/v1/exports/sie?municipality=1480&from=2024-01-01&to=2024-12-31&include=payments"),
    (R | P, "/v1/rates\nIdempotency-Key: k1\nContent-Type: application/json\n\n{}"),
    (0x03 | 0x20, "/v1/placements"), (R, "/v1/placements?limit=0&limit=5"),
    (R, "/v1/placements?%C3%A5=1"), (R | 0x08, "/v1/ledger/entries"),
    (R, "/v1/placements/0123"), (R, "/nope"),
    # found by this fuzzer (each was a 500 instead of a 400): a raw byte in a parameter's name,
    # a cursor that is not UTF-8, timestamps PostgreSQL refuses
    (R, "/v1/placements?\xff=1"), (R, "/v1/placements?cursor=12.%FF"),
    (R, "/v1/placements/42?as_known_at=2424-05-01T12:00:00.1233+0::00"),
    (R, "/v1/placements/42?as_known_at=2024-05-01T25:61:00Z"),
]
write("api_request", [bytes([f]) + t.encode("latin-1") + (b"" if "\n" in t else b"\n\n")
                      for f, t in reqs])
write_dict("api_request", [
    "/v1/", "placements", "/search", "/move-in", "/move-out", "/corrections", "/accruals",
    "rates", "allocations", "accruals/run", "accruals/runs/", "ledger/entries",
    "municipalities/", "/balance", "payments", "/import", "reports/reconciliation",
    "exports/sie", "openapi.json", "?", "&", "=", "%", "%2B", "+", "municipality=1480",
    "active_on=", "cursor=", "limit=", "as_known_at=", "as_of=", "from=", "to=", "code=",
    "month=", "format=csv", "format=json", "include=payments", "year=2024",
    "2024-05-01T12:00:00Z", "2024-02-29", "Idempotency-Key: ", "Content-Type: text/csv"])
