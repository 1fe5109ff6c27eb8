# The authorisation matrix for every route of proto/openapi.yaml against the fixture's daemon.
add_test(NAME auth_matrix
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/auth/test_auth_matrix.py
          $<TARGET_FILE:reimbursectl> ${CMAKE_SOURCE_DIR}/proto/openapi.yaml)
set_tests_properties(auth_matrix PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 120)
