# Consumer tests, all on the one small project in package/ (main.cpp uses every
# compiled part of relstore), since each full consumer build costs CI time:
#   package_install             installs relstore into a scratch prefix (the fixture)
#   package_find_package        builds and runs it with find_package(relstore) from that prefix
#   package_pkg_config          compiles and runs main.cpp with relstore.pc's flags (one compile)
#   package_missing_dependency  find_package(relstore QUIET) without Boost or xxHash (configures only)
#   package_fetchcontent        relstore as a FetchContent subproject (add_subdirectory underneath),
#                               built shared, installed with the consumer's own exported targets
set(pkg_prefix ${CMAKE_CURRENT_BINARY_DIR}/package-prefix)
get_target_property(relstore_type relstore TYPE)
string(COMPARE EQUAL "${relstore_type}" STATIC_LIBRARY relstore_static)
# The consumer is built with the same compiler and flags (sanitizers included).
set(consumer_flags -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER} "-DCMAKE_CXX_FLAGS=${CMAKE_CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}" -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE})

add_test(NAME package_install
    COMMAND ${CMAKE_COMMAND} --install ${PROJECT_BINARY_DIR} --prefix ${pkg_prefix})
add_test(NAME package_find_package
    COMMAND ${CMAKE_CTEST_COMMAND} --build-and-test
        ${CMAKE_CURRENT_SOURCE_DIR}/package ${CMAKE_CURRENT_BINARY_DIR}/package-find
        --build-generator ${CMAKE_GENERATOR}
        --build-options -DCMAKE_PREFIX_PATH=${pkg_prefix} ${consumer_flags}
        --test-command consumer)
add_test(NAME package_pkg_config
    COMMAND ${CMAKE_COMMAND} -DPREFIX=${pkg_prefix} -DPKG_CONFIG=${PKG_CONFIG_EXECUTABLE}
        -DCXX=${CMAKE_CXX_COMPILER} "-DCXX_FLAGS=${CMAKE_CXX_FLAGS}" "-DLINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}"
        -DSTATIC=${relstore_static} -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/package
        -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/package-pkg-config
        -P ${CMAKE_CURRENT_SOURCE_DIR}/package/pkg_config.cmake)
add_test(NAME package_missing_dependency
    COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/package
        -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/package-missing -DPREFIX=${pkg_prefix}
        "-DGENERATOR=${CMAKE_GENERATOR}" -DCXX=${CMAKE_CXX_COMPILER} -DSTATIC=${relstore_static}
        -P ${CMAKE_CURRENT_SOURCE_DIR}/package/missing_dependency.cmake)
add_test(NAME package_fetchcontent
    COMMAND ${CMAKE_CTEST_COMMAND} --build-and-test
        ${CMAKE_CURRENT_SOURCE_DIR}/package ${CMAKE_CURRENT_BINARY_DIR}/package-fetchcontent
        --build-generator ${CMAKE_GENERATOR}
        --build-options -DRELSTORE_CONSUMER_VIA=fetchcontent -DRELSTORE_SOURCE_DIR=${PROJECT_SOURCE_DIR}
            -DBUILD_SHARED_LIBS=ON ${consumer_flags}
        --test-command ${CMAKE_COMMAND} -DBUILD_DIR=${CMAKE_CURRENT_BINARY_DIR}/package-fetchcontent
            -DPREFIX=${CMAKE_CURRENT_BINARY_DIR}/package-fetchcontent-prefix -DOBJDUMP=${CMAKE_OBJDUMP} -DSHARED=ON
            -P ${CMAKE_CURRENT_SOURCE_DIR}/package/check_install.cmake)
set_tests_properties(package_install PROPERTIES FIXTURES_SETUP relstore_installed LABELS package)
set_tests_properties(package_find_package package_pkg_config package_missing_dependency
    PROPERTIES FIXTURES_REQUIRED relstore_installed LABELS package)
set_tests_properties(package_fetchcontent PROPERTIES LABELS package COST 500)
