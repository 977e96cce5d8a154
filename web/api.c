/* The REST API (docs/API.md, "REST API") and the encryption and
 * decryption shared with the pages. */
#include "http.h"
#include "internal.h" /* mc__png_cut_short */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

/* Characters a name must not hold: they do not show, or show as blank,
 * so that two names that look alike differ or a name looks empty, or
 * they change how the rest reads (U+202E turns "scan\u202Egnp.exe" into
 * "scanexe.png": Unicode TR36 §2). The C1 controls, Unicode's
 * Default_Ignorable_Code_Point and White_Space characters
 * (DerivedCoreProperties.txt, PropList.txt), private use, and the
 * noncharacters (every plane's last two code points besides). The first
 * cut missed most of them (a review: tag characters, variation
 * selectors, Hangul fillers, blank spaces). */
static const uint32_t not_shown[][2] = {
    {0x80, 0xA0},       /* C1 controls, no-break space */
    {0xAD, 0xAD},       /* soft hyphen */
    {0x34F, 0x34F},     /* combining grapheme joiner */
    {0x61C, 0x61C},     /* Arabic letter mark */
    {0x115F, 0x1160},   /* Hangul fillers */
    {0x1680, 0x1680},   /* Ogham space mark */
    {0x17B4, 0x17B5},   /* Khmer inherent vowels */
    {0x180B, 0x180F},   /* Mongolian variation selectors, vowel separator */
    {0x2000, 0x200F},   /* spaces, zero widths, direction marks */
    {0x2028, 0x202F},   /* separators, embeddings, overrides, narrow space */
    {0x205F, 0x206F},   /* space, invisible operators, isolates */
    {0x2800, 0x2800},   /* Braille blank */
    {0x3000, 0x3000},   /* ideographic space */
    {0x3164, 0x3164},   /* Hangul filler */
    {0xE000, 0xF8FF},   /* private use */
    {0xFDD0, 0xFDEF},   /* noncharacters */
    {0xFE00, 0xFE0F},   /* variation selectors */
    {0xFEFF, 0xFEFF},   /* zero width no-break space (BOM) */
    {0xFFA0, 0xFFA0},   /* halfwidth Hangul filler */
    {0xFFF0, 0xFFFB},   /* unassigned specials, interlinear annotations */
    {0x1BCA0, 0x1BCA3}, /* shorthand format controls */
    {0x1D173, 0x1D17A}, /* musical format controls */
    {0xE0000, 0xE0FFF}, /* tags, variation selectors supplement */
    {0xF0000, 0x10FFFF}, /* private use planes */
};

/* The length (2 to 4) of the UTF-8 character at p if it is well formed
 * (RFC 3629 §3: shortest form, no surrogate, at most U+10FFFF) and one a
 * file name may show (not in not_shown), else 0. */
static size_t utf8_shown(const unsigned char *p)
{
    uint32_t c;
    size_t n;

    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        n = 2;
        c = p[0] & 0x1Fu;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3;
        c = p[0] & 0x0Fu;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4;
        c = p[0] & 0x07u;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) /* the NUL too: never read past it */
            return 0;
        c = c << 6 | (p[i] & 0x3Fu);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    if ((c & 0xFFFE) == 0xFFFE) /* U+FFFE, U+FFFF, U+1FFFE...: noncharacters */
        return 0;
    for (size_t i = 0; i < sizeof not_shown / sizeof not_shown[0]; i++)
        if (c >= not_shown[i][0] && c <= not_shown[i][1])
            return 0;
    return n;
}

