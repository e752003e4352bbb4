# Install rules and an exported package, so that find_package(relstore)
# gives relstore::relstore from an install prefix.
include(CMakePackageConfigHelpers)

install(TARGETS relstore EXPORT relstoreTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/relstore DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT relstoreTargets NAMESPACE relstore:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/relstore)

configure_package_config_file(cmake/relstoreConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/relstoreConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/relstore)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/relstoreConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/relstoreConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/relstoreConfigVersion.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/relstore)
