# Unit test for daemon/pg/db_conninfo.c (start-up name resolution of the daemon's conninfo, multi-host
# lists for failover). Included from tests/unit/CMakeLists.txt, which finds cmocka.
add_executable(unit_db_conninfo ${CMAKE_CURRENT_LIST_DIR}/test_db_conninfo.c)
target_link_libraries(unit_db_conninfo PRIVATE rb_pg PkgConfig::CMOCKA)
add_test(NAME unit_db_conninfo COMMAND unit_db_conninfo)
set_tests_properties(unit_db_conninfo PROPERTIES LABELS unit TIMEOUT 120)
