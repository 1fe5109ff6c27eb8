# Crash and restart, nothing lost (issue 7): the short form of tests/fault/crash_restart.py. It
# starts its own PostgreSQL cluster and daemon (it SIGKILLs the one and restarts the other with
# `pg_ctl stop -m immediate`), so it does not use the shared `daemon` fixture; the database lock
# keeps it from running beside the tests that load the machine. The long form, and the failover
# scenario, are in ops/fault/run. Included from tests/CMakeLists.txt, which finds Python3.
add_test(NAME fault_crash_restart
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/crash_restart.py
          $<TARGET_FILE:reimbursed> $<TARGET_FILE:reimbursectl> ${CMAKE_SOURCE_DIR}/sql
          --duration 24 --daemon-kills 2 --pg-restarts 2 --recovery-bound 5)
set_tests_properties(fault_crash_restart PROPERTIES
  RESOURCE_LOCK database
  LABELS fault
  TIMEOUT 180)

# Failover (issue 7), synchronous replication only (~30 s): a primary and a pg_basebackup -R
# standby, the daemon on `host=127.0.0.1,127.0.0.1 port=P1,P2 ... target_session_attrs=read-write`;
# the primary is stopped with -m immediate under write load and the standby promoted. The
# asynchronous comparison for the runbook is in ops/fault/run.
add_test(NAME fault_failover
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/failover.py
          $<TARGET_FILE:reimbursed> $<TARGET_FILE:reimbursectl> ${CMAKE_SOURCE_DIR}/sql
          --mode sync)
set_tests_properties(fault_failover PROPERTIES
  RESOURCE_LOCK database
  LABELS fault
  TIMEOUT 150)
