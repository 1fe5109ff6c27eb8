# SQL layout tests (issue 14 item 5). sql_definitions: every function, view, trigger and policy
# is defined in one file of sql/, api functions and views in sql/api/, and each is used (static,
# no database); sql_definitions_selftest: the check fails on a copy with a function defined twice
# and on one with a function nothing calls; sql_upgrade: a database migrated with the old flat
# sql/ files upgrades to sql/schema + sql/api and ends with a fresh database's schema (its own
# throwaway cluster on a free port; skipped without git history).
add_test(NAME sql_definitions
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/check_sql.py ${CMAKE_SOURCE_DIR})
add_test(NAME sql_definitions_selftest
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/check_sql.py --self-test
          ${CMAKE_SOURCE_DIR})
add_test(NAME sql_upgrade
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/test_sql_upgrade.sh ${CMAKE_SOURCE_DIR}
          $<TARGET_FILE:reimbursectl>)
set_tests_properties(sql_upgrade PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
