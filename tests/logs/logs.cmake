# No dossier number or token in any log of the whole fixture run. include()d LAST from
# tests/CMakeLists.txt: logs_pg_verbose runs first among the fixture tests (every other one depends
# on it) and makes the fixture's PostgreSQL log every statement; logs_no_secrets runs last (it
# depends on every other fixture test) and greps the daemons' logs and PostgreSQL's log.
find_program(RB_BASH bash REQUIRED)
add_test(NAME logs_pg_verbose
  COMMAND ${RB_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/logs/pg_log_everything.sh)
add_test(NAME logs_no_secrets
  COMMAND ${RB_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/logs/test_no_secrets_in_logs.sh)
set_tests_properties(logs_pg_verbose logs_no_secrets PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 120)

get_property(_rb_all_tests DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} PROPERTY TESTS)
set(_rb_fixture_tests "")
foreach(_t IN LISTS _rb_all_tests)
  if(_t STREQUAL "logs_pg_verbose" OR _t STREQUAL "logs_no_secrets")
    continue()
  endif()
  get_test_property(${_t} FIXTURES_REQUIRED _req)
  if(_req AND "daemon" IN_LIST _req)
    list(APPEND _rb_fixture_tests ${_t})
    set_property(TEST ${_t} APPEND PROPERTY DEPENDS logs_pg_verbose)
  endif()
endforeach()
set_property(TEST logs_no_secrets APPEND PROPERTY DEPENDS ${_rb_fixture_tests})
