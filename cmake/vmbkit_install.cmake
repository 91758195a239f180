# SPDX-License-Identifier: MIT
# Installs the public headers, libvmbkit, the CMake package (find_package(vmbkit) ->
# vmbkit::vmbkit) and vmbkit.pc. Tools install themselves from tools/CMakeLists.txt.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/vmbkit
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(TARGETS vmbkit EXPORT vmbkitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT vmbkitTargets NAMESPACE vmbkit::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vmbkit)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/vmbkitConfig.cmake.in
    ${PROJECT_BINARY_DIR}/vmbkitConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vmbkit)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vmbkitConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vmbkitConfig.cmake
              ${PROJECT_BINARY_DIR}/vmbkitConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vmbkit)
configure_file(${PROJECT_SOURCE_DIR}/cmake/vmbkit.pc.in ${PROJECT_BINARY_DIR}/vmbkit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/vmbkit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
