# Helpers for mixgate's tests: cmocka unit tests and libFuzzer targets whose corpora CTest replays.

pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

# Environment every test gets: where the sources, the build and the shared vectors are.
set(MIXGATE_TEST_ENV
  "MIXGATE_VECTORS=${MIXGATE_VECTORS}"
  "MIXGATE_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "MIXGATE_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")

# While several people work in one tree, a test may be declared before its source exists.
# Outside strict mode (developers' builds) such a target is skipped with a warning; `make test`
# and CI configure with MIXGATE_STRICT=ON, where a missing source is an error as usual.
option(MIXGATE_STRICT "Missing test or fuzz sources are errors (CI)" OFF)
function(mixgate_sources_present out)
  set(ok TRUE)
  foreach(src ${ARGN})
    if(IS_ABSOLUTE ${src})
      set(p ${src})
    else()
      set(p ${CMAKE_CURRENT_SOURCE_DIR}/${src})
    endif()
    if(NOT EXISTS ${p})
      set(ok FALSE)
      if(NOT MIXGATE_STRICT)
        message(WARNING "skipping a target: ${p} does not exist yet")
      endif()
    endif()
  endforeach()
  if(MIXGATE_STRICT)
    set(ok TRUE)
  endif()
  set(${out} ${ok} PARENT_SCOPE)
endfunction()

# Apply mixgate's warning set to one of our own targets.
function(mixgate_target_warnings tgt)
  target_compile_options(${tgt} PRIVATE ${MIXGATE_WARNINGS})
endfunction()

# mixgate_add_unit_test(NAME n SOURCES s.c... [LIBS l...] [LABELS x...] [TIMEOUT sec])
# Builds test_<n> against cmocka and registers it as CTest test "unit.<n>".
function(mixgate_add_unit_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  mixgate_sources_present(present ${T_SOURCES})
  if(NOT present)
    return()
  endif()
  add_executable(test_${T_NAME} ${T_SOURCES})
  target_link_libraries(test_${T_NAME} PRIVATE PkgConfig::CMOCKA ${T_LIBS})
  mixgate_target_warnings(test_${T_NAME})
  add_test(NAME unit.${T_NAME} COMMAND test_${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(unit.${T_NAME} PROPERTIES ENVIRONMENT "${MIXGATE_TEST_ENV}"
    TIMEOUT ${T_TIMEOUT} LABELS "unit;${T_LABELS}")
endfunction()

# mixgate_add_fuzz(NAME n SOURCES s.c... [LIBS l...] CORPUS dir...)
# The target defines LLVMFuzzerTestOneInput. With MIXGATE_LIBFUZZER=ON (clang) it links libFuzzer;
# otherwise it links fuzz/replay_main.c, which runs every file of the given corpora once.
# Either way CTest test "fuzz.<n>" replays the corpora (the suite runs under ASan+UBSan).
function(mixgate_add_fuzz)
  cmake_parse_arguments(F "" "NAME" "SOURCES;LIBS;CORPUS" ${ARGN})
  mixgate_sources_present(present ${F_SOURCES})
  if(NOT present)
    return()
  endif()
  if(MIXGATE_LIBFUZZER)
    add_executable(fuzz_${F_NAME} ${F_SOURCES})
    target_compile_options(fuzz_${F_NAME} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${F_NAME} PRIVATE -fsanitize=fuzzer)
    set(replay_args -runs=0)
  else()
    add_executable(fuzz_${F_NAME} ${F_SOURCES} ${CMAKE_SOURCE_DIR}/fuzz/replay_main.c)
    set(replay_args)
  endif()
  target_link_libraries(fuzz_${F_NAME} PRIVATE ${F_LIBS})
  mixgate_target_warnings(fuzz_${F_NAME})
  add_test(NAME fuzz.${F_NAME} COMMAND fuzz_${F_NAME} ${replay_args} ${F_CORPUS})
  set_tests_properties(fuzz.${F_NAME} PROPERTIES ENVIRONMENT "${MIXGATE_TEST_ENV}"
    TIMEOUT 300 LABELS "fuzz")
endfunction()

# Adds every immediate subfolder that has a CMakeLists.txt, in name order (tests/, channels/,
# bench/ use it so each part can be added without editing a shared file).
macro(mixgate_add_all_subdirs)
  file(GLOB _mg_subdirs LIST_DIRECTORIES true CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT _mg_subdirs)
  foreach(_mg_d ${_mg_subdirs})
    if(IS_DIRECTORY ${_mg_d} AND EXISTS ${_mg_d}/CMakeLists.txt)
      add_subdirectory(${_mg_d})
    endif()
  endforeach()
endmacro()