void web_sanitize_name(const char *in, char *out, size_t size)
{
    const char *base = in;
    size_t n = 0, len;

    for (const char *p = in; *p != '\0'; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    while (*base == '.')
        base++;
    while (*base != '\0' && n + 1 < size) {
        char c = *base;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        /* A name in Devanagari or Tamil is kept (it travels encrypted and
         * comes back): it became one '_' per byte (a review). A character
         * is kept whole or not at all. */
        if (!ok && (len = utf8_shown((const unsigned char *)base)) > 0) {
            if (n + len + 1 > size)
                break;
            memcpy(out + n, base, len);
            n += len;
            base += len;
            continue;
        }
        out[n++] = ok ? c : '_';
        base++;
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, size, "image");
}

void web_error_text(char *out, size_t size, const char *prefix, mc_err err, const char *detail)
{
    snprintf(out, size, "%s%s%s%s", prefix, mc_strerror(err), detail[0] != '\0' ? ": " : "",
             detail);
}

bool web_cipher_cut_short(const struct field *cipher, mc_err err)
{
    return mc__png_cut_short((const uint8_t *)cipher->data.p, cipher->data.len, err);
}

const char *web_cipher_detail(const struct field *cipher, mc_err err, const char *detail)
{
    /* as the command says it (cli_hint_cut_short) */
    if (detail[0] == '\0' && web_cipher_cut_short(cipher, err))
        return MC__CUT_SHORT_HINT;
    return detail;
}

int web_status_for(mc_err err)
{
    switch (err) {
    case MC_OK: return 200;
    case MC_EWRONGKEY:
    case MC_ETAMPERED: return 422;
    case MC_ETOOBIG: return 413;
    case MC_EUNSUPPORTED: return 415;
    case MC_ENOMEM:
    case MC_EBUSY: return 503;
    case MC_EIO:
    case MC_ERANDOM:
    case MC_ESTATE:
    case MC_ECRYPTO:
    case MC_EINVAL: return 500;
    default: return 400;
    }
}

bool web_key_from_field(struct req *r, mc_key *key, const char **problem)
{
    const struct field *f = req_field(r, "key");
    mc_err err;

    if (f == NULL || req_text(r, "key") == NULL) {
        *problem = "a key is required (field 'key')";
        return false;
    }
    /* A pasted key or an uploaded key file ('#' comment lines allowed). */
    err = mc_key_parse_file_text(key, f->data.p, strlen(f->data.p));
    if (err != MC_OK) {
        *problem = mc_strerror(err);
        return false;
    }
    return true;
}

int web_form_key(struct req *r, mc_key *key, const char **field, char *problem, size_t size)
{
    const struct field *keyfile = req_field(r, "keyfile");
    bool typed = req_text(r, "key") != NULL, file = keyfile != NULL && keyfile->data.len > 0;
    mc_key from_file; /* secret */
    const char *why;
    mc_err err;
    int ret = -1;

    if (typed && !web_key_from_field(r, key, &why)) {
        *field = "key";
        snprintf(problem, size, "key: %s", why);
        return -1;
    }
    if (!file)
        return typed ? 1 : 0;
    err = mc_key_parse_file_text(&from_file, keyfile->data.p, keyfile->data.len);
    if (err != MC_OK) {
        *field = "keyfile";
        snprintf(problem, size, err == MC_EKEYMANY ? "%s" : "the key file: %s",
                 mc_strerror(err));
    } else if (typed && sodium_memcmp(key->bytes, from_file.bytes, MC_KEY_BYTES) != 0) {
        /* Both given and not the same key: taking either one silently
         * could encrypt under, or fail to open with, the key the user
         * did not mean. */
        *field = "keyfile";
        snprintf(problem, size,
                 "the key file holds another key than the one typed: give one of them");
    } else {
        *key = from_file;
        ret = 1;
    }
    sodium_memzero(&from_file, sizeof from_file);
    if (ret < 0 && typed)
        sodium_memzero(key, sizeof *key);
    return ret;
}

bool web_form_has_key(struct req *r)
{
    const struct field *keyfile = req_field(r, "keyfile");

    return req_text(r, "key") != NULL || (keyfile != NULL && keyfile->data.len > 0);
}

void crypt_result_free(struct crypt_result *res)
{
    if (res->out != NULL) {
        sodium_memzero(res->out, res->out_len);
        mc_free(res->out);
    }
    if (res->preview != NULL) {
        sodium_memzero(res->preview, res->preview_len);
        mc_free(res->preview);
    }
    memset(res, 0, sizeof *res);
}

void crypt_result_message(const struct crypt_result *res, mc_err err, char *msg, size_t size)
{
    if (res->whole_detail)
        snprintf(msg, size, "%s", res->detail);
    else
        web_error_text(msg, size, "", err, res->detail);
}

mc_err web_new_ctx(struct req *r, unsigned factor, mc_ctx **ctx)
{
    mc_err err;

    /* mc_ctx_new writes *ctx only on success (medcrypt.h): the callers'
     * ctx was left unset, and freed below when it failed (out of memory:
     * free() of a stack value, the server aborted; an OOM review). */
    *ctx = NULL;
    err = mc_ctx_new(ctx);
    if (err == MC_OK && r->cfg->max_samples != 0)
        err = mc_ctx_set_max_samples(*ctx, r->cfg->max_samples);
    r->mem_factor = factor;
    if (err == MC_OK && r->cfg->max_memory != 0)
        err = mc_ctx_set_admit(*ctx, web_admit, r);
    if (err != MC_OK) {
        mc_ctx_free(*ctx);
        *ctx = NULL;
    }
    return err;
}

void web_busy_message(const struct req *r, char *msg, size_t size, int *status)
{
    double need = (double)r->cfg->max_memory / (1 << 20);

    if (r->mem_refused == MEM_NEVER) {
        *status = 413;
        snprintf(msg, size, "this image needs more memory than this server gives one request "
                            "(%.0f MiB in all, --max-memory): use the medcrypt command", need);
    } else {
        *status = 503;
        snprintf(msg, size, "the server is busy with other large images: try again in a "
                            "moment");
    }
}

/* MC_EBUSY from the memory budget, as the message and status to answer. */
static mc_err busy_result(struct req *r, struct crypt_result *res)
{
    int status;

    web_busy_message(r, res->detail, sizeof res->detail, &status);
    res->whole_detail = true;
    return status == 413 ? MC_ETOOBIG : MC_EBUSY;
}

/* The cipher image's own name, which travels in the clear: NAME.enc.png
 * after the upload's name, or what field "name" gives (".png" added if it
 * does not end so), as the command's -o: for an upload whose name says who
 * the patient is ("SHARMA_R_CT_001.dcm"), where the page and the API had
 * no way to give another (a review). The original's name travels
 * encrypted either way, and decryption gives it back. */
static void cipher_name(struct req *r, const char *upload, char *out, size_t size)
{
    const char *given = req_text(r, "name");
    char name[100];
    size_t n;

    if (given == NULL) {
        snprintf(out, size, "%s.enc.png", upload);
        return;
    }
    web_sanitize_name(given, name, sizeof name);
    n = strlen(name);
    snprintf(out, size, "%s%s", name,
             n >= 4 && strcasecmp(name + n - 4, ".png") == 0 ? "" : ".png");
}

mc_err web_encrypt(struct req *r, const mc_key *key, const struct field *image,
                   struct crypt_result *res)
{
    char name[100];
    mc_ctx *ctx;
    mc_err err;

    memset(res, 0, sizeof *res);
    /* A cipher image is not wrapped in a second layer (as the command
     * refuses it): whoever sends one meant the decrypt page. 415, with
     * the reason as the detail. */
    if (mc_is_cipher_image((const uint8_t *)image->data.p, image->data.len)) {
        snprintf(res->detail, sizeof res->detail,
                 "this is already a medcrypt cipher image (decrypt it instead)");
        res->already_cipher = true;
        return MC_EUNSUPPORTED;
    }
    web_sanitize_name(image->filename != NULL ? image->filename : "", name, sizeof name);
    if ((err = web_new_ctx(r, r->mem_factor != 0 ? r->mem_factor : MEM_API, &ctx)) != MC_OK)
        return err;
    err = mc_encrypt_file(ctx, key, (const uint8_t *)image->data.p, image->data.len, name,
                          &res->out, &res->out_len);
    if (err != MC_OK) {
        snprintf(res->detail, sizeof res->detail, "%s", mc_ctx_last_detail(ctx));
        res->cap = mc_ctx_last_cap(ctx);
    }
    mc_ctx_free(ctx);
    if (err == MC_EBUSY)
        return busy_result(r, res);
    if (err != MC_OK)
        return err;
    /* A cipher image this server would refuse to decrypt (over
     * --max-upload with the form around it) is not handed out: nobody
     * could open it here again (from an operator's audit: a 130 KB PNG
     * of 8192 x 8192 zeros makes a 134 MB cipher image). */
    if (res->out_len > r->cfg->max_upload || r->cfg->max_upload - res->out_len < FORM_ROOM) {
        char out_size[32], max_size[32];
        web_human_size(out_size, sizeof out_size, res->out_len);
        web_human_size(max_size, sizeof max_size, r->cfg->max_upload);
        sodium_memzero(res->out, res->out_len);
        mc_free(res->out);
        res->out = NULL;
        res->out_len = 0;
        snprintf(res->detail, sizeof res->detail,
                 "its cipher image would be %s, more than this server takes back to "
                 "decrypt (uploads up to %s): use the medcrypt command, or a server with "
                 "a larger --max-upload", out_size, max_size);
        res->whole_detail = true;
        return MC_ETOOBIG;
    }
    cipher_name(r, name, res->filename, sizeof res->filename);
    res->mime = "image/png";
    mc_key_id_hex(key, res->key_id);
    /* A PNG's or a JPEG's metadata the cipher image does not carry
     * (docs/FORMAT.md §3): said as the command says it, on the page and
     * in a header. */
    mc_png_dropped_chunks((const uint8_t *)image->data.p, image->data.len, res->dropped,
                          sizeof res->dropped);
    if (res->dropped[0] == '\0') {
        res->orientation = mc_jpeg_dropped_markers((const uint8_t *)image->data.p,
                                                   image->data.len, res->dropped,
                                                   sizeof res->dropped);
        res->dropped_jpeg = res->dropped[0] != '\0';
    }
    return MC_OK;
}

static const char *mime_for(const char *ext)
{
    static const char *const types[][2] = {
        {"png", "image/png"},
        {"pgm", "image/x-portable-graymap"},
        {"ppm", "image/x-portable-pixmap"},
        {"pnm", "image/x-portable-anymap"},
        {"bmp", "image/bmp"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"dcm", "application/dicom"},
    };
    for (size_t i = 0; ext != NULL && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i][0], ext) == 0)
            return types[i][1];
    return "application/octet-stream";
}

