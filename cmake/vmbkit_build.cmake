# SPDX-License-Identifier: MIT
# Build helpers shared by every directory: warnings for our own targets, sanitizers, and
# vmbkit_add_layer(), which turns one src/<layer>/ folder into an object library plus its
# unit-test executable. Source lists are globbed per folder so a new file needs no CMake edit.

set(VMBKIT_WARNINGS -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion
    -Wformat=2 -Wimplicit-fallthrough)
set(VMBKIT_C_WARNINGS -Wall -Wextra -Wpedantic -Wconversion -Wshadow)

if(VMBKIT_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(VMBKIT_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT VMBKIT_SANITIZE STREQUAL "")
  message(FATAL_ERROR "VMBKIT_SANITIZE must be '', address or thread")
endif()
if(VMBKIT_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Applies vmbkit's warning set (errors with VMBKIT_WERROR) to one of our own targets.
function(vmbkit_warnings target)
  target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:${VMBKIT_WARNINGS}>
      $<$<COMPILE_LANGUAGE:C>:${VMBKIT_C_WARNINGS}>
      $<$<BOOL:${VMBKIT_WERROR}>:-Werror>)
endfunction()

# vmbkit_add_layer(NAME DEPS <lower layers...>)
# Builds src/NAME/*.cc (minus *_test.cc) as the object library vmbkit_NAME (alias vmbkit::NAME)
# and, with tests on, src/NAME/*_test.cc as the GoogleTest executable vmbkit_NAME_test.
function(vmbkit_add_layer name)
  cmake_parse_arguments(LAYER "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  set(tests ${sources})
  list(FILTER sources EXCLUDE REGEX "_test\\.cc$")
  list(FILTER tests INCLUDE REGEX "_test\\.cc$")
  set(target vmbkit_${name})
  if(NOT sources)
    # A layer that is (so far) headers only.
    add_library(${target} INTERFACE)
    add_library(vmbkit::${name} ALIAS ${target})
    target_include_directories(${target} INTERFACE
        $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
        $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>)
    target_link_libraries(${target} INTERFACE Threads::Threads ${LAYER_DEPS})
  else()
    add_library(${target} OBJECT ${sources})
    add_library(vmbkit::${name} ALIAS ${target})
    target_include_directories(${target} PUBLIC
        $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
        $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>)
    target_link_libraries(${target} PUBLIC Threads::Threads ${LAYER_DEPS})
    vmbkit_warnings(${target})
    set_property(GLOBAL APPEND PROPERTY VMBKIT_LAYERS ${target})
  endif()
  if(VMBKIT_BUILD_TESTS AND tests)
    vmbkit_add_test_executable(vmbkit_${name}_test ${tests})
  endif()
endfunction()

# A GoogleTest executable over vmbkit and the test fakes, registered with CTest per test case.
function(vmbkit_add_test_executable target)
  add_executable(${target} ${ARGN})
  target_link_libraries(${target} PRIVATE vmbkit_testing GTest::gtest GTest::gtest_main)
  target_compile_definitions(${target} PRIVATE
      VMBKIT_VECTORS_DIR="${VMBKIT_VECTORS_DIR}"
      VMBKIT_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  vmbkit_warnings(${target})
  # GCC's -Wnull-dereference cannot see that ASSERT_NE(p, nullptr) returns, so at -O2 (tsan,
  # release) it flags every `p->field` after it, and paths inside GoogleTest and libstdc++.
  # The library keeps the warning; test code does not.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wno-null-dereference>)
  endif()
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 120 PROPERTIES TIMEOUT 600)
endfunction()
