# cmake -DPREFIX=<relstore's scratch prefix> -DPKG_CONFIG=<pkg-config> -DCXX=<compiler>
#       "-DCXX_FLAGS=..." "-DLINKER_FLAGS=..." -DSTATIC=ON|OFF -DSOURCE_DIR=<this folder>
#       -DWORK_DIR=<scratch folder> -P pkg_config.cmake
#
# A consumer without CMake: compiles, links and runs main.cpp with the flags of
# `pkg-config --cflags --libs relstore` from the installed relstore.pc. A static
# librelstore.a needs `--static` for its private libraries (xxHash), as any
# static library does.
file(GLOB_RECURSE pc "${PREFIX}/*/pkgconfig/relstore.pc")
if(NOT pc)
    message(FATAL_ERROR "no relstore.pc under ${PREFIX}")
endif()
get_filename_component(pc_dir "${pc}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")

execute_process(COMMAND ${PKG_CONFIG} --modversion relstore
    OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --modversion relstore failed (${rc})")
endif()
set(args --cflags --libs)
if(STATIC)
    list(APPEND args --static)
endif()
execute_process(COMMAND ${PKG_CONFIG} ${args} relstore
    OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config ${args} relstore failed (${rc})")
endif()
list(JOIN args " " shown)
message(STATUS "pkg-config ${shown} relstore: ${flags}")

separate_arguments(flags UNIX_COMMAND "${flags}")
separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS}")
separate_arguments(linker_flags UNIX_COMMAND "${LINKER_FLAGS}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(exe "${WORK_DIR}/consumer")
execute_process(
    COMMAND ${CXX} ${cxx_flags} -std=c++20 "-DRELSTORE_CONSUMER_EXPECTED_VERSION=\"${version}\""
            "${SOURCE_DIR}/main.cpp" -o "${exe}" ${flags} ${linker_flags}
    RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "compiling and linking with pkg-config's flags failed (${rc})")
endif()
execute_process(COMMAND "${exe}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "consumer: ok\n")
    message(FATAL_ERROR "the pkg-config consumer failed (${rc}):\n${out}${err}")
endif()
message(STATUS "pkg-config consumer: ok")
