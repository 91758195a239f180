# SPDX-License-Identifier: MIT
# Installs the public headers, libvmbkit, the CMake package (find_package(vmbkit) ->
# vmbkit::vmbkit) and vmbkit.pc. Tools install themselves from tools/<name>/CMakeLists.txt.
# Both package files are relocatable, so `cmake --install build --prefix DIR` works for any
# DIR (tests/packaging checks that, both ways).
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/vmbkit
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT vmbkit_development
        FILES_MATCHING PATTERN "*.h")
install(TARGETS vmbkit EXPORT vmbkitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT vmbkit_development
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT vmbkit_runtime
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT vmbkit_runtime)
install(EXPORT vmbkitTargets NAMESPACE vmbkit::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vmbkit COMPONENT vmbkit_development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/vmbkitConfig.cmake.in
    ${PROJECT_BINARY_DIR}/vmbkitConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vmbkit)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vmbkitConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vmbkitConfig.cmake
              ${PROJECT_BINARY_DIR}/vmbkitConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vmbkit COMPONENT vmbkit_development)

# pkg-config: prefix relative to the .pc file's own directory (${pcfiledir}), so the installed
# tree can move. libvmbkit is C++ inside; when it is a static archive a C program links it
# with `pkg-config --static --libs vmbkit`, which adds the C++ runtime below.
file(RELATIVE_PATH VMBKIT_PC_RELATIVE_PREFIX
     /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" VMBKIT_PC_RELATIVE_PREFIX "${VMBKIT_PC_RELATIVE_PREFIX}")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "vmbkit.pc needs CMAKE_INSTALL_LIBDIR and _INCLUDEDIR relative to the prefix")
endif()
get_target_property(vmbkit_type vmbkit TYPE)
if(vmbkit_type STREQUAL "STATIC_LIBRARY")
  set(VMBKIT_PC_LIBS_PRIVATE "-lstdc++ -lm -pthread")
else()
  set(VMBKIT_PC_LIBS_PRIVATE "-pthread")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/vmbkit.pc.in ${PROJECT_BINARY_DIR}/vmbkit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/vmbkit.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT vmbkit_development)
