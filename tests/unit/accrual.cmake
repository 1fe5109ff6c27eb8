# Unit tests (cmocka) for the accrual engine and rate indexing; included from CMakeLists.txt here,
# which finds cmocka (PkgConfig::CMOCKA).
foreach(name IN ITEMS accrual accrual_cases accrual_diff rate_index)
  add_executable(unit_${name} ${CMAKE_CURRENT_LIST_DIR}/test_${name}.c)
  target_link_libraries(unit_${name} PRIVATE rbcore PkgConfig::CMOCKA)
  add_test(NAME unit_${name} COMMAND unit_${name})
  set_tests_properties(unit_${name} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
