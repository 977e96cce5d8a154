/* The analysis page and POST /api/v1/analyze: the security analysis
 * (mc_analyze, mc_analysis_json, mc_analysis_html; docs/METRICS.md). */
#include "http.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* The given cipher image's problem, from its chunks alone (before the
 * seconds of the analysis), or NULL: none given, or a cipher image. An
 * empty file field is no file. */
static const char *given_cipher_problem(const struct field *cipher)
{
    if (req_file_state(cipher) == REQ_FILE_EMPTY)
        return "the file is empty (0 bytes)";
    if (req_file_state(cipher) == REQ_FILE_OK &&
        !mc_is_cipher_image((const uint8_t *)cipher->data.p, cipher->data.len))
        return "not a medcrypt cipher image: give the cipher image of this image, as the "
               "encrypt page made it";
    return NULL;
}

/* Runs the analysis of the uploaded image (with the given key, or a fresh
 * random one), measuring the given cipher image (field "cipher",
 * optional) instead of a fresh encryption, as `medcrypt analyze PLAIN
 * CIPHER` does (the page could not measure the cipher image one had made:
 * a review). On failure sets *status, *problem (a message, with the
 * field's name first for the API: "image: ...", "cipher image: ..."),
 * *field (its input) and *cap (mc_ctx_last_cap(), or 0). */
static mc_analysis *analyze(struct req *r, int *status, char *problem, size_t size,
                            const char **field, uint64_t *cap)
{
    const struct field *image = req_field(r, "image"), *cipher = req_field(r, "cipher");
    const char *why;
    char name[100];
    mc_analysis *a = NULL;
    mc_image *img = NULL;
    mc_ctx *ctx = NULL;
    bool have_key;
    mc_key key;
    mc_err err;
    int given;

    *field = "image";
    *cap = 0;
    if (req_file_state(image) != REQ_FILE_OK) {
        *status = 400;
        snprintf(problem, size, "%s", req_file_state(image) == REQ_FILE_EMPTY
                                          ? "image: the file is empty (0 bytes)"
                                          : "missing file 'image'");
        return NULL;
    }
    /* A cipher image's statistics would be reported as a plain image's:
     * 415, as the encrypt page answers one. */
    if (mc_is_cipher_image((const uint8_t *)image->data.p, image->data.len)) {
        *status = 415;
        snprintf(problem, size, "image: this is a medcrypt cipher image; the analysis takes the "
                                "plain image and encrypts it itself");
        return NULL;
    }
    if ((given = web_form_key(r, &key, field, problem, size)) < 0) {
        *status = 400;
        return NULL;
    }
    have_key = given > 0;
    /* (the library refuses one of another size before them too) */
    if ((why = given_cipher_problem(cipher)) != NULL) {
        *status = 400;
        *field = "cipher";
        snprintf(problem, size, "cipher image: %s", why);
        if (have_key)
            mc_key_wipe(&key);
        return NULL;
    }
    if (req_file_state(cipher) != REQ_FILE_OK)
        cipher = NULL;
    web_sanitize_name(image->filename != NULL ? image->filename : "", name, sizeof name);
    err = web_new_ctx(r, cipher != NULL ? MEM_ANALYZE_GIVEN : MEM_ANALYZE, &ctx);
    if (err == MC_OK)
        err = mc_image_decode(ctx, (const uint8_t *)image->data.p, image->data.len, name, &img);
    if (err == MC_OK) {
        err = mc_analyze(ctx, have_key ? &key : NULL, img,
                         cipher != NULL ? (const uint8_t *)cipher->data.p : NULL,
                         cipher != NULL ? cipher->data.len : 0, &a);
        /* the given cipher image's own faults: wrong key (both ids),
         * modified, another image's size (MC_EINVAL: the arguments are
         * ours), a newer format */
        if (cipher != NULL && (err == MC_EWRONGKEY || err == MC_ETAMPERED || err == MC_EINVAL ||
                               err == MC_ENOTCIPHER || err == MC_EVERSION)) {
            const char *detail = web_cipher_detail(cipher, err, mc_ctx_last_detail(ctx));
            /* a wrong key marks the key's field, as the decrypt page does
             * (it marked the cipher image's: a review) */
            *field = err != MC_EWRONGKEY           ? "cipher"
                     : req_text(r, "key") != NULL ? "key"
                                                  : "keyfile";
            *status = err == MC_EINVAL ? 400 : web_status_for(err);
            if (err == MC_EINVAL) /* the detail says it all: both sizes */
                snprintf(problem, size, "cipher image: %s", detail);
            else
                web_error_text(problem, size, "cipher image: ", err, detail);
            a = NULL;
            goto out;
        }
    }
    if (err == MC_EBUSY) {
        char msg[300];
        web_busy_message(r, msg, sizeof msg, status);
        snprintf(problem, size, "image: %s", msg);
        a = NULL;
    } else if (err != MC_OK) {
        const char *detail = ctx != NULL ? mc_ctx_last_detail(ctx) : "";
        *cap = ctx != NULL ? mc_ctx_last_cap(ctx) : 0;
        *status = web_status_for(err);
        web_error_text(problem, size, "image: ", err, detail);
        a = NULL;
    }
out:
    if (have_key)
        mc_key_wipe(&key);
    mc_image_free(img);
    mc_ctx_free(ctx);
    return a;
}

