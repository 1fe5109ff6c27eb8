# Issue 16 item 13: large reads streamed without blocking the loop (item 12, the SIE chart, is a
# pytest entry: tests/pytest.cmake).
# A 20 000-line SIE export streamed with flow control while /healthz still answers (the full
# 200 000-line figures are ops/bench/run --only stream).
add_test(NAME integration_stream_large_reads
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_stream.py)
set_tests_properties(integration_stream_large_reads PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 300)
