# Issue 16 items 1 and 5 (money safety): a run never touches months after its own `through`
# (test_run_through.py, with a SQL fault hook the test installs), and payment amounts are bounded
# (test_payment_bounds.c). include()d from tests/CMakeLists.txt after the `daemon` fixture,
# RB_FIXTURE_DIR and Python3_EXECUTABLE are defined there.
if(NOT DEFINED RB_FIXTURE_DIR)
  set(RB_FIXTURE_DIR ${CMAKE_BINARY_DIR}/fixture)
endif()

add_test(NAME run_through_before_failed_run
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_run_through.py)
set_tests_properties(run_through_before_failed_run PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 600)

add_executable(test_payment_bounds ${CMAKE_CURRENT_LIST_DIR}/test_payment_bounds.c)
target_link_libraries(test_payment_bounds PRIVATE rbtest_harness)
add_test(NAME integration_payment_bounds COMMAND test_payment_bounds)
set_tests_properties(integration_payment_bounds PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 300)

add_test(NAME run_alongside_later_run
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_run_through.py
          --alongside $<TARGET_FILE:reimbursectl>)
set_tests_properties(run_alongside_later_run PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 600)
