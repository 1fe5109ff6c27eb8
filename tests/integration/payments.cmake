# Payments, reconciliation, balance and SIE export integration tests (test_payments.c); include()d
# from tests/CMakeLists.txt after the `daemon` fixture and RB_FIXTURE_DIR are defined there, and
# after add_subdirectory(integration), which defines the rbtest_harness library linked here.
if(NOT DEFINED RB_FIXTURE_DIR)
  set(RB_FIXTURE_DIR ${CMAKE_BINARY_DIR}/fixture)
endif()

add_executable(test_payments ${CMAKE_CURRENT_LIST_DIR}/test_payments.c)
target_link_libraries(test_payments PRIVATE rbtest_harness)

add_test(NAME integration_payments COMMAND test_payments)
set_tests_properties(integration_payments PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 300)
