/* medcrypt-serve: the web application as a program of its own.
 *
 * `medcrypt serve` executes this program (cli/main.c), so that the
 * medcrypt command itself does not link libmicrohttpd: loading it pulls
 * in GnuTLS and seven more libraries, whose relocations and constructors
 * cost about 9 ms at every start — three times the whole encryption of a
 * 512x512 image (docs/PERFORMANCE.md, "Whole process"). */
#include "cli.h"

#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

int main(int argc, char **argv)
{
    if (!cli_std_fds_open())
        return 1;
    cli_no_core_dumps();
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 1 << 20); /* as in main.c */
#endif
    if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
        return cli_stdout_checked(cli_version()); /* as medcrypt --version */
    return cmd_serve(argc, argv);
}
