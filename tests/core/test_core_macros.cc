// test_core_macros as a C++ program: the same code (test_core_macros.c and
// macros/*.inc), so that every public macro is also expanded by a C++
// compiler. The .inc files are therefore written in the common subset of C
// and C++ (no designated initializers or compound literals of their own).
#include "test_core_macros.c"
