/* medcrypt: protect medical images for telemedicine (DESIGN §4). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char USAGE[] =
    "Usage:\n"
    "    medcrypt keygen  --aadhaar NUMBER --dob YYYY-MM-DD [-o KEYFILE]\n"
    "    medcrypt encrypt [-k KEYFILE] [-o OUTPUT] [--force] INPUT...\n"
    "    medcrypt decrypt [-k KEYFILE] [-o OUTPUT] [--force] CIPHER...\n"
    "    medcrypt VERB --help\n"
    "    medcrypt --version\n"
    "\n"
    "Encrypts an image (PNG, PGM/PPM) into a cipher image: a PNG of noise of the\n"
    "same size and depth that only the key turns back into the exact original.\n"
    "The key is generated for the patient from the Aadhaar number and the date\n"
    "of birth plus fresh randomness; keep it: nothing else can decrypt.\n"
    "\n"
    "The key comes from -k KEYFILE, or the MEDCRYPT_KEY environment variable, or\n"
    "a prompt on the terminal (never from a command-line argument).\n"
    "\n"
    "Example:\n"
    "    $ medcrypt keygen --aadhaar \"2345 6789 0124\" --dob 1990-05-17 -o patient.key\n"
    "    $ medcrypt encrypt -k patient.key scan.pgm        # writes scan.pgm.enc.png\n"
    "    $ medcrypt decrypt -k patient.key scan.pgm.enc.png  # writes scan.pgm\n"
    "\n"
    "Exit status: 0 on success, 1 on any failure (one line on stderr per problem).\n";

int main(int argc, char **argv)
{
    const char *verb;

    if (argc < 2) {
        fputs(USAGE, stderr);
        return 1;
    }
    verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        if (strcmp(verb, "help") == 0 && argc > 2) {
            char help[] = "--help";
            char *args[] = {argv[2], help, NULL};
            if (strcmp(argv[2], "keygen") == 0)
                return cmd_keygen(2, args);
            if (strcmp(argv[2], "encrypt") == 0)
                return cmd_encrypt(2, args);
            if (strcmp(argv[2], "decrypt") == 0)
                return cmd_decrypt(2, args);
        }
        fputs(USAGE, stdout);
        return 0;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "-V") == 0) {
        printf("medcrypt %s (cipher format %d)\n", MC_VERSION_STRING, MC_FORMAT_VERSION);
        return 0;
    }
    if (strcmp(verb, "keygen") == 0)
        return cmd_keygen(argc - 1, argv + 1);
    if (strcmp(verb, "encrypt") == 0)
        return cmd_encrypt(argc - 1, argv + 1);
    if (strcmp(verb, "decrypt") == 0)
        return cmd_decrypt(argc - 1, argv + 1);
    cli_error(NULL, "unknown command '%s'", verb);
    cli_hint("run 'medcrypt --help' for the list of commands");
    return 1;
}
