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