mc_err web_decrypt(struct req *r, const mc_key *key, const struct field *cipher,
                   bool want_preview, struct crypt_result *res)
{
    char name[100];
    const char *stored;
    mc_image *img = NULL;
    mc_ctx *ctx;
    mc_err err;
    size_t n;

    memset(res, 0, sizeof *res);
    if ((err = web_new_ctx(r, r->mem_factor != 0 ? r->mem_factor : MEM_API, &ctx)) != MC_OK)
        return err;
    err = mc_decrypt_image(ctx, key, (const uint8_t *)cipher->data.p, cipher->data.len, &img);
    if (err == MC_OK)
        err = mc_image_encode(ctx, img, &res->out, &res->out_len);
    if (err == MC_OK) {
        mc_image_get_info(img, &res->info);
        /* An 8-bit PNG a browser shows well (the DICOM window, or 16-bit
         * samples stretched): mc_image_preview_png. */
        if (want_preview &&
            mc_image_preview_png(ctx, img, &res->preview, &res->preview_len) != MC_OK)
            res->preview = NULL; /* the page says so; the download still works */
    }
    if (err == MC_OK) {
        /* chunks another program added: left out, and said so */
        mc_cipher_foreign_chunks((const uint8_t *)cipher->data.p, cipher->data.len,
                                 res->dropped, sizeof res->dropped);
        stored = mc_image_name(img);
        web_sanitize_name(stored != NULL ? stored : "decrypted", name, sizeof name);
        /* The name must end in the extension of what is returned (a JPEG
         * comes back as a lossless PNG). */
        n = strlen(name);
        if (res->info.extension != NULL) {
            size_t e = strlen(res->info.extension);
            if (!(n > e + 1 && name[n - e - 1] == '.' &&
                  strcmp(name + n - e, res->info.extension) == 0))
                snprintf(res->filename, sizeof res->filename, "%s.%s", name,
                         res->info.extension);
            else
                snprintf(res->filename, sizeof res->filename, "%s", name);
        } else {
            snprintf(res->filename, sizeof res->filename, "%s", name);
        }
        res->mime = mime_for(res->info.extension);
        mc_key_id_hex(key, res->key_id);
    } else {
        crypt_result_free(res);
        /* a wrong key: the image's key id and this key's (both public) */
        snprintf(res->detail, sizeof res->detail, "%s",
                 web_cipher_detail(cipher, err, mc_ctx_last_detail(ctx)));
        res->cap = mc_ctx_last_cap(ctx);
        if (err == MC_EBUSY)
            err = busy_result(r, res);
    }
    mc_image_free(img);
    mc_ctx_free(ctx);
    return err;
}

