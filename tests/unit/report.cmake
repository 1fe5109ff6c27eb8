# Unit tests (cmocka) for report_html, the nightly report's pages; included from CMakeLists.txt
# here, which finds cmocka (PkgConfig::CMOCKA).
add_executable(unit_report_html ${CMAKE_CURRENT_LIST_DIR}/test_report_html.c)
target_link_libraries(unit_report_html PRIVATE rbcore PkgConfig::CMOCKA)
add_test(NAME unit_report_html COMMAND unit_report_html)
set_tests_properties(unit_report_html PROPERTIES LABELS unit TIMEOUT 120)
