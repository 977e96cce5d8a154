/* A program of a library user: only <medcrypt.h>, linked against the
 * shared library by its soname (tests/abi_check.sh runs it). It must
 * round-trip a file byte for byte and tell a wrong key from a tampered
 * image, through the exported functions alone. */
#include <medcrypt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, mc_err err)
{
    fprintf(stderr, "abi_consumer: %s: %s\n", what, mc_strerror(err));
    return 1;
}

int main(int argc, char **argv)
{
    static uint8_t file[1 << 20];
    mc_ctx *ctx = NULL;
    mc_key key, other;
    uint8_t *cipher = NULL, *plain = NULL;
    size_t n, cipher_len = 0, plain_len = 0; /* 0: nothing to wipe at out */
    mc_image_info info;
    mc_err err;
    int rc = 1;
    FILE *f;

    if (strcmp(mc_version(), MC_VERSION_STRING) != 0) {
        fprintf(stderr, "abi_consumer: the library says %s, the header %s\n", mc_version(),
                MC_VERSION_STRING);
        return 1;
    }
    if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: abi_consumer FILE.pgm (under 1 MiB)\n");
        return 2;
    }
    n = fread(file, 1, sizeof file, f);
    fclose(f);
    if ((err = mc_ctx_new(&ctx)) != MC_OK)
        return fail("mc_ctx_new", err);
    if ((err = mc_key_generate(&key, "234567890124", "1990-05-17")) != MC_OK ||
        (err = mc_key_generate(&other, "234567890124", "1990-05-17")) != MC_OK) {
        rc = fail("mc_key_generate", err);
        goto out;
    }
    if ((err = mc_encrypt_file(ctx, &key, file, n, "scan.pgm", &cipher, &cipher_len)) != MC_OK) {
        rc = fail("mc_encrypt_file", err);
        goto out;
    }
    if ((err = mc_decrypt_file(ctx, &other, cipher, cipher_len, &plain, &plain_len, &info)) !=
        MC_EWRONGKEY) {
        rc = fail("mc_decrypt_file under another key", err);
        goto out;
    }
    cipher[cipher_len / 2] ^= 1;
    err = mc_decrypt_file(ctx, &key, cipher, cipher_len, &plain, &plain_len, &info);
    cipher[cipher_len / 2] ^= 1;
    if (err != MC_ETAMPERED) {
        rc = fail("mc_decrypt_file of a flipped bit", err);
        goto out;
    }
    if ((err = mc_decrypt_file(ctx, &key, cipher, cipher_len, &plain, &plain_len, &info)) !=
        MC_OK) {
        rc = fail("mc_decrypt_file", err);
        goto out;
    }
    if (plain_len != n || memcmp(plain, file, n) != 0) {
        fprintf(stderr, "abi_consumer: the decrypted file differs from %s\n", argv[1]);
        goto out;
    }
    printf("%s: %zu bytes round-tripped through libmedcrypt\n", argv[1], n);
    rc = 0;
out:
    mc_free(cipher);
    mc_free_wiped(plain, plain_len); /* a decrypted file: the patient's */
    mc_release_memory();
    mc_key_wipe(&key);
    mc_key_wipe(&other);
    mc_ctx_free(ctx);
    return rc;
}
