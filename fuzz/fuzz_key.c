/* Key text (key.c): mc_key_parse on a NUL-terminated copy and
 * mc_key_parse_file_text on the raw bytes. A parsed key must print and
 * parse back to itself. */
#include "common.h"

static void check_key(const mc_key *key)
{
    char text[MC_KEY_TEXT_BYTES];
    mc_key again;

    mc_key_to_text(key, text);
    FUZZ_CHECK(strlen(text) == MC_KEY_TEXT_BYTES - 1);
    FUZZ_CHECK(mc_key_parse(&again, text) == MC_OK);
    FUZZ_CHECK(memcmp(again.bytes, key->bytes, MC_KEY_BYTES) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    mc_key key;

    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    if (mc_key_parse(&key, s) == MC_OK)
        check_key(&key);
    if (mc_key_parse_file_text(&key, (const char *)data, size) == MC_OK)
        check_key(&key);
    free(s);
    return 0;
}
