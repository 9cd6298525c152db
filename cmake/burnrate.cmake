# burnrate_library(NAME SRCS ... DEPS ... PRIVATE_DEPS ...)
# One static library per layer, aliased burnrate::NAME, with the repository root and
# include/ on its include path.
function(burnrate_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  if(NOT ARG_SRCS)
    # A layer whose sources are not written yet: headers only.
    add_library(burnrate_${name} INTERFACE)
    add_library(burnrate::${name} ALIAS burnrate_${name})
    target_include_directories(burnrate_${name} INTERFACE
      ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR})
    target_link_libraries(burnrate_${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(burnrate_${name} STATIC ${ARG_SRCS})
  add_library(burnrate::${name} ALIAS burnrate_${name})
  target_include_directories(burnrate_${name} PUBLIC
    ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR})
  target_link_libraries(burnrate_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# burnrate_test(NAME SRCS ... DEPS ...): one GoogleTest binary registered with ctest.
function(burnrate_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} burnrate::testing GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
