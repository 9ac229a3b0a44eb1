# Install rules and the CMake package of tcpmig (included by the top-level
# CMakeLists.txt after every target exists).
#
# `cmake --install <build> [--prefix P]` puts in place:
#   bin/                       the command-line programs (tcpmig-sim; tcpmig-gateway when it is built)
#   include/tcpmig/wire, core  the headers a user of the migration core needs
#   lib/libtcpmig_core.a       the migration core
#   lib/cmake/tcpmig/          tcpmigConfig.cmake, its version file and the exported targets
# so that another project can write
#   find_package(tcpmig REQUIRED)
#   target_link_libraries(x PRIVATE tcpmig::core)
# Exported targets: tcpmig::core (static library), tcpmig::wire (header-only)
# and tcpmig::warnings, an interface library of compile options that
# tcpmig::core links privately: the export names it only as $<LINK_ONLY:...>,
# so consumers never receive its compile options.
include(CMakePackageConfigHelpers)

set(TCPMIG_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/tcpmig CACHE STRING
    "Where tcpmigConfig.cmake is installed, relative to the prefix")

# --- programs (each only if its target is part of this build)
foreach(program tcpmig-sim tcpmig-gateway)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

# --- headers: the wire layer and the core only (the core includes nothing else)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/tcpmig/wire ${PROJECT_SOURCE_DIR}/include/tcpmig/core
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tcpmig
        FILES_MATCHING PATTERN "*.hpp")

# --- libraries and their export set
set_target_properties(tcpmig_core PROPERTIES EXPORT_NAME core)
set_target_properties(tcpmig_wire PROPERTIES EXPORT_NAME wire)
set_target_properties(tcpmig_warnings PROPERTIES EXPORT_NAME warnings)
install(TARGETS tcpmig_core tcpmig_wire tcpmig_warnings
        EXPORT tcpmigTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT tcpmigTargets
        NAMESPACE tcpmig::
        FILE tcpmigTargets.cmake
        DESTINATION ${TCPMIG_INSTALL_CMAKEDIR})

# --- package configuration and version (0.y: only the same minor version is compatible)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/tcpmigConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/tcpmigConfig.cmake
                              INSTALL_DESTINATION ${TCPMIG_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tcpmigConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tcpmigConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/tcpmigConfigVersion.cmake
        DESTINATION ${TCPMIG_INSTALL_CMAKEDIR})
