# Consumer tests: install relstore into a scratch prefix, then build and run a
# tiny project against it with find_package(relstore), and another one that
# uses add_subdirectory() on the source tree.
set(pkg_prefix ${CMAKE_CURRENT_BINARY_DIR}/package-prefix)
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
add_test(NAME package_add_subdirectory
    COMMAND ${CMAKE_CTEST_COMMAND} --build-and-test
        ${CMAKE_CURRENT_SOURCE_DIR}/package ${CMAKE_CURRENT_BINARY_DIR}/package-subdir
        --build-generator ${CMAKE_GENERATOR}
        --build-options -DRELSTORE_SOURCE_DIR=${PROJECT_SOURCE_DIR} ${consumer_flags}
        --test-command consumer)
set_tests_properties(package_install PROPERTIES FIXTURES_SETUP relstore_installed LABELS package)
set_tests_properties(package_find_package PROPERTIES FIXTURES_REQUIRED relstore_installed LABELS package)
set_tests_properties(package_add_subdirectory PROPERTIES LABELS package)
