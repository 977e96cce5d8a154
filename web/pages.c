/* The HTML pages: home, encrypt, decrypt. Templates are embedded files
 * (web/pages/); everything the user typed is HTML-escaped, and Aadhaar
 * numbers, dates of birth and keys are never echoed back into a form. */
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* Data URLs larger than this are not inlined as an <img> preview (the
 * page would be huge); the download link is always there. */
#define PREVIEW_INLINE_MAX ((size_t)16 << 20)
/* Up to this, the cipher image's preview carries its own copy of the
 * image, shown without JavaScript; above, the page holds the image once,
 * as its download, and app.js shows those bytes (two copies made the page
 * 2.7 times the file: 22 MB for an 8 MiB cipher image, a review). */
#define PREVIEW_COPY_MAX ((size_t)1 << 20)

static void page(struct req *r, int status, const char *title, const char *nav,
                 const char *asset, const char *const *vars)
{
    struct buf content = {0};

    buf_template(&content, asset, vars);
    reply_page(r, status, title, nav, &content);
    buf_wipe(&content);
}

void form_error(struct form_errors *fe, const char *field, const char *prefix, const char *msg)
{
    if (fe->n == FORM_MAX_ERRORS)
        return;
    /* the library's message with a capital and a full stop */
    snprintf(fe->e[fe->n].text, sizeof fe->e[fe->n].text, "%s%s.", prefix, msg);
    fe->e[fe->n].text[0] = (char)toupper((unsigned char)fe->e[fe->n].text[0]);
    fe->e[fe->n].field = field;
    fe->n++;
}

/* One wording on every page: the analysis page said "Image: ..." where
 * the encrypt page said "The image: ...", and both "The image: image too
 * large" (a review). */
void form_image_error(struct form_errors *fe, const char *msg)
{
    if (strncmp(msg, "image: ", 7) == 0)
        msg += 7;
    form_error(fe, "image", strncmp(msg, "image ", 6) == 0 ? "" : "The image: ", msg);
}

void form_errors_wipe(struct form_errors *fe)
{
    buf_wipe(&fe->hints);
    sodium_memzero(fe, sizeof *fe);
}

/* The inputs of the forms, each with its "-error" paragraph. */
static const char *const FORM_FIELDS[] = {"image", "aadhaar", "dob", "key", "keyfile", "cipher"};
#define N_FORM_FIELDS (sizeof FORM_FIELDS / sizeof FORM_FIELDS[0])