/* ------------------------------------------------------------------ */
/* Handlers                                                            */

/* Content-Disposition for a sanitized name: filename="..." alone for an
 * ASCII one; for one with UTF-8 letters, an ASCII filename (one '_' per
 * letter) for old clients and filename*=UTF-8''... (RFC 6266 §4.3, RFC
 * 8187 §3.2: the bytes but attr-chars percent-encoded), which browsers
 * take instead (curl -J reads only the first): a header's value is
 * ASCII. */
static void set_disposition(struct req *r, const char *name)
{
    static const char attr_marks[] = "!#$&+-.^_`|~"; /* RFC 8187 attr-char */
    char *d = r->disposition;
    size_t n, size = sizeof r->disposition;
    bool ascii = true;

    for (const char *p = name; *p != '\0'; p++)
        ascii = ascii && (unsigned char)*p < 0x80;
    n = (size_t)snprintf(d, size, "attachment; filename=\"");
    for (const char *p = name; *p != '\0' && n + 2 < size; p++)
        if ((unsigned char)*p < 0x80)
            d[n++] = *p;
        else if (((unsigned char)*p & 0xC0) != 0x80) /* a letter's first byte */
            d[n++] = '_';
    d[n++] = '"';
    d[n] = '\0';
    if (ascii)
        return;
    n += (size_t)snprintf(d + n, size - n, "; filename*=UTF-8''");
    if (n >= size) /* cut (not with 128-byte names): snprintf says what it would have written */
        n = size - 1;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0' && n + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            (*p < 0x80 && strchr(attr_marks, *p) != NULL))
            d[n++] = (char)*p;
        else
            n += (size_t)snprintf(d + n, size - n, "%%%02X", *p);
    }
    d[n] = '\0';
}