static void form(struct req *r, int status, const struct form_errors *fe, bool key_open)
{
    form_page(r, status, fe, "Security analysis", "analyze", "pages/analyze.html", key_open);
}

void page_analyze_get(struct req *r)
{
    form(r, 200, NULL, false);
}

/* The report's body, each document it cites (<cite>docs/NAME.md</cite>)
 * linked to where this server serves it: on the page, "docs/METRICS.md"
 * named a file its reader could not reach (a review). Only the report's
 * own markup can hold "<cite>" (its text, a file name included, is
 * escaped), and only the documents served are linked. The saved report
 * keeps the words alone: it opens away from the server. */
static void put_linked(struct buf *b, const char *s, const char *end)
{
    static const char *const served[] = {"METRICS.md", "SECURITY.md"};
    static const char head[] = "<cite>docs/", tail[] = "</cite>";

    for (;;) {
        const char *at = strstr(s, head), *name, *stop;
        size_t i = 0;

        if (at == NULL || at >= end) {
            buf_put(b, s, (size_t)(end - s));
            return;
        }
        name = at + strlen(head);
        stop = strstr(name, tail);
        while (i < sizeof served / sizeof served[0] &&
               !(stop != NULL && stop + strlen(tail) <= end &&
                 (size_t)(stop - name) == strlen(served[i]) &&
                 memcmp(name, served[i], strlen(served[i])) == 0))
            i++;
        if (i == sizeof served / sizeof served[0]) { /* not one served: as it is */
            buf_put(b, s, (size_t)(name - s));
            s = name;
            continue;
        }
        buf_put(b, s, (size_t)(at - s));
        buf_puts(b, "<a href=\"/docs/");
        buf_puts(b, served[i]);
        buf_puts(b, "\">");
        buf_put(b, at, (size_t)(stop + strlen(tail) - at));
        buf_puts(b, "</a>");
        s = stop + strlen(tail);
    }
}