void form_page(struct req *r, int status, const struct form_errors *fe, const char *title,
               const char *nav, const char *asset, bool key_open)
{
    /* "error", "max_upload", "key_open", "name_value", then F_error and
     * F_invalid per field, then "keyfile_field", then NULL */
    const char *vars[2 * (5 + 2 * N_FORM_FIELDS) + 1];
    char names[N_FORM_FIELDS][2][24], max[32], full_title[96];
    struct buf summary = {0}, content = {0}, keyfile = {0};
    size_t v = 0;

    snprintf(max, sizeof max, "%zu", r->cfg->max_upload);
    if (fe != NULL && fe->n > 0) {
        /* role=alert and the focus (app.js): a screen reader reads it at
         * once; each problem links to its field */
        buf_printf(&summary, "<div class=\"error\" role=\"alert\" id=\"form-error\" "
                             "tabindex=\"-1\" aria-labelledby=\"form-error-title\">\n"
                             "<h2 id=\"form-error-title\">%s</h2>\n<ul>\n",
                   fe->n == 1 ? "There is a problem" : "There are problems");
        for (int i = 0; i < fe->n; i++) {
            buf_puts(&summary, "<li>");
            if (fe->e[i].field != NULL)
                buf_printf(&summary, "<a href=\"#%s\">", fe->e[i].field);
            buf_html(&summary, fe->e[i].text);
            buf_puts(&summary, fe->e[i].field != NULL ? "</a></li>\n" : "</li>\n");
        }
        buf_puts(&summary, "</ul>\n");
        if (fe->hints.p != NULL)
            buf_put(&summary, fe->hints.p, fe->hints.len);
        /* What was typed is not there any more: say why (WCAG 3.3.7's
         * security exception), so nobody thinks it was lost by mistake.
         * The files chosen neither (a page cannot hold them), each of
         * them: "the file" when the analysis had two or three, and
         * nothing when only files were sent (a review). */
        int files = 0;
        for (int i = 0; i < r->n_fields; i++)
            files += r->fields[i].filename != NULL && r->fields[i].data.len > 0;
        if (req_text(r, "aadhaar") != NULL || req_text(r, "dob") != NULL ||
            req_text(r, "key") != NULL)
            buf_printf(&summary, "<p class=\"hint\" id=\"cleared\">For your security, what "
                                 "you typed (Aadhaar number, date of birth, key) is never sent "
                                 "back: enter it again%s</p>\n",
                       files > 1    ? ", and choose the files again."
                       : files == 1 ? ", and choose the file again."
                                    : ".");
        else if (files > 0)
            buf_puts(&summary, files > 1 ? "<p class=\"hint\" id=\"cleared\">Choose the files "
                                           "again: a page the server sends back cannot hold "
                                           "them.</p>\n"
                                         : "<p class=\"hint\" id=\"cleared\">Choose the file "
                                           "again: a page the server sends back cannot hold "
                                           "it.</p>\n");
        buf_puts(&summary, "</div>\n");
        snprintf(full_title, sizeof full_title, "Error: %s", title);
        title = full_title;
    }
    vars[v++] = "error";
    vars[v++] = summary.p != NULL ? summary.p : "";
    vars[v++] = "max_upload";
    vars[v++] = max;
    vars[v++] = "key_open";
    vars[v++] = key_open ? "open" : "";
    /* the cipher image's name (encrypt): not a secret, so it comes back
     * with the form as typed */
    vars[v++] = "name_value";
    vars[v++] = req_text(r, "name") != NULL ? req_text(r, "name") : "";
    for (size_t f = 0; f < N_FORM_FIELDS; f++) {
        const char *text = "";
        for (int i = 0; fe != NULL && i < fe->n; i++)
            if (fe->e[i].field != NULL && strcmp(fe->e[i].field, FORM_FIELDS[f]) == 0) {
                text = fe->e[i].text; /* the first problem of the field */
                break;
            }
        snprintf(names[f][0], sizeof names[f][0], "%s_error", FORM_FIELDS[f]);
        snprintf(names[f][1], sizeof names[f][1], "%s_invalid", FORM_FIELDS[f]);
        vars[v++] = names[f][0];
        vars[v++] = text;
        vars[v++] = names[f][1];
        vars[v++] = text[0] != '\0' ? "aria-invalid=\"true\"" : "";
    }
    vars[v] = NULL;
    /* the key file's input, the same on every form that takes a key */
    buf_template(&keyfile, "pages/keyfile_field.html", vars);
    vars[v++] = "keyfile_field";
    vars[v++] = keyfile.p != NULL ? keyfile.p : "";
    vars[v] = NULL;
    if (summary.oom || keyfile.oom) {
        buf_wipe(&summary);
        buf_wipe(&keyfile);
        reply_error(r, 503, "out of memory");
        return;
    }
    buf_template(&content, asset, vars);
    reply_page(r, status, title, nav, &content);
    buf_wipe(&content);
    buf_wipe(&summary);
    buf_wipe(&keyfile);
}

/* An image over this server's cap: its users can take it to the command
 * (a server's cap is the operator's choice, the command's the user's). */
void form_cap_hint(struct form_errors *fe, uint64_t cap, const char *verb)
{
    /* at the command's largest --max-pixels (cli/cli.h) too: nothing to
     * offer */
    if (cap == 0 || cap >= (uint64_t)1 << 32)
        return;
    buf_printf(&fe->hints,
               "<p class=\"hint\" id=\"cap-hint\">This server takes images of up to %llu "
               "samples (width &times; height &times; channels). The medcrypt command on your "
               "own computer takes larger ones: <code>medcrypt %s --max-pixels N</code>.</p>",
               (unsigned long long)cap, verb);
}

/* With the form's other problems, the image's own (API.md: a form comes
 * back with every problem at once; found in review: "not an image" came
 * only once the Aadhaar number was right): decoded under the memory
 * budget, then dropped. A busy server says nothing here: the image is
 * tried again with the form. */
