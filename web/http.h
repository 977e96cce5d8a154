/* Requests and routes of the web application: shared by server.c (the
 * libmicrohttpd plumbing) and the handlers (pages.c, api.c). */
#ifndef MC_WEB_HTTP_H
#define MC_WEB_HTTP_H

#include "medcrypt.h"
#include "web.h"

#include <stdatomic.h>
#include <time.h>

#include <microhttpd.h>

#define REQ_MAX_FIELDS 16
#define REQ_FIELD_NAME 32

/* One form field or uploaded file, in memory only. */
struct field {
    char name[REQ_FIELD_NAME];
    char *filename;    /* the client's file name, or NULL */
    struct buf data;   /* NUL-terminated; may hold secrets (wiped) */
};

struct req;
typedef void handler_fn(struct req *r);

struct route {
    const char *method; /* "GET" (also answers HEAD) or "POST" */
    const char *path;
    handler_fn *handler;
};

/* Per-request state: allocated on the first call of the access handler,
 * wiped and freed when libmicrohttpd reports the request completed. */
struct req {
    struct MHD_Connection *conn;
    const struct web_config *cfg;
    char method[8];
    char path[128];      /* for the access log and routing */
    struct timespec start;
    const struct route *route;
    struct MHD_PostProcessor *pp;
    struct field fields[REQ_MAX_FIELDS];
    int n_fields;
    struct field *current; /* the field the post processor is filling */
    size_t received;     /* body bytes so far */
    bool too_big;        /* body over --max-upload: drained, then 413 */
    bool upload_busy;    /* the uploads' share full: a small body drained, then 503 */
    bool bad_form;       /* malformed body or too many fields: 400 */
    bool form_oom;       /* a field could not be stored (out of memory): 503 */
    bool queued;         /* a response has been queued */
    /* A POST's handler runs in a computing worker (server.c), its
     * connection suspended from hand-over to answer. */
    enum { JOB_NONE, JOB_WAITING, JOB_DONE } job;
    struct req *next;    /* in the workers' queue */
    /* The response. */
    int status;
    const char *content_type;
    struct buf body;     /* owned; wiped after the response is sent */
    const unsigned char *static_body; /* or an embedded asset */
    size_t static_len;
    /* The memory budget (web_admit): what this request's images may take,
     * as a multiple of their sample bytes (set by its handler), and what
     * it holds of the budget; mem_refused: why it was refused. */
    unsigned mem_factor;
    uint64_t reserved;
    uint64_t upload_reserved; /* of the uploads' share (upload_admit) */
    /* While it holds some of the share: its place among the holders, its
     * socket, and its body's bytes so far, which the sweep reads (server.c,
     * holders_sweep) to cut the slowest when others are refused. */
    struct req *holder_prev, *holder_next;
    int fd;
    bool holder_cut;     /* shut down by the sweep (under its lock) */
    _Atomic uint64_t body_seen;
    enum { MEM_OK, MEM_BUSY, MEM_NEVER } mem_refused;
    char disposition[640]; /* Content-Disposition, or "": a 127-byte UTF-8 name, twice */
    char not_kept[96];     /* X-Medcrypt-Not-Kept (encrypt), or "" */
    char added[96];        /* X-Medcrypt-Added-Chunks (decrypt), or "" */
    char allow[32];        /* Allow (405), or "" */
    size_t sent;           /* body bytes, for the log */
};

/* Fields: NULL if absent. A text field's value is field->data.p (never
 * NULL for a present field). A handler sees each field the application
 * reads at most once, and its text fields without a NUL byte (server.c,
 * form_problem). */
const struct field *req_field(const struct req *r, const char *name);
/* An upload that cannot be used: REQ_FILE_NONE for a field absent or
 * with no file chosen (a browser sends an empty part with an empty file
 * name), REQ_FILE_EMPTY for a file of 0 bytes that was chosen (it said
 * "missing file", found in review), REQ_FILE_OK else. */
enum req_file { REQ_FILE_OK, REQ_FILE_NONE, REQ_FILE_EMPTY };
enum req_file req_file_state(const struct field *f);
/* A text field, trimmed of surrounding white space, or NULL if absent or
 * empty. Points into the field (wiped later). */
