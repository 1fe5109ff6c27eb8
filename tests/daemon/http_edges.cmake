# The HTTPS layer's edges against the fixture's database:
# session-ticket keys that rotate and survive a reload (TLS 1.2 and 1.3, Python's ssl); a 413
# that every client reads.
add_test(NAME tls_ticket_keys_rotate
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/daemon/test_tls_tickets.py
          $<TARGET_FILE:reimbursed>)
set_tests_properties(tls_ticket_keys_rotate PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 120)

# A body over max_body_bytes gets its 413 (JSON) even by a client that sends it all before reading.
add_test(NAME body_too_large_413_every_client
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/daemon/test_body_413.py)
set_tests_properties(body_too_large_413_every_client PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 180)
