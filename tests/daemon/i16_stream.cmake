# Issue 16 items 12 and 13: the SIE chart checked at start and reload (and the nightly file in the
# same chart as the API), and large reads streamed without blocking the loop.
add_test(NAME daemon_sie_chart
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/daemon/test_sie_chart.py
          $<TARGET_FILE:reimbursed> $<TARGET_FILE:reimbursectl>)
set_tests_properties(daemon_sie_chart PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 300)

# A 20 000-line SIE export streamed with flow control while /healthz still answers (the full
# 200 000-line figures are ops/bench/run --only stream).
add_test(NAME integration_stream_large_reads
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_stream.py)
set_tests_properties(integration_stream_large_reads PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 300)
