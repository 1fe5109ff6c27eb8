# The streamed SIE writer against the whole-file one (issue 16, item 13).
add_executable(unit_ledger_sie_stream ${CMAKE_CURRENT_LIST_DIR}/test_ledger_sie_stream.c)
target_link_libraries(unit_ledger_sie_stream PRIVATE rbcore PkgConfig::CMOCKA)
add_test(NAME unit_ledger_sie_stream COMMAND unit_ledger_sie_stream)
set_tests_properties(unit_ledger_sie_stream PROPERTIES LABELS unit TIMEOUT 120)