void page_analyze_post(struct req *r)
{
    struct buf content = {0};
    struct form_errors fe = {0};
    char problem[400], name[100];
    const struct field *upload;
    const char *body, *end, *field = NULL;
    char *html = NULL;
    size_t html_len = 0;
    int status = 200;
    uint64_t cap;
    mc_analysis *a = analyze(r, &status, problem, sizeof problem, &field, &cap);
    mc_err err;

    if (a == NULL) {
        const struct field *image = req_field(r, "image"), *cipher = req_field(r, "cipher");
        /* Every problem of the form at once (API.md), as the encrypt
         * and decrypt pages say them: analyze() stops at the first. */
        bool image_failed = strcmp(field, "image") == 0;
        bool cipher_failed = strcmp(field, "cipher") == 0;
        const char *why;
        mc_key key;

        if (status >= 500 && status != 503) {
            reply_error(r, status, problem);
            return;
        }
        if (!image_failed && req_file_state(image) == REQ_FILE_OK)
            form_image_problem(r, &fe, image, "analyze");
        /* The API's "missing file 'image'" is the form's "choose...";
         * the API's "image: ..." the pages' "The image: ...". */
        if (req_file_state(image) == REQ_FILE_NONE)
            form_error(&fe, field, "", "choose an image file to analyze");
        else if (req_file_state(image) == REQ_FILE_EMPTY)
            form_error(&fe, field, "", "the chosen file is empty (0 bytes)");
        else if (image_failed)
            form_image_error(&fe, problem);
        else
            form_error(&fe, field, "", problem);
        form_cap_hint(&fe, cap, "analyze");
        /* the image's problem: the key's too (not read yet, or read and
         * good: then nothing to add) */
        if (image_failed && form_key(r, &fe, &key) > 0)
            mc_key_wipe(&key);
        /* the image's or the key's: the cipher image's too (not looked
         * at yet) */
        if (!cipher_failed && (why = given_cipher_problem(cipher)) != NULL)
            form_error(&fe, "cipher", "Cipher image: ", why);
        form(r, status, &fe, web_form_has_key(r));
        form_errors_wipe(&fe);
        return;
    }
    err = mc_analysis_html(a, &html, &html_len);
    mc_analysis_free(a);
    if (err != MC_OK) {
        reply_error(r, web_status_for(err), mc_strerror(err));
        return;
    }
    /* The report is a whole page with an inline <style>, which our CSP
     * refuses: keep its body, styled by style.css (.report). */
    body = strstr(html, "<body>");
    body = body != NULL ? body + 6 : html;
    end = strstr(body, "</body>");
    if (end == NULL)
        end = html + html_len;
    buf_puts(&content, "<div class=\"report\" id=\"analysis-report\">\n");
    put_linked(&content, body, end);
    /* The whole report, its style inline, as a file to keep or send (the
     * command's --report writes the same page): the page itself needs
     * the server's style sheet. NAME.report.html, the upload's name. */
    upload = req_field(r, "image"); /* there: analyze() took it */
    web_sanitize_name(upload->filename != NULL ? upload->filename : "", name, sizeof name);
    buf_puts(&content, "</div>\n<p class=\"actions\"><a class=\"button primary\" "
                       "id=\"download-report\" href=\"data:text/html;base64,");
    buf_base64(&content, (const uint8_t *)html, html_len);
    buf_puts(&content, "\" download=\"");
    buf_html(&content, name);
    buf_puts(&content, ".report.html\" data-blob>Save this report (HTML)</a> <a class=\"button\" "
                       "href=\"/analyze\">Analyze another image</a></p>\n");
    sodium_memzero(html, html_len); /* the plain image's histogram and pixels */
    mc_free(html);
    reply_page(r, 200, "Security analysis report", "analyze", &content);
    buf_wipe(&content);
}

void api_analyze(struct req *r)
{
    char problem[400];
    char *json = NULL;
    size_t json_len = 0;
    struct buf b = {0};
    const char *field;
    int status = 200;
    uint64_t cap;
    mc_analysis *a = analyze(r, &status, problem, sizeof problem, &field, &cap);
    mc_err err;

    if (a == NULL) {
        reply_json_error(r, status, problem);
        return;
    }
    err = mc_analysis_json(a, &json, &json_len);
    mc_analysis_free(a);
    if (err != MC_OK) {
        reply_json_error(r, web_status_for(err), mc_strerror(err));
        return;
    }
    buf_put(&b, json, json_len);
    if (json_len == 0 || json[json_len - 1] != '\n')
        buf_puts(&b, "\n");
    sodium_memzero(json, json_len); /* the plain image's histogram */
    mc_free(json);
    reply_buf(r, 200, "application/json", &b);
}
