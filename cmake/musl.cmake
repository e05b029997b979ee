# Toolchain for liblumen on musl with Debian's musl-tools (musl-gcc):
#   cmake -S . -B build/musl -DCMAKE_TOOLCHAIN_FILE=cmake/musl.cmake \
#         -DLUMEN_HTTP=OFF -DLUMEN_TESTS=OFF -DLUMEN_EXAMPLES=OFF
# Programs link statically (musl's dynamic loader is not installed on a
# Debian host); tests/port shows a program built against the result.
#
# Debian's musl-gcc puts only musl's headers on the include path, so
# <linux/futex.h> and every other kernel uapi header is missing. We make a
# folder of links to the host's kernel headers (linux/, asm-generic/ and the
# architecture's asm/, from linux-libc-dev) and add it with -idirafter:
# searched after musl's own headers, it supplies the kernel's headers
# without letting a glibc header shadow one of musl's. The folder is made
# in the build tree at configure time, never committed.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER musl-gcc)
# musl-tools has no C++ driver. Nothing in liblumen is C++, but project()
# enables CXX, so the host g++ answers CMake's checks; no C++ is built.
set(CMAKE_CXX_COMPILER g++)

# try_compile projects read this file again: hand them the folder chosen
# by the main project instead of making one in each scratch directory.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LUMEN_MUSL_KERNEL_HEADERS)
if(NOT LUMEN_MUSL_KERNEL_HEADERS)
  set(LUMEN_MUSL_KERNEL_HEADERS ${CMAKE_BINARY_DIR}/musl-kernel-headers)
endif()
if(NOT EXISTS ${LUMEN_MUSL_KERNEL_HEADERS}/asm/unistd.h)
  execute_process(COMMAND gcc -print-multiarch OUTPUT_VARIABLE _lumen_multiarch
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  file(MAKE_DIRECTORY ${LUMEN_MUSL_KERNEL_HEADERS})
  foreach(_lumen_dir linux asm-generic ${_lumen_multiarch}/asm)
    if(NOT EXISTS /usr/include/${_lumen_dir})
      message(FATAL_ERROR "musl.cmake: /usr/include/${_lumen_dir} is missing (Debian linux-libc-dev)")
    endif()
    get_filename_component(_lumen_name ${_lumen_dir} NAME)
    file(REMOVE ${LUMEN_MUSL_KERNEL_HEADERS}/${_lumen_name})
    file(CREATE_LINK /usr/include/${_lumen_dir} ${LUMEN_MUSL_KERNEL_HEADERS}/${_lumen_name} SYMBOLIC)
  endforeach()
endif()
set(CMAKE_C_FLAGS_INIT "-idirafter ${LUMEN_MUSL_KERNEL_HEADERS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
