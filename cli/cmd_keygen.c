/* medcrypt keygen: a patient key from the Aadhaar number and date of birth. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

static const char HELP[] =
    "Usage: medcrypt keygen [--aadhaar NUMBER] [--dob YYYY-MM-DD] [-o KEYFILE]\n"
    "                       [--force]\n"
    "\n"
    "Generates a 256-bit key for a patient from the Aadhaar number, the date of\n"
    "birth and 32 bytes of fresh randomness from the operating system. The same\n"
    "identifiers give a different key each time: the key is what you keep.\n"
    "\n"
    "Options:\n"
    "    -a, --aadhaar NUMBER  12 digits (spaces, hyphens allowed), valid check digit\n"
    "                          (asked on the terminal if omitted; '-': the first\n"
    "                          line of standard input)\n"
    "    -d, --dob DATE        date of birth, YYYY-MM-DD, from 1900-01-01 to today\n"
    "                          (today anywhere on Earth: a birth after midnight in\n"
    "                          India counts, though it is still yesterday in UTC;\n"
    "                          asked on the terminal if omitted; '-': the next\n"
    "                          line of standard input)\n"
    "    -o, --output KEYFILE  write the key to KEYFILE (mode 0600) instead of\n"
    "                          standard output ('-' is standard output, as\n"
    "                          without -o); never overwrites without --force\n"
    "    -f, --force           replace an existing KEYFILE\n"
    "    -h, --help            this help\n"
    "\n"
    "The Aadhaar number is shown only masked (XXXX XXXX 1234) and is never stored;\n"
    "neither it nor the date of birth shows as it is typed at the terminal.\n"
    "Given with --aadhaar it is in the shell's history and, for a moment, in ps\n"
    "for every user: on a shared machine leave it out and type it when asked, or\n"
    "give '-' and send it on standard input, as a script would:\n"
    "    printf '%s\\n%s\\n' \"$AADHAAR\" \"$DOB\" | medcrypt keygen -a - -d - -o KEYFILE\n";

/* Spaces, tabs and line ends around an identifier are dropped, as the
 * web forms drop them (web/server.c req_text): a date pasted with a space
 * after it was refused here and taken there (found in review). The
 * library takes the date only exactly as YYYY-MM-DD. */
static void trim(char *buf)
{
    size_t len = strlen(buf), start = strspn(buf, " \t\r\n"), n = len - start;

    while (n > 0 && strchr(" \t\r\n", buf[start + n - 1]) != NULL)
        n--;
    memmove(buf, buf + start, n);
    sodium_memzero(buf + n, len - n); /* the moved digits' old places too */
}

/* An identifier given as an argument is copied into buf and wiped from
 * the argument; '-' reads it from a line of standard input, unbuffered
 * (stdio's buffer would keep a copy). */
static bool take_identifier(const char *option, const char **value, char *buf, size_t size)
{
    char *arg = (char *)*value;

    if (arg == NULL)
        return true;
    if (strcmp(arg, "-") == 0 && isatty(STDIN_FILENO)) {
        *value = NULL; /* a person at the terminal: the prompt (no echo) */
        return true;
    }
    if (strcmp(arg, "-") == 0) {
        int got = cli_read_line(STDIN_FILENO, buf, size);
        if (got == CLI_LINE_LONG) { /* as an argument too long is */
            cli_error(NULL, "%s -: the line on standard input is too long", option);
            return false;
        }
        if (got != CLI_LINE_OK) {
            cli_error(NULL, "%s -: expected a line on standard input", option);
            return false;
        }
    } else {
        if (strlen(arg) >= size) {
            cli_error(NULL, "%s: too long", option);
            sodium_memzero(arg, strlen(arg));
            return false;
        }
        strcpy(buf, arg);
        sodium_memzero(arg, strlen(arg));
    }
    trim(buf);
    *value = buf;
    return true;
}

static mc_err check_aadhaar(const char *aadhaar)
{
    return mc_aadhaar_check(aadhaar, NULL);
}

/* The library's message; for a stray character in an Aadhaar number,
 * where it is, and which one (a letter O typed for a zero is hard to
 * see) unless it was typed at the hidden prompt (secret), where showing
 * an O would tell the digit meant. Only ASCII digits count: a Devanagari
 * or full-width digit is said so. */
static void say_problem(const char *value, mc_err err, bool secret)
{
    size_t i = 0;
    unsigned char c;

    if (err != MC_EAADHAAR_CHAR) {
        cli_error(NULL, "%s", mc_strerror(err));
        return;
    }
    while (value[i] != '\0' && (value[i] == ' ' || value[i] == '-' ||
                                (value[i] >= '0' && value[i] <= '9')))
        i++;
    c = (unsigned char)value[i];
    if (c > ' ' && c < 0x7f && !secret)
        cli_error(NULL, "%s: '%c' (character %zu) is not one", mc_strerror(err), c, i + 1);
    else if (c >= 0x80)
        cli_error(NULL, "%s: character %zu is not one (only the digits 0-9 count)",
                  mc_strerror(err), i + 1);
    else
        cli_error(NULL, "%s: character %zu is not one", mc_strerror(err), i + 1);
}

/* Asks on the terminal until the answer passes check, three times at
 * most: a mistyped check digit is said at once, before the date of birth
 * is asked for, and can be typed again (a batch audit). */
static bool ask(const char *question, bool secret, char *buf, size_t size,
                mc_err (*check)(const char *))
{
    mc_err err;

    for (int tries = 0; tries < 3; tries++) {
        if (!cli_prompt(question, secret, buf, size))
            return false;
        trim(buf);
        if ((err = check(buf)) == MC_OK)
            return true;
        say_problem(buf, err, secret);
        sodium_memzero(buf, size);
    }
    return false;
}

