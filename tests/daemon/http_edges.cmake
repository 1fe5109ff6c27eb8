# The HTTPS layer's edges against the fixture's database:
# session-ticket keys that rotate and survive a reload (TLS 1.2 and 1.3, Python's ssl). The 413
# that every client reads is a pytest entry (tests/pytest.cmake).
add_test(NAME tls_ticket_keys_rotate
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/daemon/test_tls_tickets.py
          $<TARGET_FILE:reimbursed>)
set_tests_properties(tls_ticket_keys_rotate PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 120)
