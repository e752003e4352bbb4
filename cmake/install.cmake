# Install rules and an exported package, so that find_package(relstore)
# gives relstore::relstore from an install prefix, and pkg-config users get
# relstore.pc.
include(CMakePackageConfigHelpers)

install(TARGETS relstore EXPORT relstoreTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/relstore DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT relstoreTargets NAMESPACE relstore:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/relstore)

# The config finds xxHash only for a static library (relstoreConfig.cmake.in).
get_target_property(relstore_library_type relstore TYPE)
configure_package_config_file(cmake/relstoreConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/relstoreConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/relstore)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/relstoreConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/relstoreConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/relstoreConfigVersion.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/relstore)

# relstore.pc. Its prefix is found from the file's own place (${pcfiledir}), so
# that `cmake --install --prefix` elsewhere, or a moved tree, still works;
# absolute install dirs are written as they are.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(relstore_pc_prefix "${CMAKE_INSTALL_PREFIX}")
    set(relstore_pc_libdir "${CMAKE_INSTALL_FULL_LIBDIR}")
    set(relstore_pc_includedir "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
    file(RELATIVE_PATH relstore_pc_up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
    string(REGEX REPLACE "/$" "" relstore_pc_up "${relstore_pc_up}")
    set(relstore_pc_prefix "\${pcfiledir}/${relstore_pc_up}")
    set(relstore_pc_libdir "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
    set(relstore_pc_includedir "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Boost is header-only here and has no .pc file; a Boost outside the compiler's
# own include path is passed on as -I.
set(relstore_pc_boost_cflags "")
foreach(dir ${Boost_INCLUDE_DIRS})
    if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
        string(APPEND relstore_pc_boost_cflags " -I${dir}")
    endif()
endforeach()
# xxHash is linked privately: a static link needs it (`pkg-config --static`),
# a shared librelstore.so carries it.
set(relstore_pc_libs_private "")
foreach(dir ${xxhash_LIBRARY_DIRS})
    if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
        list(APPEND relstore_pc_libs_private "-L${dir}")
    endif()
endforeach()
list(TRANSFORM xxhash_LIBRARIES PREPEND "-l" OUTPUT_VARIABLE relstore_pc_xxhash_libs)
list(APPEND relstore_pc_libs_private ${relstore_pc_xxhash_libs})
list(JOIN relstore_pc_libs_private " " relstore_pc_libs_private)
configure_file(cmake/relstore.pc.in ${CMAKE_CURRENT_BINARY_DIR}/relstore.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/relstore.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
