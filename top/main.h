/* SPDX-License-Identifier: Apache-2.0 */
/* `cgsight top`: the entry point the command line dispatches to. */
#ifndef CGS_TOP_MAIN_H
#define CGS_TOP_MAIN_H

/* argv holds the options after "top". Returns the exit status (0, 1 error, 2 usage). */
int cgs_top_main(int argc, char **argv);

#endif
