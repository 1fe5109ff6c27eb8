# The nightly reports (`reimbursectl report`) against the daemon fixture, with a headless
# Chromium check of summary.html (the test installs Debian's chromium when run as root and it is
# missing). include() this from tests/CMakeLists.txt, after RB_FIXTURE_DIR is set.
add_test(NAME integration_report
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/test_report.sh $<TARGET_FILE:reimbursectl>)
set_tests_properties(integration_report PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 300)
