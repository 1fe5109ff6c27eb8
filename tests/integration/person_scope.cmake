# A person known to two municipalities tells neither about the other (issue 16, items 6 and 7);
# include()d from tests/CMakeLists.txt after the `daemon` fixture and Python3 are defined.
foreach(_rb_mode IN ITEMS oracle lock)
  if(_rb_mode STREQUAL oracle)
    set(_rb_name tenancy_no_person_oracle)
  else()
    set(_rb_name tenancy_person_lock_first)
  endif()
  add_test(NAME ${_rb_name}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_person_scope.py ${_rb_mode})
  set_tests_properties(${_rb_name} PROPERTIES
    FIXTURES_REQUIRED daemon
    ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR}"
    RESOURCE_LOCK database
    TIMEOUT 300)
endforeach()
