# A write whose outcome is unknown is never answered "retry" (issue 16, item 2): COMMIT delayed
# past the deadline by a deferred trigger the test installs, a backend killed and one frozen
# during COMMIT; with db_prepared on and off. Starts its own daemons against the fixture's
# database. Included from tests/CMakeLists.txt, which finds Python3.
add_test(NAME daemon_outcome_unknown
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_outcome_unknown.py
          $<TARGET_FILE:reimbursed>)
set_tests_properties(daemon_outcome_unknown PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 180)