void form_image_problem(struct req *r, struct form_errors *fe, const struct field *image,
                        const char *verb)
{
    mc_image *img = NULL;
    mc_ctx *ctx = NULL;
    char why[400];
    mc_err err;

    if (req_file_state(image) != REQ_FILE_OK)
        return; /* said already */
    if (mc_is_cipher_image((const uint8_t *)image->data.p, image->data.len)) {
        form_error(fe, "image", "", "the image is already a medcrypt cipher image");
        return;
    }
    if (web_new_ctx(r, MEM_PAGE, &ctx) != MC_OK)
        return;
    err = mc_image_decode(ctx, (const uint8_t *)image->data.p, image->data.len, NULL, &img);
    if (err != MC_OK && err != MC_EBUSY && err != MC_ENOMEM) {
        web_error_text(why, sizeof why, "", err, mc_ctx_last_detail(ctx));
        form_image_error(fe, why);
        form_cap_hint(fe, mc_ctx_last_cap(ctx), verb);
    }
    mc_image_free(img); /* wipes the samples */
    mc_ctx_free(ctx);
}

static void data_url(struct buf *b, const char *mime, const uint8_t *data, size_t len)
{
    buf_printf(b, "data:%s;base64,", mime);
    buf_base64(b, data, len);
}

/* A preview's class and, for a small image, its size on the page: under
 * PREVIEW_MIN pixels on its longer side it is shown enlarged by a whole
 * factor, each pixel a sharp square (CSS .upscaled), where it would
 * otherwise be a speck (a 1 × 1 or 13 × 1 image: one pixel high). The
 * size is the PNG's own (IHDR: the preview of several frames is the
 * first), so that the factor is exact; larger ones keep their size, which
 * the CSS scales down to the screen. */
#define PREVIEW_MIN 192u

static void preview_attrs(struct buf *b, const uint8_t *png, size_t len)
{
    uint32_t w, h, longer, k;

    if (len < 24 || memcmp(png, "\x89PNG\r\n\x1a\n", 8) != 0) {
        buf_puts(b, " class=\"preview\"");
        return;
    }
    w = (uint32_t)png[16] << 24 | (uint32_t)png[17] << 16 | (uint32_t)png[18] << 8 | png[19];
    h = (uint32_t)png[20] << 24 | (uint32_t)png[21] << 16 | (uint32_t)png[22] << 8 | png[23];
    longer = w > h ? w : h;
    k = longer == 0 ? 1 : PREVIEW_MIN / longer;
    if (k < 2)
        buf_puts(b, " class=\"preview\"");
    else
        buf_printf(b, " class=\"preview upscaled\" width=\"%u\" height=\"%u\"", w * k, h * k);
}

/* The format as people write it beside a file: "PNG", "DICOM", and a
 * Netpbm image by its kind, "PGM" or "PPM" (mc_format_name's lowercase
 * names are for programs: the page said "png" and "pnm": a review). A
 * JPEG comes back as a PNG of its samples (writing a JPEG again would
 * lose data): not "JPEG" beside a .png download. */
static void format_label(char *out, size_t size, const mc_image_info *info)
{
    const char *name = info->format == MC_FORMAT_PNM ? info->extension : mc_format_name(info->format);
    size_t i = 0;

    if (info->format == MC_FORMAT_JPEG) {
        snprintf(out, size, "a JPEG, restored as a lossless PNG of its pixels");
        return;
    }
    for (; name[i] != '\0' && i + 1 < size; i++)
        out[i] = (char)toupper((unsigned char)name[i]);
    out[i] = '\0';
}

/* "W × H, kind, D-bit"; for several frames, each frame's size and their
 * count, and whether the preview beside it shows only the first. */
static void geometry(char *out, size_t size, const mc_image_info *info, bool preview_first)
{
    const char *kind = info->channels == 1 ? "gray"
                       : info->channels == 2 ? "gray + alpha"
                       : info->channels == 3 ? "RGB" : "RGBA";
    /* Frames are stacked in the height: a 2-frame 100 x 100 DICOM is
     * 100 x 200 to the codec, 100 x 100 and 2 frames to its reader. */
    if (info->frames > 1 && info->height % info->frames == 0)
        snprintf(out, size, "%u × %u, %u frames%s, %s, %u-bit", info->width,
                 info->height / info->frames, info->frames,
                 preview_first ? " (the preview shows the first)" : "", kind,
                 (unsigned)info->bits);
    else
        snprintf(out, size, "%u × %u, %s, %u-bit", info->width, info->height, kind,
                 (unsigned)info->bits);
}

