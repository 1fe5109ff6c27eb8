# Issue 16, items 9 and 10: the daemon refuses a database role that bypasses row-level security,
# and /metrics is served on its own listener, never on the public HTTPS port.
add_test(NAME daemon_refuses_rls_bypass_role
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_db_role.py
          $<TARGET_FILE:reimbursed> $<TARGET_FILE:reimbursectl>)
set_tests_properties(daemon_refuses_rls_bypass_role PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 180)
