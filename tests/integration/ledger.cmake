# Registration of the ledger's integration tests; include()d from tests/CMakeLists.txt, after the
# `daemon` fixture and RB_FIXTURE_DIR are defined there. The test_ledger program is built by
# tests/integration/CMakeLists.txt.
if(NOT DEFINED RB_FIXTURE_DIR)
  set(RB_FIXTURE_DIR ${CMAKE_BINARY_DIR}/fixture)
endif()

add_test(NAME integration_ledger COMMAND test_ledger)
set_tests_properties(integration_ledger PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 600)

find_program(RB_BASH bash REQUIRED)
add_test(NAME integration_tenancy
  COMMAND ${RB_BASH} ${CMAKE_CURRENT_LIST_DIR}/test_tenancy.sh)
set_tests_properties(integration_tenancy PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 600)
