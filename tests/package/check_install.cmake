# cmake -DBUILD_DIR=<consumer build> -DPREFIX=<scratch prefix> -DOBJDUMP=<objdump>
#       [-DSHARED=ON] -P check_install.cmake
#
# Installs the FetchContent consumer, whose install() of its own targets must
# install relstore with them, then runs the installed program; for a shared
# build, checks librelstore's file name and SONAME, which the program loads.
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}"
    OUTPUT_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "installing the consumer failed (${rc})")
endif()

function(require_file pattern)
    file(GLOB_RECURSE found "${PREFIX}/${pattern}")
    if(NOT found)
        message(FATAL_ERROR "the consumer's install has no ${pattern}")
    endif()
    set(found "${found}" PARENT_SCOPE)
endfunction()
require_file("*/cmake/consumer/consumerTargets.cmake")
require_file("*/cmake/relstore/relstoreConfig.cmake")
require_file("include/relstore/relstore.hpp")

if(SHARED)
    # librelstore.so.MAJOR.MINOR with SONAME librelstore.so.MAJOR, and the two links to it.
    require_file("*/librelstore.so.0.1")
    execute_process(COMMAND ${OBJDUMP} -p "${found}" OUTPUT_VARIABLE headers RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0 OR NOT headers MATCHES "SONAME +librelstore\\.so\\.0\n")
        message(FATAL_ERROR "${found} does not have the SONAME librelstore.so.0:\n${headers}")
    endif()
    get_filename_component(libdir "${found}" DIRECTORY)
    foreach(link librelstore.so.0 librelstore.so)
        if(NOT IS_SYMLINK "${libdir}/${link}")
            message(FATAL_ERROR "${libdir}/${link} is missing")
        endif()
    endforeach()
    set(ENV{LD_LIBRARY_PATH} "${libdir}")  # install() drops the build tree's RPATH
endif()

execute_process(COMMAND "${PREFIX}/bin/consumer" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "consumer: ok\n")
    message(FATAL_ERROR "the installed consumer failed (${rc}):\n${out}${err}")
endif()
message(STATUS "installed consumer: ok")