static void reply_file(struct req *r, struct crypt_result *res)
{
    struct buf b = {0};

    buf_put(&b, res->out, res->out_len);
    reply_buf(r, 200, res->mime, &b);
    if (r->status == 200)
        set_disposition(r, res->filename);
}

void api_keygen(struct req *r)
{
    const char *aadhaar = req_text(r, "aadhaar"), *dob = req_text(r, "dob");
    char text[MC_KEY_TEXT_BYTES], id[MC_KEY_ID_HEX_BYTES], masked[MC_AADHAAR_MASKED_BYTES];
    char msg[160];
    struct buf b = {0};
    mc_key key;
    mc_err err;

    if (aadhaar == NULL || dob == NULL) {
        reply_json_error(r, 400, aadhaar == NULL ? "missing field 'aadhaar'"
                                                 : "missing field 'dob'");
        return;
    }
    if ((err = mc_aadhaar_check(aadhaar, NULL)) != MC_OK ||
        (err = mc_dob_check(dob)) != MC_OK) {
        snprintf(msg, sizeof msg, "%s", mc_strerror(err));
        reply_json_error(r, 400, msg);
        return;
    }
    if ((err = mc_key_generate(&key, aadhaar, dob)) != MC_OK ||
        (err = mc_aadhaar_mask(aadhaar, masked)) != MC_OK) {
        mc_key_wipe(&key);
        reply_json_error(r, web_status_for(err), mc_strerror(err));
        return;
    }
    mc_key_to_text(&key, text);
    mc_key_id_hex(&key, id);
    mc_key_wipe(&key);
    buf_puts(&b, "{\"key\":");
    buf_json(&b, text);
    buf_puts(&b, ",\"key_id\":");
    buf_json(&b, id);
    buf_puts(&b, ",\"aadhaar_masked\":");
    buf_json(&b, masked);
    buf_puts(&b, "}\n");
    sodium_memzero(text, sizeof text);
    reply_buf(r, 200, "application/json", &b);
}

