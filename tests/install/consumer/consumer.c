/* A program built against an installed lumen. */
#include <lumen/lumen.h>
#include <stdio.h>

int main(void)
{
    printf("lumen %s %s\n", lumen_version(), lumen_strerror(LUMEN_EINVAL));
    return lumen_version_number() == LUMEN_VERSION_NUMBER ? 0 : 1;
}
