# Every idempotency behaviour the OpenAPI description documents (x-idempotency), against the
# fixture's daemon; the expiry case runs the nightly job's step (reimbursectl idempotency expire).
add_test(NAME openapi_idempotency_behaviours
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_idempotency_doc.py
          $<TARGET_FILE:reimbursectl> ${CMAKE_SOURCE_DIR}/proto/openapi.yaml
          ${CMAKE_SOURCE_DIR}/ops/nightly)
set_tests_properties(openapi_idempotency_behaviours PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 300)
