# cmake -DSOURCE_DIR=<this folder> -DWORK_DIR=<scratch folder> -DPREFIX=<relstore's prefix>
#       -DGENERATOR=<generator> -DCXX=<compiler> -DSTATIC=ON|OFF -P missing_dependency.cmake
#
# find_package(relstore QUIET) with a dependency missing must leave relstore
# not found, with a message naming the dependency, rather than stop the
# consumer's configure. Configure only: nothing is built.
function(configure_consumer name expect)
    set(dir "${WORK_DIR}/${name}")
    file(REMOVE_RECURSE "${dir}")
    execute_process(
        COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${dir}" -G "${GENERATOR}"
                -DCMAKE_CXX_COMPILER=${CXX} "-DCMAKE_PREFIX_PATH=${PREFIX}"
                -DRELSTORE_CONSUMER_VIA=find_package_quiet ${ARGN}
        OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${name}: the consumer's configure failed (${rc}):\n${out}${err}")
    endif()
    if(NOT out MATCHES "${expect}")
        message(FATAL_ERROR "${name}: expected \"${expect}\" in the configure output:\n${out}${err}")
    endif()
    message(STATUS "${name}: ok")
endfunction()

configure_consumer(without_boost "relstore not found: [^\n]*Boost" -DCMAKE_DISABLE_FIND_PACKAGE_Boost=ON)

# pkg-config finds no libxxhash.pc in an empty search path. A shared librelstore
# carries xxHash itself, so then relstore is found all the same.
file(MAKE_DIRECTORY "${WORK_DIR}/empty")
set(ENV{PKG_CONFIG_LIBDIR} "${WORK_DIR}/empty")
unset(ENV{PKG_CONFIG_PATH})
if(STATIC)
    configure_consumer(without_xxhash "relstore not found: [^\n]*libxxhash")
else()
    configure_consumer(without_xxhash "relstore found: ")
endif()
