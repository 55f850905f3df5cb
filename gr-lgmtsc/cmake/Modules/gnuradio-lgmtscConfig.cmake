find_package(PkgConfig)

PKG_CHECK_MODULES(PC_GR_LGMTSC gnuradio-lgmtsc)

FIND_PATH(
    GR_LGMTSC_INCLUDE_DIRS
    NAMES gnuradio/lgmtsc/api.h
    HINTS $ENV{LGMTSC_DIR}/include
        ${PC_LGMTSC_INCLUDEDIR}
    PATHS ${CMAKE_INSTALL_PREFIX}/include
          /usr/local/include
          /usr/include
)

FIND_LIBRARY(
    GR_LGMTSC_LIBRARIES
    NAMES gnuradio-lgmtsc
    HINTS $ENV{LGMTSC_DIR}/lib
        ${PC_LGMTSC_LIBDIR}
    PATHS ${CMAKE_INSTALL_PREFIX}/lib
          ${CMAKE_INSTALL_PREFIX}/lib64
          /usr/local/lib
          /usr/local/lib64
          /usr/lib
          /usr/lib64
          )

include("${CMAKE_CURRENT_LIST_DIR}/gnuradio-lgmtscTarget.cmake")

INCLUDE(FindPackageHandleStandardArgs)
FIND_PACKAGE_HANDLE_STANDARD_ARGS(GR_LGMTSC DEFAULT_MSG GR_LGMTSC_LIBRARIES GR_LGMTSC_INCLUDE_DIRS)
MARK_AS_ADVANCED(GR_LGMTSC_LIBRARIES GR_LGMTSC_INCLUDE_DIRS)