/* On a refusal before the identifiers are taken (and wiped one by one):
 * every argument, since any may be one or its part ("--aadhaar 2345 6789
 * 0124" unquoted leaves "2345" as the option's value). */
static void wipe_arguments(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        sodium_memzero(argv[i], strlen(argv[i]));
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"aadhaar", required_argument, NULL, 'a'}, {"dob", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},  {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    static const char optstring[] = "+a:d:o:fh";
    char aadhaar_buf[64] = "", dob_buf[32] = "";
    const char *aadhaar = NULL, *dob = NULL, *output = NULL;
    char text[MC_KEY_TEXT_BYTES], masked[MC_AADHAAR_MASKED_BYTES], id[MC_KEY_ID_HEX_BYTES];
    char file[MC_KEY_FILE_TEXT_BYTES];
    bool force = false;
    mc_key key;
    mc_err err;
    int c, rc = 1;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        switch (c) {
        case 'a': aadhaar = optarg; break;
        case 'd': dob = optarg; break;
        case 'o': output = optarg; break;
        case 'f': force = true; break;
        case 'h': fputs(HELP, stdout); return 0;
        default:
            cli_bad_option("keygen", optstring, argc, argv);
            wipe_arguments(argc, argv);
            return 1;
        }
    }
    if (optind < argc) {
        /* Not echoed: it is most often an identifier, or its part ("-a
         * 2341 2341 2346" unquoted, "keygen 234123412346"), and wiped. */
        cli_error(NULL, "keygen: unexpected argument (not shown: it may be an identifier)");
        cli_hint("keygen takes options only; quote an Aadhaar number written with spaces");
        wipe_arguments(argc, argv);
        return 1;
    }
    /* Copied, and wiped from the arguments, which every user can read in
     * /proc/PID/cmdline while keygen runs; or read from standard input. */
    if (!take_identifier("--aadhaar", &aadhaar, aadhaar_buf, sizeof aadhaar_buf) ||
        !take_identifier("--dob", &dob, dob_buf, sizeof dob_buf))
        goto out;
    /* Before anything is typed: the key file's name may be taken. */
    if (output != NULL && cli_output_taken(output, force, true, NULL))
        goto out;
    if (aadhaar == NULL && isatty(STDIN_FILENO) &&
        ask("Aadhaar number: ", true, aadhaar_buf, sizeof aadhaar_buf, check_aadhaar))
        aadhaar = aadhaar_buf;
    if (aadhaar != NULL && dob == NULL && isatty(STDIN_FILENO) &&
        /* Hidden too: DESIGN.md §1, a date of birth is never echoed
         * (found in review: it showed as typed, for anyone near). */
        ask("Date of birth (YYYY-MM-DD): ", true, dob_buf, sizeof dob_buf, mc_dob_check))
        dob = dob_buf;
    if (aadhaar == NULL || dob == NULL) {
        if (isatty(STDIN_FILENO)) /* three wrong answers, or none */
            cli_error(NULL, "keygen: no valid %s given", aadhaar == NULL ? "Aadhaar number"
                                                                          : "date of birth");
        else if (aadhaar == NULL && dob == NULL)
            cli_error(NULL, "keygen needs --aadhaar and --dob ('-' reads one from standard "
                            "input)");
        else /* say which: the other was given (a review) */
            cli_error(NULL, "keygen needs %s too ('-' reads it from standard input)",
                      aadhaar == NULL ? "--aadhaar" : "--dob");
        goto out;
    }
    if ((err = mc_aadhaar_mask(aadhaar, masked)) != MC_OK) {
        say_problem(aadhaar, err, false);
        goto out;
    }
    if ((err = mc_dob_check(dob)) != MC_OK) {
        cli_error(NULL, "%s", mc_strerror(err));
        goto out;
    }
    if ((err = mc_key_generate(&key, aadhaar, dob)) != MC_OK) {
        cli_error(NULL, "%s", mc_strerror(err));
        goto out;
    }
    mc_key_to_text(&key, text);
    mc_key_id_hex(&key, id);
    if (output == NULL || strcmp(output, "-") == 0) {
        /* The key's only copy: a full disk or a closed pipe under
         * "keygen > patient.key" must fail here, before "key generated". */
        size_t n = strlen(text);

        /* Straight to the descriptor: stdout's stdio buffer would keep a
         * copy of the key until exit (a security audit). */
        text[n] = '\n';
        if (fflush(stdout) != 0 || !cli_write_fd(STDOUT_FILENO, (const uint8_t *)text, n + 1)) {
            cli_error(NULL, "standard output: the key could not be written: %s",
                      strerror(errno));
            goto out;
        }
    } else {
        /* the same text as the web's "Save the key as a file" */
        if (mc_key_file_text_for(&key, aadhaar, file) != MC_OK ||
            !cli_write_file(output, (const uint8_t *)file, strlen(file), force, cli_mode(true),
                            true))
            goto out;
    }
    fprintf(stderr, PROG ": key generated for Aadhaar %s (key id %s)%s%s\n", masked, id,
            output != NULL && strcmp(output, "-") != 0 ? ", written to " : "",
            output != NULL && strcmp(output, "-") != 0 ? output : "");
    fprintf(stderr, PROG ": keep this key safe: without it the images cannot be decrypted\n");
    rc = 0;
out:
    mc_key_wipe(&key);
    sodium_memzero(text, sizeof text);
    sodium_memzero(file, sizeof file);
    sodium_memzero(aadhaar_buf, sizeof aadhaar_buf);
    sodium_memzero(dob_buf, sizeof dob_buf);
    return rc;
}
