-- sql/014: no cross-municipality oracle through the shared person (issue 16, items 6 and 7).
--
-- Until now the birth date and the former-UAM flag lived on the shared `persons` row, so a
-- municipality learnt another's facts: a create without `former_uam` answered the other
-- municipality's flag, 201 against 409 `person_mismatch` told whether a guessed birth date was
-- right, 409 `person_shared` told that the person was housed elsewhere, and a correction wrote
-- its free-text reason into the other municipality's history (and changed its money).
--
-- Now `persons` is the national identity only (the dossier number: it links the placements for
-- the cross-municipality overlap rule, and its row lock orders every write about the person).
-- What a municipality knows of the person is its own `person_records` row (one per person and
-- municipality, under that municipality's row-level security): its placements show it and the
-- accrual pays from it. A create is compared only with the caller's own record; a correction by
-- a municipality-scoped client changes only its own record and its own placements; a correction
-- with scope '*' (the national level) sets every municipality's record and is shown in the other
-- municipalities' histories as "corrected by another municipality", without client or reason.
-- Every person correction is kept, with its reason, on the person (`person_corrections`).
-- Records that disagree are a conflict for the national level (the view `person_conflicts`,
-- `person_conflict` in placements read with scope '*').

CREATE TABLE person_records (
    person_id    bigint NOT NULL REFERENCES persons,
    municipality char(4) NOT NULL REFERENCES municipalities,
    birth_date   date NOT NULL,
    former_uam   boolean NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, municipality)
);
CREATE INDEX person_records_municipality ON person_records (municipality, person_id);

-- Each municipality's record starts as the person's values of today (the migration runs as the
-- owner, which row-level security binds too: it reads with the national scope).
SELECT set_config('reimbursed.scope', '*', true);
INSERT INTO person_records (person_id, municipality, birth_date, former_uam, created_at)
SELECT DISTINCT ON (p.person_id, p.municipality)
       p.person_id, p.municipality, per.birth_date, per.former_uam, per.created_at
  FROM placements p JOIN persons per ON per.id = p.person_id
 ORDER BY p.person_id, p.municipality;

-- A placement is always paid and shown from its municipality's record of the person: the
-- accrual must never skip a placement for want of one.
ALTER TABLE placements ADD CONSTRAINT placements_person_record
    FOREIGN KEY (person_id, municipality) REFERENCES person_records (person_id, municipality);

