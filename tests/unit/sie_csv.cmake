# Unit tests (cmocka) for the SIE 4 writer and the payment-list CSV parser; included from
# CMakeLists.txt here, which finds cmocka (PkgConfig::CMOCKA).
foreach(name IN ITEMS sie payments_csv)
  add_executable(unit_${name} ${CMAKE_CURRENT_LIST_DIR}/test_${name}.c)
  target_link_libraries(unit_${name} PRIVATE rbcore PkgConfig::CMOCKA)
  add_test(NAME unit_${name} COMMAND unit_${name})
  set_tests_properties(unit_${name} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
# The real SIE files from Swedish bookkeeping programs that test_sie.c reads back
# (tests/data/sie-examples/, MIT licence, see its README); the test skips itself when absent.
target_compile_definitions(unit_sie PRIVATE
  SIE_EXAMPLES_DIR="${PROJECT_SOURCE_DIR}/tests/data/sie-examples")
