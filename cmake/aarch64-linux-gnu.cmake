# Toolchain for an aarch64 (arm64) Linux build with Debian's cross compiler
# (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross); the tests run under
# qemu-user:
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DLUMEN_HTTP=OFF
#
# Libraries for the target (cmocka for the tests) come from Debian's
# multiarch packages (dpkg --add-architecture arm64; libcmocka-dev:arm64),
# which install under /usr/lib/aarch64-linux-gnu, a directory Debian's cross
# gcc already searches. pkg-config is pointed there too, so that it never
# hands the host's x86-64 libraries to the cross linker.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
# ctest runs the test programs through qemu-user with the arm64 glibc of
# Debian's multiarch libc6:arm64 (pulled in by libcmocka0:arm64), dynamic
# loader and libraries alike: "-L /" makes qemu look for the loader at
# /lib/ld-linux-aarch64.so.1. Not "-L /usr/aarch64-linux-gnu": that takes
# the cross glibc's loader (libc6-arm64-cross), which then finds the
# multiarch libc.so.6 through the host's /etc/ld.so.cache, and a loader
# and libc of two glibc builds hang every fork()ed child.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /)
