#include "core/log.h"
int main(void) { log_info("start", "x=%d", 1); return 0; }