void page_home(struct req *r)
{
    const char *vars[] = {NULL};
    page(r, 200, "Protect medical images", "home", "pages/home.html", vars);
}

static void encrypt_form(struct req *r, int status, const struct form_errors *fe, bool key_open)
{
    form_page(r, status, fe, "Encrypt an image", "encrypt", "pages/encrypt.html", key_open);
}

void page_encrypt_get(struct req *r)
{
    encrypt_form(r, 200, NULL, false);
}

void page_encrypt_post(struct req *r)
{
    const struct field *image = req_field(r, "image");
    const char *aadhaar = req_text(r, "aadhaar"), *dob = req_text(r, "dob");
    char text[MC_KEY_TEXT_BYTES] = "", masked[MC_AADHAAR_MASKED_BYTES] = "";
    char size[32], geo[96];
    struct buf key_html = {0}, preview = {0}, href = {0}, dropped = {0}, key_href = {0};
    struct form_errors fe = {0};
    struct crypt_result res = {0};
    mc_cipher_info ci;
    bool generated = false;
    mc_ctx *ctx = NULL;
    int status = 400; /* the form's own problems; the image's say theirs */
    int given;
    mc_key key;
    mc_err err;

    /* Every problem of the form at once (without JavaScript, one per
     * round trip would take three tries). */
    if (req_file_state(image) == REQ_FILE_NONE)
        form_error(&fe, "image", "", "choose an image file to encrypt");
    else if (req_file_state(image) == REQ_FILE_EMPTY)
        form_error(&fe, "image", "", "the chosen file is empty (0 bytes)");
    if ((given = form_key(r, &fe, &key)) < 0) {
        form_image_problem(r, &fe, image, "encrypt");
        goto fail;
    }
    if (given > 0) {
        if (fe.n > 0) {
            mc_key_wipe(&key);
            form_image_problem(r, &fe, image, "encrypt");
            goto fail;
        }
    } else {
        if (aadhaar == NULL)
            form_error(&fe, "aadhaar", "", "enter the patient's Aadhaar number (or an existing key)");
        else if ((err = mc_aadhaar_check(aadhaar, NULL)) != MC_OK)
            form_error(&fe, "aadhaar", "", mc_strerror(err));
        if (dob == NULL)
            form_error(&fe, "dob", "", "enter the patient's date of birth (or an existing key)");
        else if ((err = mc_dob_check(dob)) != MC_OK)
            form_error(&fe, "dob", "", mc_strerror(err));
        if (fe.n > 0) {
            form_image_problem(r, &fe, image, "encrypt");
            goto fail;
        }
        if ((err = mc_key_generate(&key, aadhaar, dob)) != MC_OK ||
            (err = mc_aadhaar_mask(aadhaar, masked)) != MC_OK) {
            mc_key_wipe(&key);
            reply_error(r, web_status_for(err), mc_strerror(err)); /* the system's failure */
            return;
        }
        mc_key_to_text(&key, text);
        {
            /* The key as a file too (the result page's "Save the key as a
             * file"): a keyboard user without JavaScript cannot select
             * the key's text, and a file is what the command and the
             * decrypt page take. */
            char file[MC_KEY_FILE_TEXT_BYTES] = "";
            if (mc_key_file_text_for(&key, aadhaar, file) == MC_OK)
                data_url(&key_href, "text/plain", (const uint8_t *)file, strlen(file));
            sodium_memzero(file, sizeof file);
        }
        generated = true;
    }
    r->mem_factor = MEM_PAGE;
    err = web_encrypt(r, &key, image, &res);
    mc_key_wipe(&key);
    if (err != MC_OK) {
        char why[400];
        crypt_result_message(&res, err, why, sizeof why);
        if (res.already_cipher) {
            /* Not a failure of the image: the wrong page. */
            form_error(&fe, "image", "", "the image is already a medcrypt cipher image");
            buf_puts(&fe.hints, "<p class=\"hint\">To see what it hides, open the "
                                "<a href=\"/decrypt\">decrypt page</a> with its key.</p>");
        } else {
            form_image_error(&fe, why);
            form_cap_hint(&fe, res.cap, "encrypt");
            if (err == MC_EFORMAT)
                buf_puts(&fe.hints, "<p class=\"hint\">medcrypt reads PNG, PGM/PPM, BMP, JPEG "
                                    "and DICOM with uncompressed pixel data.</p>");
        }
        crypt_result_free(&res);
        sodium_memzero(text, sizeof text);
        buf_wipe(&key_href); /* the key, as a file: secret */
        status = web_status_for(err); /* 413, 415, 503 as the API and the other pages */
        if (status >= 500 && err != MC_EBUSY) {
            reply_error(r, status, mc_strerror(err));
            form_errors_wipe(&fe);
            return;
        }
        goto fail;
    }
    /* The geometry, for the page. */
    memset(&ci, 0, sizeof ci);
    if (mc_ctx_new(&ctx) == MC_OK && mc_cipher_inspect(ctx, res.out, res.out_len, &ci) == MC_OK)
        geometry(geo, sizeof geo, &ci.image, false);
    else
        snprintf(geo, sizeof geo, "unknown");
    mc_ctx_free(ctx);
    web_human_size(size, sizeof size, res.out_len);
    data_url(&href, "image/png", res.out, res.out_len);
    if (res.out_len <= PREVIEW_INLINE_MAX) {
        buf_puts(&preview, "<img");
        preview_attrs(&preview, res.out, res.out_len);
        buf_puts(&preview, " id=\"cipher-preview\" alt=\"The cipher "
                           "image: noise that hides the original\"");
        if (res.out_len <= PREVIEW_COPY_MAX) {
            buf_puts(&preview, " src=\"");
            buf_put(&preview, href.p, href.len);
            buf_puts(&preview, "\">");
        } else {
            buf_puts(&preview, " data-src-of=\"download\" hidden><noscript><p class=\"note\">"
                               "The preview of an image this large needs JavaScript; "
                               "download it below.</p></noscript>");
        }
    } else {
        buf_puts(&preview, "<p class=\"note\">The image is too large to preview here; "
                           "download it below.</p>");
    }
    if (res.dropped[0] != '\0') {
        buf_puts(&dropped, res.dropped_jpeg ? "<p class=\"note\" id=\"dropped-chunks\">Not kept: "
                                              "the JPEG's metadata "
                                            : "<p class=\"note\" id=\"dropped-chunks\">Not kept: "
                                              "the PNG's metadata chunks ");
        buf_html(&dropped, res.dropped);
        buf_puts(&dropped, ". The pixels come back exactly; these do not.");
        if (res.orientation != 0)
            buf_puts(&dropped, " Viewers show this JPEG turned or mirrored by its EXIF "
                               "orientation; the decrypted PNG shows it as stored.");
        buf_puts(&dropped, "</p>");
    }
    if (generated) {
        /* "XXXX XXXX 0124" is read aloud as a row of X's: screen readers
         * get "ending in 0 1 2 4" instead */
        char last4[8];
        size_t m = strlen(masked);
        snprintf(last4, sizeof last4, "%c %c %c %c", masked[m - 4], masked[m - 3], masked[m - 2],
                 masked[m - 1]);
        char file_name[64];
        snprintf(file_name, sizeof file_name, "medcrypt-%s.key", res.key_id);
        const char *kv[] = {"key", text, "masked", masked, "last4", last4,
                            "key_id", res.key_id, "key_href", key_href.p != NULL ? key_href.p : "",
                            "key_filename", file_name, NULL};
        buf_template(&key_html, "pages/key_block.html", kv);
    } else {
        /* Identifiers typed beside a given key were not used: say so. */
        const char *ignored = aadhaar != NULL || dob != NULL
                                  ? "<p class=\"note\" id=\"ids-ignored\">The Aadhaar number "
                                    "and date of birth were not used: with a key given, no new "
                                    "key is made.</p>"
                                  : "";
        const char *kv[] = {"key_id", res.key_id, "ignored", ignored, NULL};
        buf_template(&key_html, "pages/key_used.html", kv);
    }
    {
        const char *vars[] = {"key_block", key_html.p != NULL ? key_html.p : "",
                              "preview", preview.p != NULL ? preview.p : "",
                              "href", href.p != NULL ? href.p : "",
                              "filename", res.filename,
                              "size", size,
                              "geometry", geo,
                              "dropped", dropped.p != NULL ? dropped.p : "",
                              /* a new key: shown once, with this image only */
                              "pair_note",
                              generated ? "<p class=\"help\" id=\"pair-note\">This key and this "
                                          "cipher image belong together: save both from this "
                                          "page. Encrypting again, even the same image, makes "
                                          "a new key.</p>"
                                        : "",
                              NULL};
        if (key_html.oom || preview.oom || href.oom || dropped.oom || key_href.oom)
            reply_error(r, 503, "out of memory");
        else
            page(r, 200, "Encrypted", "encrypt", "pages/encrypt_result.html", vars);
    }
    sodium_memzero(text, sizeof text);
    buf_wipe(&key_html);
    buf_wipe(&preview);
    buf_wipe(&href);
    buf_wipe(&dropped);
    buf_wipe(&key_href);
    crypt_result_free(&res);
    return;
fail:
    encrypt_form(r, status, &fe, web_form_has_key(r));
    form_errors_wipe(&fe);
}

