# OpenAPI checks (ops/openapi-check, tools from the npm registry cached in
# ${CMAKE_BINARY_DIR}/node_tools): the description's lint, and the daemon's traffic through
# `prism proxy --errors` against proto/openapi.yaml. Include from tests/CMakeLists.txt after the
# daemon fixture and the integration tests are defined.

if(NOT RB_FIXTURE_DIR)
  set(RB_FIXTURE_DIR ${CMAKE_BINARY_DIR}/fixture)
endif()
set(RB_OPENAPI_CHECK ${CMAKE_CURRENT_LIST_DIR}/../ops/openapi-check)
set(RB_OPENAPI_PROXY_TEST ${CMAKE_CURRENT_LIST_DIR}/openapi/proxy_test.sh)

# The first run installs @redocly/cli and @stoplight/prism-cli with npm: allow for it.
add_test(NAME openapi_lint COMMAND ${RB_OPENAPI_CHECK} lint)
set_tests_properties(openapi_lint PROPERTIES
  ENVIRONMENT "BUILD_DIR=${CMAKE_BINARY_DIR}"
  TIMEOUT 600)

# Every operation once (and valid requests the daemon refuses), through the proxy.
add_test(NAME openapi_proxy COMMAND ${RB_OPENAPI_PROXY_TEST})
# The proxy check fails on a request, or an answer, that does not match the description.
add_test(NAME openapi_proxy_selftest COMMAND ${RB_OPENAPI_PROXY_TEST} selftest)
set(_rb_openapi_proxy_tests openapi_proxy openapi_proxy_selftest)

# The integration tests' traffic through the proxy, once the harness honours RB_PROXY_URL.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_LIST_DIR}/integration/harness.c)
file(READ ${CMAKE_CURRENT_LIST_DIR}/integration/harness.c _rb_harness)
string(FIND "${_rb_harness}" "RB_PROXY_URL" _rb_harness_proxy)
if(NOT _rb_harness_proxy EQUAL -1)
  foreach(_rb_t IN ITEMS api ledger payments)
    if(TARGET test_${_rb_t})
      add_test(NAME openapi_proxy_${_rb_t}
        COMMAND ${RB_OPENAPI_PROXY_TEST} harness $<TARGET_FILE:test_${_rb_t}>)
      list(APPEND _rb_openapi_proxy_tests openapi_proxy_${_rb_t})
    endif()
  endforeach()
endif()

set_tests_properties(${_rb_openapi_proxy_tests} PROPERTIES
  FIXTURES_REQUIRED daemon
  ENVIRONMENT "RB_FIXTURE=${RB_FIXTURE_DIR};BUILD_DIR=${CMAKE_BINARY_DIR}"
  RESOURCE_LOCK database
  TIMEOUT 600)
