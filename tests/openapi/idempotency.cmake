# Every idempotency behaviour the OpenAPI description documents (x-idempotency), against the
# fixture's daemon (issue 16 item 17); the expiry case runs the nightly job's step
# (reimbursectl idempotency expire). The findings of items 2, 3 and 4 also have a test of their
# own name, running just their case.
set(_rb_idem_cmd ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_idempotency_doc.py
    $<TARGET_FILE:reimbursectl> ${CMAKE_SOURCE_DIR}/proto/openapi.yaml ${CMAKE_SOURCE_DIR}/ops/nightly)
add_test(NAME openapi_idempotency_behaviours COMMAND ${_rb_idem_cmd})
add_test(NAME idempotency_key_required_on_money_writes COMMAND ${_rb_idem_cmd} key_required)
add_test(NAME idempotency_in_flight_answers_409_at_once COMMAND ${_rb_idem_cmd} in_progress)
add_test(NAME idempotency_keys_expire_in_batches COMMAND ${_rb_idem_cmd} expired)
set_tests_properties(openapi_idempotency_behaviours idempotency_key_required_on_money_writes
  idempotency_in_flight_answers_409_at_once idempotency_keys_expire_in_batches PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 300)