const char *req_text(struct req *r, const char *name);

/* Responses: the handler sets one of these. */
void reply_buf(struct req *r, int status, const char *content_type, struct buf *body);
void reply_asset(struct req *r, int status, const struct web_asset *a);
void reply_json_error(struct req *r, int status, const char *message);
/* An HTML page in the site's layout; content is raw HTML. */
void reply_page(struct req *r, int status, const char *title, const char *nav,
                const struct buf *content);
/* An error for a page route (HTML) or an API route (JSON). */
void reply_error(struct req *r, int status, const char *message);

/* Handlers (pages.c, api.c). */
handler_fn page_home, page_encrypt_get, page_encrypt_post, page_decrypt_get,
    page_decrypt_post, page_analyze_get, page_analyze_post, serve_static, serve_healthz,
    serve_openapi, api_keygen, api_encrypt, api_decrypt, api_analyze;

/* Shared by pages and API (api.c). */
struct crypt_result {
    uint8_t *out;        /* mc_free() */
    size_t out_len;
    char filename[128];  /* for Content-Disposition: sanitized */
    const char *mime;
    mc_image_info info;
    uint8_t *preview;    /* decrypt: a PNG a browser shows, or NULL */
    size_t preview_len;
    char key_id[MC_KEY_ID_HEX_BYTES];
    char detail[256];    /* on failure: the decoder's detail, or "" (as long as
                          * mc_ctx_last_detail's: the DICOM hint is long) */
    uint64_t cap;        /* on failure: mc_ctx_last_cap(), the pixel cap an
                          * MC_ETOOBIG went over, or 0 */
    bool already_cipher; /* encrypt refused: the input is a cipher image */
    bool whole_detail;   /* the detail is the whole message: encrypt refused
                          * a cipher image it could not take back to decrypt,
                          * or the memory budget refused the image */
    char dropped[96];    /* encrypt: a PNG's metadata chunks or a JPEG's
                          * metadata not kept; decrypt: the chunks another
                          * program added to the cipher image, not
                          * verified and not copied; or "" */
    bool dropped_jpeg;   /* dropped names a JPEG's metadata */
    unsigned orientation; /* a JPEG's EXIF orientation 2..8 (not kept), or 0 */
};
void crypt_result_free(struct crypt_result *res);
/* The message of a failed web_encrypt or web_decrypt: the library's,
 * with the decoder's detail after it, or the detail alone when it is the
 * whole message. */
void crypt_result_message(const struct crypt_result *res, mc_err err, char *msg, size_t size);
/* Room for the form around an uploaded file (multipart framing, the key
 * field): a file fits an upload under --max-upload with this much to
 * spare (app.js checks the same before sending). */
#define FORM_ROOM 4096
/* The key from a text field or an uploaded key file, with an error
 * message for the user on failure. */
bool web_key_from_field(struct req *r, mc_key *key, const char **problem);
/* Whether a form gives a key: the text field 'key', or the upload
 * 'keyfile' (the .key file the encrypt page saves or keygen writes). */
bool web_form_has_key(struct req *r);
/* That key: the text field 'key' (the API's, a pasted key or an uploaded
 * key file), or the upload 'keyfile'; both only if they hold the same key.
 * 1: *key set (wipe it); 0: neither given; -1: the one given is not a
 * key, or the two differ: *field the input to fix ("key", "keyfile") and
 * problem why ("key: ...", "the key file: ..."). */
int web_form_key(struct req *r, mc_key *key, const char **field, char *problem, size_t size);
/* HTTP status for a library error. */
int web_status_for(mc_err err);
/* A context for r's images: the server's pixel cap, and its memory
 * budget at `factor` times an image's sample bytes (what the route
 * holds at its peak, docs/DEPLOY.md). */
mc_err web_new_ctx(struct req *r, unsigned factor, mc_ctx **ctx);
/* After MC_EBUSY from a call on such a context: r's message (never fits:
 * then *status 413; busy now: 503) into msg. */
void web_busy_message(const struct req *r, char *msg, size_t size, int *status);
/* The mc_admit_fn of those contexts (server.c), and the release of what r
 * holds (after its handler). */