/* POST /api/v1/encrypt (the file in field "image") and /api/v1/decrypt
 * ("cipher"), with the key in field "key": the result file, or a JSON
 * error. An encryption's problem is the image's, said so ("image: ..."). */
static void api_crypt(struct req *r, bool decrypt)
{
    const char *name = decrypt ? "cipher" : "image";
    const struct field *file = req_field(r, name);
    struct crypt_result res;
    const char *problem;
    char msg[400];
    size_t at;
    mc_key key;
    mc_err err;

    if (req_file_state(file) != REQ_FILE_OK) {
        if (req_file_state(file) == REQ_FILE_EMPTY)
            snprintf(msg, sizeof msg, "%s: the file is empty (0 bytes)", name);
        else
            snprintf(msg, sizeof msg, "missing file '%s'", name);
        reply_json_error(r, 400, msg);
        return;
    }
    if (!web_key_from_field(r, &key, &problem)) {
        snprintf(msg, sizeof msg, "key: %s", problem);
        reply_json_error(r, 400, msg);
        return;
    }
    r->mem_factor = MEM_API;
    err = decrypt ? web_decrypt(r, &key, file, false, &res) : web_encrypt(r, &key, file, &res);
    mc_key_wipe(&key);
    if (err != MC_OK) {
        at = decrypt ? 0 : (size_t)snprintf(msg, sizeof msg, "image: ");
        crypt_result_message(&res, err, msg + at, sizeof msg - at);
        reply_json_error(r, web_status_for(err), msg);
        return;
    }
    reply_file(r, &res);
    /* two headers: the original's metadata that will not come back, and
     * what another program added to a cipher image, which none vouches for */
    if (r->status == 200) {
        if (decrypt)
            snprintf(r->added, sizeof r->added, "%s", res.dropped);
        else
            snprintf(r->not_kept, sizeof r->not_kept, "%s", res.dropped);
    }
    crypt_result_free(&res);
}

void api_encrypt(struct req *r)
{
    api_crypt(r, false);
}

void api_decrypt(struct req *r)
{
    api_crypt(r, true);
}

void serve_healthz(struct req *r)
{
    struct buf b = {0};
    buf_puts(&b, "ok\n");
    reply_buf(r, 200, "text/plain; charset=utf-8", &b);
}

void serve_openapi(struct req *r)
{
    const struct web_asset *a = web_asset_find("openapi.json");
    if (a == NULL)
        reply_json_error(r, 404, "not found");
    else
        reply_asset(r, 200, a);
}

void serve_static(struct req *r)
{
    const struct web_asset *a = web_asset_find(r->path + 1); /* "static/...", "docs/..." */
    if (a == NULL)
        reply_error(r, 404, "not found");
    else
        reply_asset(r, 200, a);
}
