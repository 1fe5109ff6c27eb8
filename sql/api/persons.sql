-- Persons whose municipalities' records disagree: for the national level to resolve with a
-- correction made with scope '*'. Seen through the caller's row-level security.
-- entry point: read by operators with psql (RUNBOOK), not by the daemon.
CREATE OR REPLACE VIEW person_conflicts WITH (security_invoker = true) AS
SELECT per.id AS person_id, per.dossier_number,
       json_agg(json_build_object('municipality', r.municipality, 'birth_date', r.birth_date,
                                  'former_uam', r.former_uam) ORDER BY r.municipality) AS records
  FROM persons per JOIN person_records r ON r.person_id = per.id
 GROUP BY per.id, per.dossier_number
HAVING count(DISTINCT (r.birth_date::text || '/' || r.former_uam::text)) > 1;
GRANT SELECT ON person_conflicts TO reimbursed_app;

-- The person for a dossier number (created when new), locked, and the caller's municipality's
-- record of it (created from the request when that municipality has none). Compared only with
-- that record, so the answer is the same whether or not another municipality knows the person.
CREATE OR REPLACE FUNCTION api.person_record_resolve(p_dossier text, p_muni text, p_birth date,
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

-- A correction of the birth date or the flag. The person's lock comes first, before anything
-- about the person is read, as in a create: what is read still holds when it is written, and two
-- corrections through two placements of one person queue on the person instead of deadlocking on
-- each other's placements. A municipality-scoped client changes its own record and placements;
-- scope '*' changes every municipality's, and the others' histories show the fact without the
-- client or the reason.
CREATE OR REPLACE FUNCTION api.person_correct(p_client bigint, a jsonb) RETURNS api.response
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
