# Python integration tests under pytest (tests/conftest.py, tests/pylib/rbtest.py): one ctest
# entry per test file, against the `daemon` fixture (so tests/pgbouncer/run-suite runs them too),
# labelled `pytest`. rb_pytest(NAME FILE [TIMEOUT seconds]).
function(rb_pytest name file)
  cmake_parse_arguments(PARSE_ARGV 2 RBP "" "TIMEOUT" "")
  if(NOT RBP_TIMEOUT)
    set(RBP_TIMEOUT 300)
  endif()
  add_test(NAME ${name}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/pylib/run_pytest.py
            ${CMAKE_SOURCE_DIR}/tests/${file})
  set_tests_properties(${name} PROPERTIES
    FIXTURES_REQUIRED daemon
    ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR};RB_CTEST_NAME=${name};RB_DAEMON_BIN=$<TARGET_FILE:reimbursed>;RB_CTL_BIN=$<TARGET_FILE:reimbursectl>"
    LABELS pytest
    RESOURCE_LOCK database
    TIMEOUT ${RBP_TIMEOUT})
endfunction()

rb_pytest(body_too_large_413_every_client daemon/test_body_413.py TIMEOUT 180)
rb_pytest(daemon_run_claim daemon/test_run_claim.py TIMEOUT 180)
rb_pytest(daemon_deadline daemon/test_deadline.py TIMEOUT 120)
rb_pytest(metrics_not_public daemon/test_metrics_not_public.py TIMEOUT 180)
rb_pytest(daemon_sie_chart daemon/test_sie_chart.py TIMEOUT 300)
rb_pytest(integration_limits limits/test_limits.py TIMEOUT 120)
rb_pytest(daemon_refuses_rls_bypass_role daemon/test_db_role.py TIMEOUT 180)
rb_pytest(tls_ticket_keys_rotate daemon/test_tls_tickets.py TIMEOUT 120)
