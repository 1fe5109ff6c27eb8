# Operations tests: the systemd units, the nightly wrapper and the .deb (test_units), and
# ops/backup + ops/restore across two throwaway clusters (test_backup). Neither needs the
# `daemon` fixture; test_backup makes its own clusters on free ports.
# include() this from a CMakeLists.txt that has the reimbursed and reimbursectl targets in scope.
add_test(NAME test_units
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/test_units.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(test_units PROPERTIES TIMEOUT 300)

add_test(NAME test_backup
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/test_backup.sh ${CMAKE_SOURCE_DIR} $<TARGET_FILE:reimbursectl>)
set_tests_properties(test_backup PROPERTIES TIMEOUT 300)