static void decrypt_form(struct req *r, int status, const struct form_errors *fe)
{
    form_page(r, status, fe, "Decrypt an image", "decrypt", "pages/decrypt.html", false);
}

void page_decrypt_get(struct req *r)
{
    decrypt_form(r, 200, NULL);
}

int form_key(struct req *r, struct form_errors *fe, mc_key *key)
{
    char problem[300];
    const char *field = NULL;
    int given = web_form_key(r, key, &field, problem, sizeof problem);

    if (given < 0) /* "Key: ...", "The key file: ...": form_error capitalises */
        form_error(fe, field, "", problem);
    /* another file in the key file's field (an image, a document): which
     * file it wants (a review: "not a medcrypt key" alone, MC_EKEYTEXT's
     * words, which the problem holds) */
    if (given < 0 && field != NULL && strcmp(field, "keyfile") == 0 &&
        strstr(problem, mc_strerror(MC_EKEYTEXT)) != NULL)
        buf_puts(&fe->hints, "<p class=\"hint\" id=\"keyfile-hint\">The key file is the "
                             "<code>medcrypt-&lt;key id&gt;.key</code> saved from the encrypt "
                             "page, or written by <code>medcrypt keygen -o</code>.</p>");
    return given;
}

/* The cipher image's problem, when the key's stops the form before its
 * decryption: every problem at once (a key file and a cipher image chosen
 * in each other's fields said only the key file's: a review). From its
 * chunk headers alone: instant, no pixel cap. */
