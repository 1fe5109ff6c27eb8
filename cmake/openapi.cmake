# The API description, embedded: proto/openapi.yaml is converted to compact JSON at build time
# by tools/openapi_embed.py (which also refuses YAML that other readers would read differently)
# into ${CMAKE_BINARY_DIR}/openapi_json.c, built as the static library rbopenapi. It defines
# `openapi_json` and `openapi_json_len` (daemon/server/openapi.h), served at GET /v1/openapi.json.
#
# Needs a Python 3 with the yaml module (Debian: python3-yaml). RB_PYTHON_YAML names one;
# otherwise the first of ${Python3_EXECUTABLE}, /usr/bin/python3 and python3 on PATH that has
# the module is taken (a python3 earlier on PATH, such as pyenv's, may lack Debian's modules).

set(RB_OPENAPI_YAML ${CMAKE_CURRENT_LIST_DIR}/../proto/openapi.yaml)
set(RB_OPENAPI_EMBED ${CMAKE_CURRENT_LIST_DIR}/../tools/openapi_embed.py)
set(RB_OPENAPI_C ${CMAKE_BINARY_DIR}/openapi_json.c)
get_filename_component(RB_OPENAPI_YAML ${RB_OPENAPI_YAML} ABSOLUTE)
get_filename_component(RB_OPENAPI_EMBED ${RB_OPENAPI_EMBED} ABSOLUTE)

set(RB_PYTHON_YAML "" CACHE FILEPATH "Python 3 with the yaml module, for tools/openapi_embed.py")
if(NOT RB_PYTHON_YAML)
  find_program(RB_PYTHON3_ON_PATH NAMES python3)
  set(_rb_candidates)
  foreach(_rb_py IN ITEMS "${Python3_EXECUTABLE}" /usr/bin/python3 "${RB_PYTHON3_ON_PATH}")
    if(_rb_py AND EXISTS "${_rb_py}")
      list(APPEND _rb_candidates "${_rb_py}")
    endif()
  endforeach()
  set(_rb_found "")
  foreach(_rb_py IN LISTS _rb_candidates)
    execute_process(COMMAND "${_rb_py}" -c "import yaml"
      RESULT_VARIABLE _rb_rc OUTPUT_QUIET ERROR_QUIET)
    if(_rb_rc EQUAL 0)
      set(_rb_found "${_rb_py}")
      break()
    endif()
  endforeach()
  if(NOT _rb_found)
    message(FATAL_ERROR "No Python 3 with the yaml module (tried: ${_rb_candidates}). "
      "Install it (Debian: apt-get install python3-yaml) or set -DRB_PYTHON_YAML=/path/to/python3.")
  endif()
  set(_rb_python_yaml "${_rb_found}")
else()
  set(_rb_python_yaml "${RB_PYTHON_YAML}")
endif()
message(STATUS "OpenAPI embedding with ${_rb_python_yaml}")

add_custom_command(
  OUTPUT ${RB_OPENAPI_C}
  COMMAND "${_rb_python_yaml}" ${RB_OPENAPI_EMBED} ${RB_OPENAPI_YAML} ${RB_OPENAPI_C}
  DEPENDS ${RB_OPENAPI_YAML} ${RB_OPENAPI_EMBED}
  COMMENT "Embedding proto/openapi.yaml as JSON"
  VERBATIM)
add_library(rbopenapi STATIC ${RB_OPENAPI_C})
target_include_directories(rbopenapi PUBLIC ${CMAKE_CURRENT_LIST_DIR}/../daemon/server)
