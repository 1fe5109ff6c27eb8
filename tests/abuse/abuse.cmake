# Limits under abuse (slowloris, streamed 10 MB bodies, 10 000 headers, a handshake flood, peak
# RSS) against daemons the test starts itself on the fixture's database.
add_test(NAME abuse_limits
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/abuse/test_abuse.py
          $<TARGET_FILE:reimbursed>)
set_tests_properties(abuse_limits PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 120)
