-- An accrual run's Idempotency-Key is claimed by the database session that runs it. A daemon
-- killed during the run left the claim "in progress" for ever: every retry with that key got
-- 409 run_in_progress. The claim now names its session (pid and start), and a claim whose
-- session is gone is taken over by the retry, which then runs (runs are convergent, so running
-- again is what the interrupted one would have done). A session the caller may not inspect
-- counts as alive as long as its pid exists: a reused pid only delays the take-over. Behind a
-- transaction pooler the claiming server session outlives the daemon, so no take-over happens
-- there (as before): retry with a new key, which is safe.
ALTER TABLE idempotency_keys ADD COLUMN claimer_pid int, ADD COLUMN claimer_start timestamptz;
