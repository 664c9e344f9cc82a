# sluice_module(NAME SOURCES ... DEPENDS ...) defines the static library sluice_<NAME>.
# Modules include each other as "module/header.h" from src/; DEPENDS lists what it may use,
# which keeps the one-way dependency order of src/README.md visible in one place per module.
function(sluice_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(sluice_${name} STATIC ${ARG_SOURCES})
  target_include_directories(sluice_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(sluice_${name} PUBLIC ${ARG_DEPENDS} PRIVATE sluice_warnings)
endfunction()

# sluice_test(NAME [SERIAL] SOURCES ... DEPENDS ...) defines a GoogleTest program registered with
# ctest.
# LABELS "unit" tests run in the sanitizer build; "e2e" tests need the embedded engine.
function(sluice_test name)
  cmake_parse_arguments(ARG "SERIAL" "" "SOURCES;DEPENDS;LABELS" ${ARGN})
  if(NOT SLUICE_BUILD_TESTS)
    return()
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if((ARG_LABELS STREQUAL "unit" AND NOT SLUICE_BUILD_UNIT_TESTS) OR
     (ARG_LABELS STREQUAL "e2e" AND NOT SLUICE_BUILD_E2E_TESTS))
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPENDS} GTest::gtest_main GTest::gmock sluice_warnings)
  # A test program is glue around the libraries and servers it drives: optimising it harder than
  # -O1 makes the release tree's tests take half again as long to compile and runs no faster.
  target_compile_options(${name} PRIVATE $<$<CONFIG:Release>:-O1>)
  # Tests find fixtures in the source tree and the sluice binary in the build tree.
  target_compile_definitions(${name} PRIVATE SLUICE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                             SLUICE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  # SERIAL tests kill sluice processes at chosen moments and wait for what follows: ctest runs
  # them alone, so that a test beside them does not move those moments.
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" RUN_SERIAL ${ARG_SERIAL}
    ENVIRONMENT "SLUICE_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()