static void form_cipher_problem(struct form_errors *fe, const struct field *cipher)
{
    mc_cipher_info ci;
    mc_ctx *ctx = NULL;
    char why[400];
    mc_err err;

    if (req_file_state(cipher) != REQ_FILE_OK || mc_ctx_new(&ctx) != MC_OK)
        return;
    err = mc_cipher_inspect(ctx, (const uint8_t *)cipher->data.p, cipher->data.len, &ci);
    if (err != MC_OK && err != MC_ENOMEM) {
        /* as the decryption says it: cut short too */
        web_error_text(why, sizeof why, "", err,
                       web_cipher_detail(cipher, err, mc_ctx_last_detail(ctx)));
        form_error(fe, "cipher", "", why);
    }
    mc_ctx_free(ctx);
}

void page_decrypt_post(struct req *r)
{
    const struct field *cipher = req_field(r, "cipher");
    struct buf preview = {0}, href = {0}, foreign = {0};
    struct form_errors fe = {0};
    struct crypt_result res = {0};
    char size[32], geo[96], why[400], format[64];
    mc_key key;
    mc_err err;
    int given;

    if (req_file_state(cipher) == REQ_FILE_NONE)
        form_error(&fe, "cipher", "", "choose the cipher image to decrypt");
    else if (req_file_state(cipher) == REQ_FILE_EMPTY)
        form_error(&fe, "cipher", "", "the chosen file is empty (0 bytes)");
    if ((given = form_key(r, &fe, &key)) < 0) {
        form_cipher_problem(&fe, cipher);
        goto fail;
    }
    if (given == 0) {
        form_error(&fe, "key", "", "enter the key, or choose the key file");
        form_cipher_problem(&fe, cipher);
        goto fail;
    }
    if (fe.n > 0) {
        mc_key_wipe(&key);
        goto fail;
    }
    r->mem_factor = MEM_PAGE_DECRYPT;
    err = web_decrypt(r, &key, cipher, true, &res);
    mc_key_wipe(&key);
    if (err != MC_OK) {
        if (web_status_for(err) >= 500 && err != MC_EBUSY) {
            reply_error(r, web_status_for(err), mc_strerror(err));
            return;
        }
        /* the key's fault (in the field it came from: a key file's
         * error marked the empty text field, a review), or the file's,
         * with the decoder's detail (the pixel cap and the image's size,
         * as the API and the encrypt page say them); a wrong key's ids
         * are the hint below */
        if (err == MC_EWRONGKEY)
            snprintf(why, sizeof why, "%s", mc_strerror(err));
        else
            crypt_result_message(&res, err, why, sizeof why);
        form_error(&fe,
                   err != MC_EWRONGKEY           ? "cipher"
                   : req_text(r, "key") != NULL ? "key"
                                                : "keyfile",
                   "", why);
        form_cap_hint(&fe, res.cap, "decrypt");
        if (err == MC_ENOTCIPHER)
            buf_puts(&fe.hints, "<p class=\"hint\">Decrypt takes a cipher image made by the "
                                "encrypt page or <code>medcrypt encrypt</code>, as it was "
                                "sent: saved again by another program (an image viewer, a "
                                "chat app), it loses its medcrypt data.</p>");
        /* modified or damaged, not cut short (that detail says what to
         * do): what to do too (it said only what was wrong: a review);
         * with a detail that names chunks another program added too (a
         * review: the hint went with any detail) */
        if (err == MC_ETAMPERED && !web_cipher_cut_short(cipher, err))
            buf_puts(&fe.hints, "<p class=\"hint\" id=\"tamper-hint\">The key is this cipher "
                                "image's; its bytes changed after it was made (a transfer "
                                "that failed, an edit). Get it again from its sender, as it "
                                "was sent.</p>");
        if (err == MC_EWRONGKEY && res.detail[0] != '\0') {
            /* Each encryption makes a new key: the ids say which one. */
            char ids[sizeof res.detail];
            snprintf(ids, sizeof ids, "%s", res.detail);
            ids[0] = (char)toupper((unsigned char)ids[0]);
            buf_puts(&fe.hints, "<p class=\"hint\" id=\"key-ids\">");
            buf_html(&fe.hints, ids);
            buf_puts(&fe.hints, ". Each encryption makes a new key: use the one shown "
                                "with this cipher image.</p>");
        }
        decrypt_form(r, web_status_for(err), &fe);
        form_errors_wipe(&fe);
        return;
    }
    geometry(geo, sizeof geo, &res.info, true);
    format_label(format, sizeof format, &res.info);
    web_human_size(size, sizeof size, res.out_len);
    data_url(&href, res.mime, res.out, res.out_len);
    if (res.preview != NULL && res.preview_len <= PREVIEW_INLINE_MAX) {
        buf_puts(&preview, "<img");
        preview_attrs(&preview, res.preview, res.preview_len);
        buf_puts(&preview, " id=\"plain-preview\" alt=\"Preview of "
                           "the decrypted image ");
        buf_html(&preview, res.filename);
        buf_puts(&preview, "\" src=\"");
        data_url(&preview, "image/png", res.preview, res.preview_len);
        buf_puts(&preview, "\">");
    } else {
        buf_puts(&preview, "<p class=\"note\">No preview for this image here; download it "
                           "below.</p>");
    }
    /* what the cipher image held that no key vouches for (docs/FORMAT.md
     * §2): a caption naming someone else, say */
    if (res.dropped[0] != '\0') {
        buf_puts(&foreign, "<p class=\"note\" id=\"foreign-chunks\">This cipher image also "
                           "holds chunks another program added (");
        buf_html(&foreign, res.dropped);
        buf_puts(&foreign, "). They are not verified, and were not copied into the "
                           "download; the image itself is verified.</p>");
    }
    {
        const char *vars[] = {"preview", preview.p != NULL ? preview.p : "",
                              "href", href.p != NULL ? href.p : "",
                              "filename", res.filename,
                              "size", size,
                              "geometry", geo,
                              "format", format,
                              "key_id", res.key_id,
                              "foreign", foreign.p != NULL ? foreign.p : "",
                              NULL};
        if (preview.oom || href.oom || foreign.oom)
            reply_error(r, 503, "out of memory");
        else
            page(r, 200, "Decrypted", "decrypt", "pages/decrypt_result.html", vars);
    }
    buf_wipe(&preview);
    buf_wipe(&href);
    buf_wipe(&foreign);
    crypt_result_free(&res);
    return;
fail:
    decrypt_form(r, 400, &fe);
    form_errors_wipe(&fe);
}
