# rules_sql_agree: the rules SQL must keep a copy of (rb_housing, the view rate_schedule) agree
# with daemon/rules/accrual.c on every case of the rules' tests (tests/unit/housing_cases.h,
# rate_cases.h), evaluated by the fixture's PostgreSQL. Included from tests/CMakeLists.txt.
add_executable(test_rules_sql ${CMAKE_CURRENT_LIST_DIR}/test_rules_sql.c)
target_include_directories(test_rules_sql PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
target_link_libraries(test_rules_sql PRIVATE rb_rules PkgConfig::LIBPQ)
add_test(NAME rules_sql_agree COMMAND test_rules_sql)
set_tests_properties(rules_sql_agree PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 60)
