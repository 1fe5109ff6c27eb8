# Two daemons side by side on the fixture's database: concurrent writes to the same placements
# through both, accrual runs sent to both at once; checks in SQL that nothing is posted twice and
# every journal balances (tests/concurrency/two_daemons.py). Include from tests/CMakeLists.txt
# after Python3_EXECUTABLE and the daemon fixture are defined.
if(NOT RB_FIXTURE_DIR)
  set(RB_FIXTURE_DIR ${CMAKE_BINARY_DIR}/fixture)
endif()
add_test(NAME concurrency_two_daemons
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/two_daemons.py $<TARGET_FILE:reimbursed>)
set_tests_properties(concurrency_two_daemons PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 120)
