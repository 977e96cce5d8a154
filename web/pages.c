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

static void page(struct req *r, int status, const char *title, const char *nav,
                 const char *asset, const char *const *vars)
{
    struct buf content = {0};

    buf_template(&content, asset, vars);
    reply_page(r, status, title, nav, &content);
    buf_wipe(&content);
}

/* "<p class=error ...>Message.</p>", the library's message with a capital
 * and a full stop. */
static void error_block(struct buf *b, const char *prefix, const char *msg)
{
    char text[400];

    snprintf(text, sizeof text, "%s%s.", prefix, msg);
    text[0] = (char)toupper((unsigned char)text[0]);
    buf_puts(b, "<p class=\"error\" role=\"alert\" id=\"form-error\">");
    buf_html(b, text);
    buf_puts(b, "</p>");
}

static void data_url(struct buf *b, const char *mime, const uint8_t *data, size_t len)
{
    buf_printf(b, "data:%s;base64,", mime);
    buf_base64(b, data, len);
}

static void human_size(char *out, size_t size, size_t n)
{
    if (n >= (size_t)1 << 20)
        snprintf(out, size, "%.1f MiB", (double)n / (1 << 20));
    else if (n >= 1024)
        snprintf(out, size, "%.1f KiB", (double)n / 1024);
    else
        snprintf(out, size, "%zu bytes", n);
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

/* An upload form (encrypt or decrypt), with the error of the last try if
 * any, and the upload limit that its script checks before sending. */
static void upload_form(struct req *r, int status, const char *error_html, const char *title,
                        const char *nav, const char *file)
{
    char max[32];
    const char *vars[] = {"error", error_html, "max_upload", max, NULL};

    snprintf(max, sizeof max, "%zu", r->cfg->max_upload);
    page(r, status, title, nav, file, vars);
}

static void encrypt_form(struct req *r, int status, const char *error_html)
{
    upload_form(r, status, error_html, "Encrypt an image", "encrypt", "pages/encrypt.html");
}

void page_encrypt_get(struct req *r)
{
    encrypt_form(r, 200, "");
}

void page_encrypt_post(struct req *r)
{
    const struct field *image = req_field(r, "image");
    const char *key_text = req_text(r, "key");
    const char *aadhaar = req_text(r, "aadhaar"), *dob = req_text(r, "dob");
    char text[MC_KEY_TEXT_BYTES] = "", masked[MC_AADHAAR_MASKED_BYTES] = "";
    char size[32], geo[96];
    struct buf err_html = {0}, key_html = {0}, preview = {0}, href = {0}, dropped = {0};
    struct crypt_result res = {0};
    mc_cipher_info ci;
    bool generated = false;
    const char *problem;
    mc_ctx *ctx = NULL;
    int status = 400; /* the form's own problems; the image's say theirs */
    mc_key key;
    mc_err err;

    if (image == NULL || image->data.len == 0) {
        error_block(&err_html, "", "choose an image file to encrypt");
        goto fail;
    }
    if (key_text != NULL) {
        if (!web_key_from_field(r, &key, &problem)) {
            error_block(&err_html, "Key: ", problem);
            goto fail;
        }
    } else {
        if (aadhaar == NULL || dob == NULL) {
            error_block(&err_html, "",
                        aadhaar == NULL ? "enter the patient's Aadhaar number (or an existing key)"
                                        : "enter the patient's date of birth (or an existing key)");
            goto fail;
        }
        if ((err = mc_aadhaar_check(aadhaar, NULL)) != MC_OK ||
            (err = mc_dob_check(dob)) != MC_OK) {
            error_block(&err_html, "", mc_strerror(err));
            goto fail;
        }
        if ((err = mc_key_generate(&key, aadhaar, dob)) != MC_OK ||
            (err = mc_aadhaar_mask(aadhaar, masked)) != MC_OK) {
            mc_key_wipe(&key);
            error_block(&err_html, "", mc_strerror(err));
            goto fail;
        }
        mc_key_to_text(&key, text);
        generated = true;
    }
    err = web_encrypt(r, &key, image, &res);
    mc_key_wipe(&key);
    if (err != MC_OK) {
        char why[320];
        snprintf(why, sizeof why, "%s%s%s", mc_strerror(err), res.detail[0] != '\0' ? ": " : "",
                 res.detail);
        if (res.already_cipher) {
            /* Not a failure of the image: the wrong page. */
            error_block(&err_html, "", "the image is already a medcrypt cipher image");
            buf_puts(&err_html, "<p class=\"hint\">To see what it hides, open the "
                                "<a href=\"/decrypt\">decrypt page</a> with its key.</p>");
        } else {
            error_block(&err_html, "The image: ", why);
        }
        crypt_result_free(&res);
        sodium_memzero(text, sizeof text);
        status = web_status_for(err); /* 413, 415 as the API and the other pages */
        if (status >= 500) {
            reply_error(r, status, mc_strerror(err));
            buf_wipe(&err_html);
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
    human_size(size, sizeof size, res.out_len);
    data_url(&href, "image/png", res.out, res.out_len);
    if (res.out_len <= PREVIEW_INLINE_MAX) {
        buf_puts(&preview, "<img class=\"preview\" id=\"cipher-preview\" alt=\"The cipher "
                           "image: noise that hides the original\" src=\"");
        buf_put(&preview, href.p, href.len);
        buf_puts(&preview, "\">");
    } else {
        buf_puts(&preview, "<p class=\"note\">The image is too large to preview here; "
                           "download it below.</p>");
    }
    if (res.dropped[0] != '\0') {
        buf_puts(&dropped, "<p class=\"note\" id=\"dropped-chunks\">Not kept: the PNG's metadata "
                           "chunks ");
        buf_html(&dropped, res.dropped);
        buf_puts(&dropped, ". The pixels come back exactly; these do not.</p>");
    }
    if (generated) {
        const char *kv[] = {"key", text, "masked", masked, "key_id", res.key_id, NULL};
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
        if (key_html.oom || preview.oom || href.oom || dropped.oom)
            reply_error(r, 503, "out of memory");
        else
            page(r, 200, "Encrypted", "encrypt", "pages/encrypt_result.html", vars);
    }
    sodium_memzero(text, sizeof text);
    buf_wipe(&key_html);
    buf_wipe(&preview);
    buf_wipe(&href);
    buf_wipe(&dropped);
    crypt_result_free(&res);
    return;
fail:
    encrypt_form(r, status, err_html.p != NULL ? err_html.p : "");
    buf_wipe(&err_html);
}

static void decrypt_form(struct req *r, int status, const char *error_html)
{
    upload_form(r, status, error_html, "Decrypt an image", "decrypt", "pages/decrypt.html");
}

void page_decrypt_get(struct req *r)
{
    decrypt_form(r, 200, "");
}

void page_decrypt_post(struct req *r)
{
    const struct field *cipher = req_field(r, "cipher");
    struct buf err_html = {0}, preview = {0}, href = {0};
    struct crypt_result res = {0};
    char size[32], geo[96];
    const char *problem;
    mc_key key;
    mc_err err;

    if (cipher == NULL || cipher->data.len == 0) {
        error_block(&err_html, "", "choose the cipher image to decrypt");
        goto fail;
    }
    if (!web_key_from_field(r, &key, &problem)) {
        error_block(&err_html, "Key: ", problem);
        goto fail;
    }
    err = web_decrypt(r, &key, cipher, true, &res);
    mc_key_wipe(&key);
    if (err != MC_OK) {
        if (web_status_for(err) >= 500) {
            reply_error(r, web_status_for(err), mc_strerror(err));
            return;
        }
        error_block(&err_html, "", mc_strerror(err));
        if (err == MC_ENOTCIPHER)
            buf_puts(&err_html, "<p class=\"hint\">Decrypt takes a cipher image made by the "
                                "encrypt page or <code>medcrypt encrypt</code>.</p>");
        if (err == MC_EWRONGKEY && res.detail[0] != '\0') {
            /* Each encryption makes a new key: the ids say which one. */
            buf_puts(&err_html, "<p class=\"hint\" id=\"key-ids\">");
            buf_html(&err_html, res.detail);
            buf_puts(&err_html, ". Each encryption makes a new key: use the one shown "
                                "with this cipher image.</p>");
        }
        decrypt_form(r, web_status_for(err), err_html.p);
        buf_wipe(&err_html);
        return;
    }
    geometry(geo, sizeof geo, &res.info, true);
    human_size(size, sizeof size, res.out_len);
    data_url(&href, res.mime, res.out, res.out_len);
    if (res.preview != NULL && res.preview_len <= PREVIEW_INLINE_MAX) {
        buf_puts(&preview, "<img class=\"preview\" id=\"plain-preview\" alt=\"The decrypted "
                           "image\" src=\"");
        data_url(&preview, "image/png", res.preview, res.preview_len);
        buf_puts(&preview, "\">");
    } else {
        buf_puts(&preview, "<p class=\"note\">No preview for this image here; download it "
                           "below.</p>");
    }
    {
        const char *vars[] = {"preview", preview.p != NULL ? preview.p : "",
                              "href", href.p != NULL ? href.p : "",
                              "filename", res.filename,
                              "size", size,
                              "geometry", geo,
                              "format", mc_format_name(res.info.format),
                              "key_id", res.key_id,
                              NULL};
        if (preview.oom || href.oom)
            reply_error(r, 503, "out of memory");
        else
            page(r, 200, "Decrypted", "decrypt", "pages/decrypt_result.html", vars);
    }
    buf_wipe(&preview);
    buf_wipe(&href);
    crypt_result_free(&res);
    return;
fail:
    decrypt_form(r, 400, err_html.p != NULL ? err_html.p : "");
    buf_wipe(&err_html);
}
