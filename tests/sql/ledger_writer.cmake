# One ledger writer (issue 14, item 3): no C file inserts into a money table, and in sql/ only
# api.ledger_post inserts into journal and postings (each money table has its one SQL writer).
# The selftest breaks a copy of daemon/ and sql/ in each way and expects the check to fail.
add_test(NAME ledger_writer_check
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/ledger_writer_check.py ${CMAKE_SOURCE_DIR})
add_test(NAME ledger_writer_check_selftest
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/ledger_writer_check.py --selftest
          ${CMAKE_SOURCE_DIR})
set_tests_properties(ledger_writer_check ledger_writer_check_selftest PROPERTIES
  LABELS unit TIMEOUT 60)

# api.ledger_post's checks on the fixture's database (each case rolled back).
add_test(NAME ledger_post_checks
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_ledger_post.py)
set_tests_properties(ledger_post_checks PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 60)
