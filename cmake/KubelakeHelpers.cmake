# kl_add_library(<part> SOURCES ... DEPS ...): the library of one part under src/<part>.
function(kl_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(kl_${name} STATIC ${ARG_SOURCES})
  target_include_directories(kl_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(kl_${name} PUBLIC ${ARG_DEPS})
endfunction()

# `unit_tests`: every test labelled unit (and, with KUBELAKE_FUZZ, every fuzzer) —
# what CI's sanitizer pass builds, without the programs only end-to-end tests use.
if(NOT TARGET unit_tests)
  add_custom_target(unit_tests)
endif()

# kl_add_test(<name> SOURCES ... DEPS ... [LABELS ...] [TIMEOUT s]): one GoogleTest binary, run by ctest.
# Tests live beside the code they test (foo.cc / foo_test.cc).
function(kl_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE KUBELAKE_DEFAULT_SHARED_DIR="${KUBELAKE_SHARED_DIR}"
    KUBELAKE_DEFAULT_SOURCE_DIR="${CMAKE_SOURCE_DIR}" KUBELAKE_DEFAULT_BINARY_DIR="${CMAKE_BINARY_DIR}")
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  if("unit" IN_LIST ARG_LABELS)
    add_dependencies(unit_tests ${name})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "KUBELAKE_SHARED_DIR=${KUBELAKE_SHARED_DIR};KUBELAKE_SOURCE_DIR=${CMAKE_SOURCE_DIR};KUBELAKE_BINARY_DIR=${CMAKE_BINARY_DIR}")
endfunction()

# Test data that lives next to the repository (real Paimon tables, real Kubernetes objects).
if(NOT KUBELAKE_SHARED_DIR)
  get_filename_component(KUBELAKE_SHARED_DIR ${CMAKE_SOURCE_DIR}/../shared ABSOLUTE)
endif()
