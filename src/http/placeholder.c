/* Placeholder so that liblumen-http has a source until the server lands. */
#include "core/common.h"
int lumen__http_placeholder;