int web_admit(void *user, uint64_t sample_bytes);
void web_release(struct req *r);
/* Sample-byte multiples per route, measured (an operator's audit, 8192 x
 * 8192 16-bit): the API's encrypt and decrypt hold the upload, the
 * samples and the output; the pages a base64 copy too; an analysis its
 * encryptions and copies. */
#define MEM_API 3
#define MEM_PAGE 6
#define MEM_PAGE_DECRYPT 8
#define MEM_ANALYZE 8
/* and with its cipher image given: that upload, its samples and their
 * decryption (the command's peak RSS, 2048 x 2048 16-bit: 78 MB without,
 * 97 MB with) */
#define MEM_ANALYZE_GIVEN 11
mc_err web_encrypt(struct req *r, const mc_key *key, const struct field *image,
                   struct crypt_result *res);
mc_err web_decrypt(struct req *r, const mc_key *key, const struct field *cipher,
                   bool want_preview, struct crypt_result *res);
/* A form's problems, said as an error summary does (the GOV.UK pattern;
 * WCAG 3.3.1, 4.1.3): all of them at the top of the page that comes back,
 * in a box app.js gives the focus, each a link to its field; and each
 * again beside its field, which is marked invalid (pages.c). */
#define FORM_MAX_ERRORS 4
struct form_errors {
    int n;
    struct {
        const char *field; /* the input's id: image, aadhaar, dob, key, cipher */
        char text[400];    /* "Aadhaar number fails its check digit (...)." */
    } e[FORM_MAX_ERRORS];
    struct buf hints;      /* raw HTML paragraphs for the box, after the list */
};
/* Adds "PREFIX msg." (a capital first) for the input whose id is field. */
void form_error(struct form_errors *fe, const char *field, const char *prefix, const char *msg);
/* The image's problem, msg with or without the API's "image: ": "The
 * image: MSG.", or "MSG." alone where it names the image ("Image too
 * large: ..."). */
void form_image_error(struct form_errors *fe, const char *msg);
void form_errors_wipe(struct form_errors *fe);
/* The image's own problem, if any (a cipher image, or one that does not
 * decode), added to fe: for a form that has others (pages.c); verb: the
 * page's command (form_cap_hint). */
void form_image_problem(struct req *r, struct form_errors *fe, const struct field *image,
                        const char *verb);
/* For an image over this server's pixel cap (cap: mc_ctx_last_cap()
 * right after the failed call; 0, any other failure or a format's own
 * limit, adds nothing): a hint that the medcrypt command, with VERB,
 * takes larger images. */
void form_cap_hint(struct form_errors *fe, uint64_t cap, const char *verb);
/* web_form_key for a page: on -1 the problem is added to fe. */
int form_key(struct req *r, struct form_errors *fe, mc_key *key);
/* The page of a form (its template asset) with fe's problems, if any
 * (then its title is "Error: TITLE"); key_open: the form's "existing key"
 * section comes open (a key was given). */
void form_page(struct req *r, int status, const struct form_errors *fe, const char *title,
               const char *nav, const char *asset, bool key_open);

/* "PREFIX" mc_strerror(err), then ": DETAIL" unless detail is "": a
 * refusal as every page and the API word it. */
void web_error_text(char *out, size_t size, const char *prefix, mc_err err, const char *detail);
/* The detail of a refusal of the cipher image in cipher: detail (the
 * library's), or when that is "" and the image was refused as modified
 * with no end chunk, that it was cut short, the likeliest damage over a
 * network, as the command's hint says it (the pages and the API said
 * "modified or damaged" alone: a review). Looked for only after a
 * refusal. */
const char *web_cipher_detail(const struct field *cipher, mc_err err, const char *detail);
/* Whether the uploaded cipher image was refused as modified with no end
 * chunk: cut short (mc__png_cut_short). */
bool web_cipher_cut_short(const struct field *cipher, mc_err err);

/* Keeps [A-Za-z0-9._-] and the shown UTF-8 letters of a client-supplied
 * base name (else "_"), no leading dot, at most size-1 bytes, no
 * character cut; "image" when nothing is left. */
void web_sanitize_name(const char *in, char *out, size_t size);

#endif