-- Every correction of a person's birth date or flag, with its client and reason, made through
-- `placement_id` (of `municipality`); `national` when made with scope '*'.
CREATE TABLE person_corrections (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id    bigint NOT NULL REFERENCES persons,
    municipality char(4) NOT NULL,
    placement_id bigint NOT NULL REFERENCES placements,
    national     boolean NOT NULL,
    field        text NOT NULL CHECK (field IN ('birth_date', 'former_uam')),
    value        text NOT NULL,
    reason       text,
    client_id    bigint REFERENCES clients,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_corrections_person ON person_corrections (person_id, id);
CREATE TRIGGER person_corrections_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON person_corrections FOR EACH STATEMENT EXECUTE FUNCTION rb_refuse_change();

ALTER TABLE person_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE person_records FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON person_records
    USING (rb_scope() = '*' OR municipality = rb_scope()::bpchar)
    WITH CHECK (rb_scope() = '*' OR municipality = rb_scope()::bpchar);
ALTER TABLE person_corrections ENABLE ROW LEVEL SECURITY;
ALTER TABLE person_corrections FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON person_corrections
    USING (rb_scope() = '*' OR municipality = rb_scope()::bpchar)
    WITH CHECK (rb_scope() = '*' OR municipality = rb_scope()::bpchar);

-- Persons whose municipalities' records disagree: for the national level to resolve with a
-- correction made with scope '*'. Seen through the caller's row-level security.
CREATE VIEW person_conflicts WITH (security_invoker = true) AS
SELECT per.id AS person_id, per.dossier_number,
       json_agg(json_build_object('municipality', r.municipality, 'birth_date', r.birth_date,
                                  'former_uam', r.former_uam) ORDER BY r.municipality) AS records
  FROM persons per JOIN person_records r ON r.person_id = per.id
 GROUP BY per.id, per.dossier_number
HAVING count(DISTINCT (r.birth_date::text || '/' || r.former_uam::text)) > 1;

-- The old person lookup compared with the shared values; it has no caller any more.
DROP FUNCTION api.person_resolve(text, date, boolean);
ALTER TABLE persons DROP COLUMN birth_date, DROP COLUMN former_uam;

GRANT SELECT, INSERT, UPDATE ON person_records TO reimbursed_app;
GRANT SELECT, INSERT ON person_corrections TO reimbursed_app;
GRANT SELECT ON person_conflicts TO reimbursed_app;

-- The person for a dossier number (created when new), locked, and the caller's municipality's
-- record of it (created from the request when that municipality has none). Compared only with
-- that record, so the answer is the same whether or not another municipality knows the person.
CREATE FUNCTION api.person_record_resolve(p_dossier text, p_muni text, p_birth date,
                                          p_uam boolean) RETURNS person_records
    LANGUAGE plpgsql AS $$
DECLARE
    saved text := api.widen_scope();
    pid bigint;
    rec person_records;
BEGIN
    SELECT id INTO pid FROM persons WHERE dossier_number = p_dossier FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO persons (dossier_number) VALUES (p_dossier)
        ON CONFLICT (dossier_number) DO NOTHING
        RETURNING id INTO pid;
        IF NOT FOUND THEN
            SELECT id INTO pid FROM persons WHERE dossier_number = p_dossier FOR UPDATE;
        END IF;
    END IF;
    PERFORM api.restore_scope(saved);
    SELECT * INTO rec FROM person_records WHERE person_id = pid AND municipality = p_muni
       FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO person_records (person_id, municipality, birth_date, former_uam)
        VALUES (pid, p_muni, p_birth, coalesce(p_uam, false))
        RETURNING * INTO rec;
    ELSIF rec.birth_date <> p_birth OR (p_uam IS NOT NULL AND rec.former_uam <> p_uam) THEN
        PERFORM api.fail(409, 'person_mismatch',
            'this municipality has recorded the person with another birth date or former_uam flag; correct the person first');
    END IF;
    RETURN rec;
END $$;

-- A placement as its municipality knows it; with scope '*' also whether the municipalities'
-- records of the person disagree (`person_conflict`).
CREATE OR REPLACE FUNCTION api.placement_json(p_id bigint) RETURNS json
    LANGUAGE sql STABLE AS $$
    WITH j AS (
        SELECT p.person_id, r.birth_date, r.former_uam, json_build_object(
            'id', p.id::text,
            'dossier_number', per.dossier_number,
            'birth_date', r.birth_date,
            'former_uam', r.former_uam,
            'municipality', p.municipality,
            'assigned_on', p.assigned_on,
            'moved_in_on', p.moved_in_on,
            'moved_out_on', p.moved_out_on,
            'move_out_reason', p.move_out_reason,
            'registered_on', p.registered_on,
            'events', coalesce((
                SELECT json_agg(json_build_object(
                           'type', e.type, 'effective', e.effective, 'field', e.field,
                           'value', e.value, 'recorded_at', api.ts(e.recorded_at),
                           'client', CASE WHEN e.show_client THEN c.name END,
                           'reason', e.reason) ORDER BY e.id)
                  FROM placement_events e LEFT JOIN clients c ON c.id = e.client_id
                 WHERE e.placement_id = p.id), '[]'::json)) AS body
          FROM placements p JOIN persons per ON per.id = p.person_id
          JOIN person_records r ON r.person_id = p.person_id AND r.municipality = p.municipality
         WHERE p.id = p_id)
    SELECT CASE WHEN rb_scope() = '*' THEN
               (left(j.body::text, -1) || ', "person_conflict" : ' || EXISTS (
                   SELECT 1 FROM person_records o
                    WHERE o.person_id = j.person_id
                      AND (o.birth_date <> j.birth_date OR o.former_uam <> j.former_uam))::text
                || '}')::json
           ELSE j.body END
      FROM j $$;

-- POST /v1/placements. Arguments were validated for shape by the daemon.
CREATE OR REPLACE FUNCTION api.placement_create(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    pl placements;
    rec person_records;
    muni text := a->>'municipality';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM municipalities WHERE code = muni) THEN
        PERFORM api.fail(422, 'unknown_municipality', 'no municipality has the code ' || muni,
                         'municipality');
    END IF;
    rec := api.person_record_resolve(a->>'dossier_number', muni, (a->>'birth_date')::date,
                                     (a->>'former_uam')::boolean);
    PERFORM api.check_overlap(rec.person_id, NULL,
        rb_housing((a->>'assigned_on')::date, (a->>'moved_in_on')::date, NULL, NULL));
    INSERT INTO placements (person_id, municipality, assigned_on, moved_in_on)
    VALUES (rec.person_id, muni, (a->>'assigned_on')::date, (a->>'moved_in_on')::date)
    RETURNING * INTO pl;
    PERFORM api.event_add(pl, 'assigned', pl.assigned_on, p_client, NULL, 'person',
        json_build_object('birth_date', rec.birth_date, 'former_uam', rec.former_uam)::text);
    IF pl.moved_in_on IS NOT NULL THEN
        PERFORM api.event_add(pl, 'moved_in', pl.moved_in_on, p_client);
    END IF;
    RETURN ROW(201, api.placement_json(pl.id)::text, '/v1/placements/' || pl.id)::api.response;
END $$;

-- A correction of the birth date or the flag. The person's lock comes first, before anything
-- about the person is read, as in a create: what is read still holds when it is written, and two
-- corrections through two placements of one person queue on the person instead of deadlocking on
-- each other's placements. A municipality-scoped client changes its own record and placements;
-- scope '*' changes every municipality's, and the others' histories show the fact without the
-- client or the reason.
CREATE FUNCTION api.person_correct(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    pid bigint := (a->>'id')::bigint;
    fld text := a->>'field';
    val text := a->>'value';
    why text := a->>'reason';
    national boolean := rb_scope() = '*';
    person bigint;
    saved text;
    pl placements;
    q placements;
    own boolean;
BEGIN
    SELECT person_id INTO person FROM placements WHERE id = pid;
    IF NOT FOUND THEN
        PERFORM api.fail(404, 'not_found', 'no such placement');
    END IF;
    saved := api.widen_scope();
    PERFORM 1 FROM persons WHERE id = person FOR UPDATE;
    PERFORM api.restore_scope(saved);
    pl := api.placement_lock(pid);
    UPDATE person_records
       SET birth_date = CASE WHEN fld = 'birth_date' THEN val::date ELSE birth_date END,
           former_uam = CASE WHEN fld = 'former_uam' THEN val::boolean ELSE former_uam END,
           updated_at = now()
     WHERE person_id = person AND (national OR municipality = pl.municipality);
    INSERT INTO person_corrections (person_id, municipality, placement_id, national, field, value,
                                    reason, client_id)
    VALUES (person, pl.municipality, pl.id, national, fld, val, why, p_client);
    FOR q IN SELECT * FROM placements
              WHERE person_id = person AND (national OR municipality = pl.municipality)
              ORDER BY id FOR UPDATE LOOP
        own := q.municipality = pl.municipality;
        UPDATE placements SET updated_at = now() WHERE id = q.id;
        INSERT INTO placement_events (placement_id, municipality, type, effective, field, value,
                                      reason, client_id, show_client)
        VALUES (q.id, q.municipality, 'correction',
                CASE WHEN fld = 'birth_date' THEN val::date END, fld, val,
                CASE WHEN own THEN why ELSE 'corrected by another municipality' END,
                CASE WHEN own THEN p_client END, own);
    END LOOP;
    RETURN ROW(200, api.placement_json(pl.id)::text, NULL)::api.response;
END $$;

-- POST /v1/placements/{id}/corrections: a new event; the projection follows; every rule is
-- checked again on the corrected facts.
CREATE OR REPLACE FUNCTION api.placement_correct(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    fld text := a->>'field';
    val text := a->>'value';
    why text := a->>'reason';
    pl placements;
    n placements;
BEGIN
    IF fld IN ('birth_date', 'former_uam') THEN
        RETURN api.person_correct(p_client, a);
    END IF;
    pl := api.placement_lock((a->>'id')::bigint);
    n := pl;
    CASE fld
        WHEN 'assigned_on' THEN n.assigned_on := val::date;
        WHEN 'moved_in_on' THEN n.moved_in_on := val::date;
        WHEN 'moved_out_on' THEN n.moved_out_on := val::date;
        WHEN 'registered_on' THEN n.registered_on := val::date;
    END CASE;
    IF n.moved_out_on IS NOT NULL AND n.moved_in_on IS NOT NULL AND n.moved_out_on < n.moved_in_on THEN
        PERFORM api.fail(422, 'move_out_before_move_in',
            'after this correction the move-out would be before the move-in', 'value');
    END IF;
    PERFORM api.check_overlap(pl.person_id, pl.id,
        rb_housing(n.assigned_on, n.moved_in_on, n.moved_out_on, n.registered_on));
    UPDATE placements
       SET assigned_on = n.assigned_on, moved_in_on = n.moved_in_on,
           moved_out_on = n.moved_out_on, registered_on = n.registered_on,
           move_out_reason = CASE WHEN n.moved_out_on IS NULL THEN NULL ELSE move_out_reason END,
           updated_at = now()
     WHERE id = pl.id;
    PERFORM api.event_add(pl, 'correction', val::date, p_client, why, fld, val);
    RETURN ROW(200, api.placement_json(pl.id)::text, NULL)::api.response;
END $$;

-- What the daemon needs to compute one placement's accruals: its facts (the person as the
-- placement's municipality records it), the schedule, what is posted, and how far the ledger has
-- been accrued.
CREATE OR REPLACE FUNCTION api.placement_accrual_input(p_scope text, p_id bigint) RETURNS json
    LANGUAGE plpgsql AS $$
DECLARE
    r json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    SELECT json_build_object(
        'assigned_on', p.assigned_on, 'moved_in_on', p.moved_in_on,
        'moved_out_on', p.moved_out_on, 'registered_on', p.registered_on,
        'birth_date', rec.birth_date, 'former_uam', rec.former_uam,
        'through', (SELECT through FROM accrual_state s WHERE s.municipality = p.municipality),
        'rates', (SELECT json_agg(json_build_object('code', code, 'valid_from', valid_from,
                                                    'valid_to', valid_to, 'amount_ore', amount_ore)
                                  ORDER BY code, valid_from) FROM rate_schedule),
        'posted', coalesce((SELECT json_agg(json_build_object('month', api.month_text(month),
                                                              'code', code, 'amount_ore', amt))
                              FROM (SELECT month, code, sum(amount_ore) AS amt FROM postings
                                     WHERE placement_id = p.id AND kind = 'accrual'
                                       AND account = 'receivable'
                                     GROUP BY month, code) x), '[]'::json))
      INTO r
      FROM placements p
      JOIN person_records rec ON rec.person_id = p.person_id AND rec.municipality = p.municipality
     WHERE p.id = p_id;
    RETURN r;
END $$;

-- GET /v1/placements/{id}?as_known_at=T: the facts as recorded up to T, replayed from events
-- (the person as the placement's municipality recorded it: its assigned event and corrections).
CREATE OR REPLACE FUNCTION api.placement_get_as_of(p_scope text, p_id bigint, p_at timestamptz)
    RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    pl placements;
    dossier text;
    e record;
    birth date;
    uam boolean;
    assigned date;
    moved_in date;
    moved_out date;
    out_reason text;
    registered date;
    events json;
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    SELECT * INTO pl FROM placements WHERE id = p_id;
    IF NOT FOUND OR pl.created_at > p_at THEN
        RETURN ROW(404, '{"error":{"code":"not_found","message":"no such placement at that time"}}', NULL)::api.response;
    END IF;
    SELECT dossier_number INTO dossier FROM persons WHERE id = pl.person_id;
    FOR e IN SELECT * FROM placement_events WHERE placement_id = p_id AND recorded_at <= p_at
              ORDER BY id LOOP
        CASE e.type
            WHEN 'assigned' THEN
                assigned := e.effective;
                birth := (e.value::json->>'birth_date')::date;
                uam := (e.value::json->>'former_uam')::boolean;
            WHEN 'moved_in' THEN moved_in := e.effective;
            WHEN 'moved_out' THEN
                moved_out := e.effective;
                out_reason := e.reason;
                IF e.reason = 'registered' THEN registered := coalesce(registered, e.effective); END IF;
            ELSE
                CASE e.field
                    WHEN 'birth_date' THEN birth := e.value::date;
                    WHEN 'former_uam' THEN uam := e.value::boolean;
                    WHEN 'assigned_on' THEN assigned := e.value::date;
                    WHEN 'moved_in_on' THEN moved_in := e.value::date;
                    WHEN 'moved_out_on' THEN
                        moved_out := e.value::date;
                        IF moved_out IS NULL THEN out_reason := NULL; END IF;
                    WHEN 'registered_on' THEN registered := e.value::date;
                END CASE;
        END CASE;
    END LOOP;
    SELECT coalesce(json_agg(json_build_object(
               'type', e2.type, 'effective', e2.effective, 'field', e2.field, 'value', e2.value,
               'recorded_at', api.ts(e2.recorded_at),
               'client', CASE WHEN e2.show_client THEN c.name END, 'reason', e2.reason)
               ORDER BY e2.id), '[]'::json) INTO events
      FROM placement_events e2 LEFT JOIN clients c ON c.id = e2.client_id
     WHERE e2.placement_id = p_id AND e2.recorded_at <= p_at;
    RETURN ROW(200, json_build_object(
        'id', pl.id::text, 'dossier_number', dossier, 'birth_date', birth,
        'former_uam', uam, 'municipality', pl.municipality, 'assigned_on', assigned,
        'moved_in_on', moved_in, 'moved_out_on', moved_out, 'move_out_reason', out_reason,
        'registered_on', registered, 'as_known_at', api.ts(p_at), 'events', events)::text,
        NULL)::api.response;
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO reimbursed_app;
