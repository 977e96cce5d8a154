/* The HTTP server: libmicrohttpd's daemon with a worker pool, per-request
 * state, uploads streamed into memory, the route table, the security
 * headers and the access log. Nothing is ever written to disk. */
#include "http.h"
#include "internal.h" /* mc__stack_wipe */

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

/* Bytes of a chunked body drained past --max-upload before the
 * connection is closed instead of answered 413 (on_request). */
#define UPLOAD_SLACK ((size_t)1 << 20)

/* Slow clients (tests/load). --timeout is libmicrohttpd's idle timeout,
 * which a client sending one byte a second never reaches. So a request's
 * headers must also arrive within --timeout of the connection's start (or
 * of the end of its previous request): web_serve() sweeps the connections
 * every second and shuts down late ones. A body must then average
 * BODY_MIN_RATE bytes/s once --timeout has passed. */
#define BODY_MIN_RATE 1024
/* ... and, while uploads are refused for want of room in their share, one
 * that holds some of it must average HOLDER_MIN_RATE bytes/s once
 * --timeout has passed, or it is cut to make room (holders_sweep). */
#define HOLDER_MIN_RATE (32 * 1024)
#define UPLOADS_BUSY "the server is busy receiving other uploads: try again in a moment"

struct watchlist {
    pthread_mutex_t lock;
    struct conn_watch *head;
};

struct conn_watch {
    struct watchlist *wl;
    struct conn_watch *prev, *next;
    int fd;
    struct timespec since; /* connection start, or end of the last request */
    bool in_request;       /* headers in, request not completed */
    bool cut;              /* shut down by the sweep */
};

static const struct route routes[] = {
    {"GET", "/", page_home},
    {"GET", "/encrypt", page_encrypt_get},
    {"POST", "/encrypt", page_encrypt_post},
    {"GET", "/decrypt", page_decrypt_get},
    {"POST", "/decrypt", page_decrypt_post},
    {"GET", "/analyze", page_analyze_get},
    {"POST", "/analyze", page_analyze_post},
    {"GET", "/static/style.css", serve_static},
    {"GET", "/static/app.js", serve_static},
    {"GET", "/static/favicon.svg", serve_static},
    {"GET", "/docs/METRICS.md", serve_static}, /* cited by the analysis report */
    {"GET", "/docs/SECURITY.md", serve_static},
    {"GET", "/healthz", serve_healthz},
    {"GET", "/api/v1/openapi.json", serve_openapi},
    {"POST", "/api/v1/keygen", api_keygen},
    {"POST", "/api/v1/encrypt", api_encrypt},
    {"POST", "/api/v1/decrypt", api_decrypt},
    {"POST", "/api/v1/analyze", api_analyze},
    {NULL, NULL, NULL},
};

/* Requests between their headers and their completion: what a stop
 * waits for (web_serve); while it waits, every response closes its
 * connection, so that a proxy's idle keep-alive connections do not bring
 * this instance new requests. */
static atomic_int in_flight;
static atomic_bool stopping;

/* The computing workers (--threads): a POST's handler runs there, its
 * connection suspended meanwhile, so that libmicrohttpd's threads never
 * compute. A health check, a page or an upload is then answered at once
 * however long the analyses in hand take, and a request waiting for the
 * memory budget blocks no connection but its own. Bodies are read while
 * the workers compute: the uploads in memory are bounded by
 * --max-connections x --max-upload, not by the workers (docs/DEPLOY.md).
 * (Holding bodies unread while the workers were behind was tried and
 * dropped: a few connections that send their headers and then nothing
 * would hold every upload back for --timeout, a denial of service far
 * cheaper than the memory it saves, and slow bodies took turns to be cut.)
 */
struct fifo {
    struct req *head, *tail;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct fifo jobs;    /* bodies in, waiting for a worker */
    unsigned unanswered; /* handed over and not yet given back */
    bool closed;         /* the daemon is stopping: nothing is taken */
    pthread_t *threads;
    unsigned n_threads;
} work = {.lock = PTHREAD_MUTEX_INITIALIZER, .ready = PTHREAD_COND_INITIALIZER};

/* Sent with every response (docs/API.md, "Security headers"). */
static const char *const security_headers[][2] = {
    {"Cache-Control", "no-store"},
    {"Content-Security-Policy",
     "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
     "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
};

/* ------------------------------------------------------------------ */
/* Fields                                                              */

const struct field *req_field(const struct req *r, const char *name)
{
    for (int i = 0; i < r->n_fields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return &r->fields[i];
    return NULL;
}

static bool req_field_repeated(const struct req *r, const char *name)
{
    int n = 0;

    for (int i = 0; i < r->n_fields; i++)
        n += strcmp(r->fields[i].name, name) == 0;
    return n > 1;
}

/* The fields the handlers read (api.c, pages.c, analyze.c), and which of
 * them are text. One sent twice was taken at its first value, silently:
 * two images, two keys, two patients' numbers; a text field holding a
 * NUL byte was read up to it ("key=MCK1-...%00anything" took the key).
 * Both are refused, 400, before any handler runs (found in review). An
 * empty copy before the one with a value ("aadhaar=&aadhaar=2345...")
 * reads as one field: libmicrohttpd may call on_post_data with no data at
 * offset 0 before a field's value, and the two cannot be told apart;
 * there is one value then, and nothing to choose between. */
static const char *const form_fields[] = {"image", "cipher", "keyfile", "name",
                                          "key", "aadhaar", "dob"};
#define FORM_FIRST_TEXT 3

static bool form_problem(const struct req *r, char *msg, size_t size)
{
    for (size_t i = 0; i < sizeof form_fields / sizeof form_fields[0]; i++) {
        const struct field *f = req_field(r, form_fields[i]);

        if (f == NULL)
            continue;
        if (req_field_repeated(r, form_fields[i])) {
            snprintf(msg, size, "the field '%s' was sent more than once: send it once",
                     form_fields[i]);
            return true;
        }
        if (i >= FORM_FIRST_TEXT && memchr(f->data.p, '\0', f->data.len) != NULL) {
            snprintf(msg, size, "the field '%s' holds a NUL byte: not text", form_fields[i]);
            return true;
        }
    }
    return false;
}

enum req_file req_file_state(const struct field *f)
{
    if (f != NULL && f->data.len > 0)
        return REQ_FILE_OK;
    if (f == NULL || f->filename == NULL || f->filename[0] == '\0')
        return REQ_FILE_NONE;
    return REQ_FILE_EMPTY;
}

const char *req_text(struct req *r, const char *name)
{
    struct field *f = (struct field *)req_field(r, name);
    char *s, *e;

    if (f == NULL || f->data.p == NULL)
        return NULL;
    s = f->data.p;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return *s != '\0' ? s : NULL;
}

static enum MHD_Result on_post_data(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *filename, const char *content_type,
                                    const char *transfer_encoding, const char *data,
                                    uint64_t off, size_t size)
{
    struct req *r = cls;
    struct field *f = r->current;

    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    if (key == NULL || strlen(key) >= REQ_FIELD_NAME) {
        r->bad_form = true;
        return MHD_NO;
    }
    /* A new field starts at offset 0 (a repeated empty call for the same
     * field is not a new one). */
    if (f == NULL || strcmp(f->name, key) != 0 || (off == 0 && f->data.len > 0)) {
        if (r->n_fields == REQ_MAX_FIELDS) {
            r->bad_form = true;
            return MHD_NO;
        }
        f = &r->fields[r->n_fields++];
        memset(f, 0, sizeof *f);
        strcpy(f->name, key);
        if (filename != NULL && (f->filename = strdup(filename)) == NULL) {
            r->bad_form = r->form_oom = true;
            return MHD_NO;
        }
        buf_put(&f->data, "", 0); /* present, even if empty */
        r->current = f;
    }
    if (off != f->data.len) {
        r->bad_form = true;
        return MHD_NO;
    }
    buf_put(&f->data, data, size);
    if (f->data.oom) {
        r->bad_form = r->form_oom = true;
        return MHD_NO;
    }
    return MHD_YES;
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */

static void reply_reset(struct req *r)
{
    buf_wipe(&r->body);
    r->static_body = NULL;
    r->static_len = 0;
    r->disposition[0] = '\0';
    r->not_kept[0] = '\0';
    r->added[0] = '\0';
}

void reply_buf(struct req *r, int status, const char *content_type, struct buf *body)
{
    struct buf b = *body;

    memset(body, 0, sizeof *body);
    if (b.oom) {
        buf_wipe(&b);
        reply_error(r, 503, "out of memory");
        return;
    }
    reply_reset(r);
    r->status = status;
    r->content_type = content_type;
    r->body = b;
}

void reply_asset(struct req *r, int status, const struct web_asset *a)
{
    reply_reset(r);
    r->status = status;
    r->content_type = a->content_type;
    r->static_body = a->data;
    r->static_len = a->len;
}

void reply_json_error(struct req *r, int status, const char *message)
{
    struct buf b = {0};

    buf_puts(&b, "{\"error\":");
    buf_json(&b, message);
    buf_puts(&b, "}\n");
    reply_reset(r);
    r->status = status;
    r->content_type = "application/json";
    if (b.oom) { /* the last resort: a fixed body */
        buf_wipe(&b);
        r->status = 503;
        r->static_body = (const unsigned char *)"{\"error\":\"out of memory\"}\n";
        r->static_len = strlen((const char *)r->static_body);
        return;
    }
    r->body = b;
}

void reply_page(struct req *r, int status, const char *title, const char *nav,
                const struct buf *content)
{
    struct buf b = {0};
    const char *vars[] = {"title", title,
                          "content", content->p != NULL ? content->p : "",
                          "nav_home", strcmp(nav, "home") == 0 ? "aria-current=\"page\"" : "",
                          "nav_encrypt", strcmp(nav, "encrypt") == 0 ? "aria-current=\"page\"" : "",
                          "nav_decrypt", strcmp(nav, "decrypt") == 0 ? "aria-current=\"page\"" : "",
                          "nav_analyze", strcmp(nav, "analyze") == 0 ? "aria-current=\"page\"" : "",
                          "version", MC_VERSION_STRING,
                          NULL};

    if (content->oom) {
        reply_error(r, 503, "out of memory");
        return;
    }
    buf_template(&b, "pages/layout.html", vars);
    reply_buf(r, status, "text/html; charset=utf-8", &b);
}

/* The API's paths, whose errors are JSON (docs/API.md "Errors"): /api/...
 * and /healthz, which the API's table and web/openapi.json describe. */
static bool is_api_path(const char *path)
{
    return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/healthz") == 0;
}

/* The page a browser gets when even an error page cannot be made: fixed,
 * nothing allocated. */
static const char OOM_PAGE[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>Server busy \xc2\xb7 medcrypt</title></head><body><main><h1>Server busy</h1>"
    "<p role=\"alert\">The server is out of memory. Nothing was kept. Try again in a "
    "moment.</p><p><a href=\"/\">Back to the home page</a></p></main></body></html>\n";

/* The form a page route belongs to, for the way back: "encrypt" for
 * /encrypt, or NULL. */
static const char *form_of(const char *path)
{
    static const char *const forms[] = {"encrypt", "decrypt", "analyze"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (path[0] == '/' && strcmp(path + 1, forms[i]) == 0)
            return forms[i];
    return NULL;
}

void reply_error(struct req *r, int status, const char *message)
{
    struct buf content = {0};
    const char *title, *form = form_of(r->path);
    char text[300];

    if (is_api_path(r->path)) {
        reply_json_error(r, status, message);
        return;
    }
    if (status == 503) { /* out of memory: no page to build */
        reply_reset(r);
        r->status = status;
        r->content_type = "text/html; charset=utf-8";
        r->static_body = (const unsigned char *)OOM_PAGE;
        r->static_len = sizeof OOM_PAGE - 1;
        return;
    }
    switch (status) {
    case 404: title = "Not found"; break;
    case 405: title = "Method not allowed"; break;
    case 413: title = "Upload too large"; break;
    case 415: title = "Unsupported"; break;
    case 501: title = "Not implemented"; break;
    default: title = status >= 500 ? "Server error" : "Bad request"; break;
    }
    /* As the forms say theirs: a capital and a full stop. */
    snprintf(text, sizeof text, "%s.", message);
    text[0] = (char)toupper((unsigned char)text[0]);
    buf_puts(&content, "<h1>");
    buf_html(&content, title);
    buf_puts(&content, "</h1>\n<p class=\"error\" role=\"alert\">");
    buf_html(&content, text);
    buf_puts(&content, "</p>\n");
    if (status == 413) {
        char max_size[32];
        web_human_size(max_size, sizeof max_size, r->cfg->max_upload);
        buf_printf(&content, "<p>This server accepts uploads of up to %s. Choose a "
                             "smaller file, or ask the administrator to raise the limit "
                             "(<code>--max-upload</code>).</p>\n",
                   max_size);
    }
    if (form != NULL)
        buf_printf(&content, "<p><a href=\"/%s\">Back to the %s page</a></p>\n", form,
                   strcmp(form, "analyze") == 0 ? "analysis" : form);
    else
        buf_puts(&content, "<p><a href=\"/\">Back to the home page</a></p>\n");
    reply_page(r, status, title, form != NULL ? form : "", &content);
    buf_wipe(&content);
}

static enum MHD_Result queue(struct req *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    const void *data = r->static_body != NULL ? (const void *)r->static_body : r->body.p;
    size_t len = r->static_body != NULL ? r->static_len : r->body.len;

    /* The body stays owned by r (wiped in on_completed, after sending). */
    resp = MHD_create_response_from_buffer(len, (void *)(data != NULL ? data : ""),
                                           MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
        MHD_add_response_header(resp, security_headers[i][0], security_headers[i][1]);
    if (r->content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    if (r->disposition[0] != '\0')
        MHD_add_response_header(resp, "Content-Disposition", r->disposition);
    if (r->not_kept[0] != '\0')
        MHD_add_response_header(resp, "X-Medcrypt-Not-Kept", r->not_kept);
    if (r->added[0] != '\0')
        MHD_add_response_header(resp, "X-Medcrypt-Added-Chunks", r->added);
    if (r->allow[0] != '\0')
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    /* Every 503 here is for a moment (the budget, the uploads' share,
     * memory): when to try again, in the header clients and libraries
     * read for it (RFC 9110, 10.2.3), not only in the message's words. */
    if (r->status == 503)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "5");
    if (atomic_load(&stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->queued = true;
    r->sent = len;
    return ret;
}

/* ------------------------------------------------------------------ */
/* Routing and the access handler                                      */

static bool method_matches(const char *want, const char *got)
{
    return strcmp(want, got) == 0 || (strcmp(want, "GET") == 0 && strcmp(got, "HEAD") == 0);
}

/* The route, or NULL with 404 or 405 (and Allow) already set. */
static const struct route *route_find(struct req *r)
{
    bool path_known = false;

    for (const struct route *rt = routes; rt->path != NULL; rt++) {
        if (strcmp(rt->path, r->path) != 0)
            continue;
        if (method_matches(rt->method, r->method)) {
            r->allow[0] = '\0'; /* a GET route of this path before: no 405 */
            return rt;
        }
        if (path_known)
            strcat(r->allow, ", ");
        strcat(r->allow, rt->method);
        if (strcmp(rt->method, "GET") == 0)
            strcat(r->allow, ", HEAD");
        path_known = true;
    }
    if (path_known) {
        reply_error(r, 405, "method not allowed");
    } else {
        r->allow[0] = '\0';
        reply_error(r, 404, "not found");
    }
    return NULL;
}

/* Copies the path for routing and the log: printable ASCII only, so a
 * log line cannot be forged or broken. */
static void copy_path(char *out, size_t size, const char *url)
{
    size_t i = 0;

    for (; url[i] != '\0' && i + 1 < size; i++) {
        unsigned char c = (unsigned char)url[i];
        out[i] = c > 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[i] = '\0';
}

/* The path of a request target: "http://host:port/path" (absolute-form)
 * gives "/path". RFC 9112 §3.2.2: "A server MUST accept the absolute-form
 * in requests even though most HTTP/1.1 clients will only send the
 * absolute-form to a proxy"; libmicrohttpd passes it on as it came (it
 * was answered 404). The scheme is case-insensitive (RFC 3986 §3.1), an
 * empty path is "/" (RFC 9110 §4.2.3). */
static const char *origin_path(const char *url)
{
    size_t scheme = strncasecmp(url, "http://", 7) == 0    ? 7
                    : strncasecmp(url, "https://", 8) == 0 ? 8
                                                           : 0;
    const char *slash;

    if (scheme == 0)
        return url;
    slash = strchr(url + scheme, '/');
    return slash != NULL ? slash : "/";
}

/* Marks the start (headers complete) or the end of a request. */
static void watch_mark(struct MHD_Connection *conn, bool in_request)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_watch *w = ci != NULL ? ci->socket_context : NULL;

    if (w == NULL)
        return;
    pthread_mutex_lock(&w->wl->lock);
    w->in_request = in_request;
    if (!in_request)
        clock_gettime(CLOCK_MONOTONIC, &w->since);
    pthread_mutex_unlock(&w->wl->lock);
}

/* Why this thread's last request handler closed its connection (returned
 * MHD_NO), for on_mhd_log: libmicrohttpd logs it, in the same thread, as
 * "Application reported internal error", which read as a bug of the
 * server for what is a client's slow or oversized body (a review). */
static _Thread_local const char *closing_why;

static enum MHD_Result close_because(const char *why)
{
    closing_why = why;
    return MHD_NO;
}

static bool body_too_slow(const struct req *r, size_t n, unsigned timeout)
{
    struct timespec now;
    long s;

    clock_gettime(CLOCK_MONOTONIC, &now);
    s = (long)(now.tv_sec - r->start.tv_sec);
    return s > (long)timeout && r->received + n < (size_t)s * BODY_MIN_RATE;
}


/* ------------------------------------------------------------------ */
/* The memory budget                                                   */

/* What the images of the requests being handled may take at once
 * (--max-memory): a small upload can declare a large image (a 130 KB PNG
 * of 8192 x 8192 16-bit samples costs 1 GB in an analysis), so the
 * pixel cap alone does not bound an instance's memory. Each request
 * reserves its image's sample bytes times its route's multiple
 * (http.h) before anything is allocated for it (mc_ctx_set_admit), waits
 * for others to finish while the budget is short, for at most --timeout
 * seconds (then 503), and gives it back when its handler returns; an
 * image that alone exceeds the budget is refused at once (413). Only a
 * computing worker waits here, its connection suspended: the requests
 * holding the budget are in other workers' handlers, which release it
 * when they return. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    uint64_t used;
    uint64_t uploads;     /* held by request bodies (upload_admit) */
    struct req *holders;  /* the requests holding some of it */
    bool refused;         /* an upload refused since the last sweep */
} mem = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL, false};

/* Request bodies are held whole in memory until their handler has run,
 * and the images' budget does not count them: --max-connections uploads
 * of --max-upload bytes each (256 of 40 MiB: 10 GiB) had no cap at all
 * (a review: 64 uploads of 32 MiB took an instance to 2.4 GB, where its
 * unit's MemoryMax=2G would have killed it with every request in
 * flight). The bodies in flight may hold a sixth of --max-memory besides
 * (with the default budget, three quarters of the cgroup's limit for the
 * images, an eighth for the bodies, an eighth for the responses being
 * sent and the program), counted by their declared length (--max-upload
 * for a chunked one, nothing for a request without a body); one more is
 * refused, 503, but never the only one (a --max-upload over the sixth
 * goes through, alone). No wait: a connection thread serves many
 * connections. */
uint64_t web_upload_share(const struct web_config *cfg)
{
    return cfg->max_memory / 6;
}

/* fd: the connection's socket, for holders_sweep. */
static bool upload_admit(struct req *r, uint64_t bytes, int fd)
{
    uint64_t share = web_upload_share(r->cfg);
    bool ok;

    if (r->cfg->max_memory == 0 || bytes == 0)
        return true; /* no budget (--max-memory 0), or no body */
    pthread_mutex_lock(&mem.lock);
    ok = mem.uploads == 0 || (bytes <= share && mem.uploads + bytes <= share);
    if (ok) {
        mem.uploads += bytes;
        r->upload_reserved = bytes;
        r->fd = fd;
        r->holder_prev = NULL;
        r->holder_next = mem.holders;
        if (mem.holders != NULL)
            mem.holders->holder_prev = r;
        mem.holders = r;
    } else {
        mem.refused = true;
    }
    pthread_mutex_unlock(&mem.lock);
    return ok;
}

/* Before libmicrohttpd closes the socket (on_completed): once unlinked,
 * the sweep can never shut down a reused descriptor. */
static void upload_release(struct req *r)
{
    if (r->upload_reserved == 0)
        return;
    pthread_mutex_lock(&mem.lock);
    mem.uploads -= r->upload_reserved;
    r->upload_reserved = 0;
    if (r->holder_prev != NULL)
        r->holder_prev->holder_next = r->holder_next;
    else
        mem.holders = r->holder_next;
    if (r->holder_next != NULL)
        r->holder_next->holder_prev = r->holder_prev;
    pthread_mutex_unlock(&mem.lock);
}

/* Once a second (web_serve), where an upload was refused since the last
 * sweep: the holders of the share whose bodies average under
 * HOLDER_MIN_RATE after --timeout are cut, and their share comes back
 * when libmicrohttpd completes them. Without it a dozen bodies declared
 * at 40 MiB and sent at the 1 KiB/s that BODY_MIN_RATE allows held the
 * share for hours, every other upload refused (a review). */
static void holders_sweep(unsigned timeout)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&mem.lock);
    if (mem.refused) {
        mem.refused = false;
        for (struct req *h = mem.holders; h != NULL; h = h->holder_next) {
            long s = (long)(now.tv_sec - h->start.tv_sec);
            uint64_t seen = atomic_load_explicit(&h->body_seen, memory_order_relaxed);
            if (h->holder_cut || s <= (long)timeout || seen >= (uint64_t)s * HOLDER_MIN_RATE)
                continue;
            shutdown(h->fd, SHUT_RDWR);
            h->holder_cut = true;
            fprintf(stderr, "medcrypt: http: an upload at %llu bytes/s, under %d, cut: other "
                            "uploads were refused for want of room\n",
                    (unsigned long long)(seen / (uint64_t)s), HOLDER_MIN_RATE);
        }
    }
    pthread_mutex_unlock(&mem.lock);
}

int web_admit(void *user, uint64_t sample_bytes)
{
    struct req *r = user;
    uint64_t budget = r->cfg->max_memory, cost, need;
    struct timespec deadline;
    int rc = 0;

    if (budget == 0)
        return 0;
    cost = r->mem_factor != 0 && sample_bytes <= UINT64_MAX / r->mem_factor
               ? sample_bytes * r->mem_factor
               : UINT64_MAX;
    if (cost <= r->reserved)
        return 0; /* a second image of the request (a preview): within its share */
    if (cost > budget) {
        r->mem_refused = MEM_NEVER;
        return 1;
    }
    need = cost - r->reserved;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)r->cfg->timeout;
    pthread_mutex_lock(&mem.lock);
    while (mem.used + need > budget && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&mem.freed, &mem.lock, &deadline);
    if (mem.used + need <= budget) {
        mem.used += need;
        r->reserved += need;
        rc = 0;
    } else {
        r->mem_refused = MEM_BUSY;
        rc = 1;
    }
    pthread_mutex_unlock(&mem.lock);
    return rc;
}

void web_release(struct req *r)
{
    if (r->reserved == 0)
        return;
    pthread_mutex_lock(&mem.lock);
    mem.used -= r->reserved;
    r->reserved = 0;
    pthread_cond_broadcast(&mem.freed);
    pthread_mutex_unlock(&mem.lock);
}

/* The memory.max of this process's cgroup (v2), or 0 when it has none
 * ("max") or it cannot be read: /proc/self/cgroup gives the group
 * ("0::/system.slice/medcrypt@8081.service"), under /sys/fs/cgroup. */
static uint64_t cgroup_memory_max(void)
{
    char line[512], path[640];
    unsigned long long limit = 0;
    FILE *f = fopen("/proc/self/cgroup", "r");
    bool found = false;

    if (f != NULL) {
        while (!found && fgets(line, sizeof line, f) != NULL)
            if (strncmp(line, "0::", 3) == 0) {
                line[strcspn(line, "\n")] = '\0';
                snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max",
                         strcmp(line + 3, "/") == 0 ? "" : line + 3);
                found = true;
            }
        fclose(f);
    }
    if (!found || (f = fopen(path, "r")) == NULL)
        return 0;
    if (fscanf(f, "%llu", &limit) != 1) /* "max" */
        limit = 0;
    fclose(f);
    return limit;
}

uint64_t web_default_memory(const char **source)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t ram = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    uint64_t limit = cgroup_memory_max();

    /* three quarters of the unit's MemoryMax= (of the rest, a sixth of
     * the budget for the request bodies in flight, upload_admit, and an
     * eighth of the limit for the responses being sent and the program),
     * else half the machine */
    if (limit > 0 && (ram == 0 || limit < ram)) {
        *source = "3/4 of the cgroup's memory limit";
        return limit / 4 * 3;
    }
    *source = "half this machine's memory";
    return ram / 2;
}

/* ------------------------------------------------------------------ */
/* The computing workers                                               */

static void fifo_push(struct fifo *q, struct req *r)
{
    r->next = NULL;
    if (q->tail != NULL)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
}

static struct req *fifo_pop(struct fifo *q)
{
    struct req *r = q->head;

    if (r != NULL) {
        if ((q->head = r->next) == NULL)
            q->tail = NULL;
    }
    return r;
}

/* Queues r, whose body is in, for a worker and suspends its connection;
 * false once the daemon is stopping, or without workers (a daemon that
 * web_serve did not start: the handler then runs here). */
static bool hand_over(struct req *r)
{
    bool taken;

    pthread_mutex_lock(&work.lock);
    taken = !work.closed && work.n_threads > 0; /* none (fuzz_multipart): run here */
    if (taken) {
        r->job = JOB_WAITING;
        fifo_push(&work.jobs, r);
        work.unanswered++;
        MHD_suspend_connection(r->conn);
        pthread_cond_signal(&work.ready);
    }
    pthread_mutex_unlock(&work.lock);
    return taken;
}

static bool job_done(struct req *r)
{
    bool done;

    pthread_mutex_lock(&work.lock);
    done = r->job == JOB_DONE;
    pthread_mutex_unlock(&work.lock);
    return done;
}

/* A worker: takes the oldest request, runs its handler, gives its memory
 * budget back, and resumes its connection, whose libmicrohttpd thread then
 * calls on_request again, which queues the response. A request is never
 * touched once resumed: it may complete and be freed at any moment. */
static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&work.lock);
    for (;;) {
        struct req *r;

        while (work.jobs.head == NULL && !work.closed)
            pthread_cond_wait(&work.ready, &work.lock);
        if ((r = fifo_pop(&work.jobs)) == NULL)
            break;
        pthread_mutex_unlock(&work.lock);
        r->route->handler(r);
        web_release(r);
        pthread_mutex_lock(&work.lock);
        r->job = JOB_DONE;
        pthread_mutex_unlock(&work.lock);
        MHD_resume_connection(r->conn);
        pthread_mutex_lock(&work.lock);
        work.unanswered--;
    }
    pthread_mutex_unlock(&work.lock);
    return NULL;
}

static bool workers_start(unsigned n)
{
    if ((work.threads = calloc(n, sizeof *work.threads)) == NULL)
        return false;
    pthread_mutex_lock(&work.lock);
    for (; work.n_threads < n; work.n_threads++)
        if (pthread_create(&work.threads[work.n_threads], NULL, worker_main, NULL) != 0)
            break;
    pthread_mutex_unlock(&work.lock);
    return work.n_threads == n;
}

/* Closes the queue: true if no request is left with a worker (no
 * connection is suspended then, and libmicrohttpd may stop). */
static bool workers_close(void)
{
    bool idle;

    pthread_mutex_lock(&work.lock);
    work.closed = true;
    idle = work.unanswered == 0;
    pthread_cond_broadcast(&work.ready);
    pthread_mutex_unlock(&work.lock);
    return idle;
}

static void workers_join(void)
{
    for (unsigned i = 0; i < work.n_threads; i++)
        pthread_join(work.threads[i], NULL);
    free(work.threads);
    work.threads = NULL;
    work.n_threads = 0;
}

/* Counts a request's header fields named one of names[] (NULL-ended). */
struct named_fields {
    const char *names[3];
    unsigned n;
};

static enum MHD_Result count_named(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct named_fields *f = cls;

    (void)kind;
    (void)value;
    for (const char *const *name = f->names; *name != NULL; name++)
        if (strcasecmp(key, *name) == 0) {
            f->n++;
            break;
        }
    return MHD_YES;
}

/* The header fields of a request named a or b (b may be NULL). */
static unsigned fields_named(struct MHD_Connection *conn, const char *a, const char *b)
{
    struct named_fields f = {{a, b, NULL}, 0};

    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_named, &f);
    return f.n;
}

/* 0 where the request's Transfer-Encoding (if any) is what libmicrohttpd
 * decodes, "chunked" alone; else the status to answer: 400 where chunked
 * is not the last coding (the body's length is unknown), 501 where it is
 * and another comes before it ("gzip, chunked"). */
static unsigned transfer_coding_problem(struct MHD_Connection *conn)
{
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *last;
    bool chunked_last;
    size_t n;

    if (te == NULL || strcasecmp(te, "chunked") == 0)
        return 0;
    last = strrchr(te, ',');
    last = last != NULL ? last + 1 : te;
    last += strspn(last, " \t");
    n = strcspn(last, " \t;"); /* "chunked;x": a parameter chunked has not */
    chunked_last = n == 7 && strncasecmp(last, "chunked", 7) == 0 &&
                   last[n + strspn(last + n, " \t")] == '\0';
    return chunked_last ? 501 : 400;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    const struct web_config *cfg = cls;
    struct req *r = *req_cls;
    char problem[96];

    if (r == NULL) {
        const char *cl;
        unsigned te;

        if ((r = calloc(1, sizeof *r)) == NULL)
            return MHD_NO;
        *req_cls = r;
        atomic_fetch_add(&in_flight, 1);
        watch_mark(conn, true);
        r->conn = conn;
        r->cfg = cfg;
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        copy_path(r->method, sizeof r->method, method);
        copy_path(r->path, sizeof r->path, origin_path(url));
        /* RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request)
         * status code to any HTTP/1.1 request message that lacks a Host
         * header field". Answered here, with this server's headers
         * (libmicrohttpd's strict mode would answer it with none). */
        if (version != NULL && strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST) == NULL) {
            reply_error(r, 400, "an HTTP/1.1 request needs a Host header (RFC 9112, 3.2)");
            return queue(r);
        }
        /* The same section: "... or which contains more than one Host
         * header field line" (found in review: answered 200; a proxy
         * may route on one and a server on the other). */
        if (fields_named(conn, MHD_HTTP_HEADER_HOST, NULL) > 1) {
            reply_error(r, 400, "a request has one Host header (RFC 9112, 3.2)");
            return queue(r);
        }
        /* RFC 9112, 6.3: differing Content-Length fields are an error, and
         * one with Transfer-Encoding may be a smuggling attempt; a proxy
         * that took the other length would see a second request in this
         * body (libmicrohttpd takes the first: a security audit). */
        if (fields_named(conn, MHD_HTTP_HEADER_CONTENT_LENGTH,
                         MHD_HTTP_HEADER_TRANSFER_ENCODING) > 1) {
            reply_error(r, 400, "a request needs one Content-Length, or Transfer-Encoding "
                                "alone (RFC 9112, 6.3)");
            return queue(r);
        }
        /* libmicrohttpd 0.9.75 decodes "chunked" alone; a body under any
         * other coding it reads to the connection's end, and the request
         * waited --timeout for nothing. RFC 9112, 6.3: chunked not last,
         * "the server MUST respond with the 400 (Bad Request) status
         * code and then close the connection"; 6.1: a coding not
         * understood, 501 (Not Implemented). */
        if ((te = transfer_coding_problem(conn)) != 0) {
            reply_error(r, te, te == 400 ? "the last transfer coding of a request body must be "
                                           "chunked (RFC 9112, 6.3)"
                                         : "transfer coding not implemented: send the body "
                                           "with Content-Length or chunked alone");
            return queue(r);
        }
        if ((r->route = route_find(r)) == NULL)
            return queue(r);
        if (strcmp(r->route->method, "POST") != 0)
            return MHD_YES;
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > cfg->max_upload) {
            unsigned long long over = strtoull(cl, NULL, 10) - cfg->max_upload;
            if (over > UPLOAD_SLACK) {
                /* Refused before reading the body (no 100 Continue is
                 * sent); the connection closes with the body unread. */
                reply_error(r, 413, "upload too large");
                return queue(r);
            }
            /* A little over the cap: drained, then answered 413 at its
             * end. Closing a socket with unread bytes makes the kernel
             * send a reset, and a client still sending (a browser, curl)
             * then often loses the 413 it was sent. */
            r->too_big = true;
            return MHD_YES;
        }
        {
            const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
            uint64_t declared = 0; /* neither header: no body (RFC 9112, 6.3) */

            if (cl != NULL)
                declared = strtoull(cl, NULL, 10);
            else if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL)
                declared = cfg->max_upload; /* chunked: it may reach the cap */
            if (!upload_admit(r, declared, ci != NULL ? ci->connect_fd : -1)) {
                /* A small body is drained for the 503 at its end, as the
                 * 413's is: answered at once, the connection closed with
                 * the body unread, and the reset lost the answer (a proxy
                 * then said 502: a review); a larger one is not read. */
                if (declared <= UPLOAD_SLACK) {
                    r->upload_busy = true;
                    return MHD_YES;
                }
                reply_error(r, 503, UPLOADS_BUSY);
                return queue(r);
            }
        }
        r->pp = MHD_create_post_processor(conn, 64 * 1024, on_post_data, r);
        if (r->pp == NULL) {
            reply_error(r, 415, "expected a form: multipart/form-data or "
                                "application/x-www-form-urlencoded");
            return queue(r);
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0; /* consumed, or drained */
        if (body_too_slow(r, n, cfg->timeout))
            return close_because("a request body slower than 1 KiB/s after --timeout");
        if (r->upload_busy) { /* drained, not stored, for its 503 */
            r->received += n;
            return r->received > UPLOAD_SLACK
                       ? close_because("a request body refused for want of room, not drained "
                                       "further")
                       : MHD_YES;
        }
        if (r->too_big || n > cfg->max_upload - r->received) {
            /* Over the cap: a body without Content-Length (chunked), or
             * one declared at most UPLOAD_SLACK over it. It is drained
             * for a 413 at its end, but at most UPLOAD_SLACK bytes past
             * the cap; then the connection is
             * closed, as libmicrohttpd 0.9.75 takes no response in the
             * middle of a body (tests/load: a 1 GiB chunked upload). */
            r->too_big = true;
            r->received += n;
            return r->received > cfg->max_upload && r->received - cfg->max_upload > UPLOAD_SLACK
                       ? close_because("a request body over --max-upload, not drained further")
                       : MHD_YES;
        }
        r->received += n;
        atomic_store_explicit(&r->body_seen, r->received, memory_order_relaxed);
        if (r->queued || r->bad_form || r->pp == NULL)
            return MHD_YES;
        if (MHD_post_process(r->pp, upload_data, n) != MHD_YES)
            r->bad_form = true;
        return MHD_YES;
    }
    if (r->queued)
        return MHD_YES;
    if (r->job != JOB_NONE)
        return job_done(r) ? queue(r) : MHD_YES; /* resumed: the worker has answered */
    if (r->pp != NULL) {
        if (!r->too_big && !r->bad_form && MHD_destroy_post_processor(r->pp) != MHD_YES)
            r->bad_form = true;
        else if (r->too_big || r->bad_form)
            MHD_destroy_post_processor(r->pp);
        r->pp = NULL;
    }
    if (r->too_big)
        reply_error(r, 413, "upload too large");
    else if (r->upload_busy)
        reply_error(r, 503, UPLOADS_BUSY);
    else if (r->form_oom) /* not the client's fault: "malformed" misled */
        reply_error(r, 503, "out of memory");
    else if (r->bad_form)
        reply_error(r, 400, "malformed form data");
    else if (form_problem(r, problem, sizeof problem))
        reply_error(r, 400, problem);
    else if (strcmp(r->route->method, "POST") == 0 && hand_over(r))
        return MHD_YES; /* suspended until a worker has answered */
    else
        r->route->handler(r);
    web_release(r); /* its images are freed: the response is all it holds */
    return queue(r);
}

static bool known_path(const char *path)
{
    for (const struct route *rt = routes; rt->path != NULL; rt++)
        if (strcmp(rt->path, path) == 0)
            return true;
    return false;
}

/* The digits, and from the first path segment that holds a digit on,
 * the letters too: a key text typed into a path ("/decrypt/MCK1-...")
 * kept about 40 of its 56 characters with its digits alone masked, and
 * one typed with '/' between its groups ("/decrypt/MCK1/ABCDEFGH/...")
 * kept the groups without a digit (found in review). */
static void mask_digits(char *s)
{
    bool digit = false;

    while (*s != '\0') {
        size_t n = strcspn(s, "/");

        digit = digit || strcspn(s, "0123456789") < n; /* this segment or one before */

        for (size_t i = 0; digit && i < n; i++)
            if ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
                (s[i] >= 'A' && s[i] <= 'Z'))
                s[i] = '#';
        s += n;
        if (*s == '/')
            s++;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode code)
{
    struct req *r = *req_cls;
    struct timespec now;
    long ms;

    (void)cls;
    if (r == NULL)
        return;
    *req_cls = NULL;
    watch_mark(conn, false);
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (long)(now.tv_sec - r->start.tv_sec) * 1000 +
         (long)(now.tv_nsec - r->start.tv_nsec) / 1000000;
    /* A request no route took (404, 405, 400 before routing) may carry
     * anything a client typed, an Aadhaar number or a date of birth, in
     * its path or even its method: their digits are not logged. */
    if (r->route == NULL) {
        if (!known_path(r->path))
            mask_digits(r->path);
        mask_digits(r->method);
    }
    /* The access log: method, path, status, bytes, milliseconds. Never a
     * query string, a header or a body. "- 0": no response reached the
     * client (it went away, or the connection was cut: a slow body, a
     * stop), whatever was computed for it. */
    if (r->queued && code == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        fprintf(stderr, "%s %s %d %zu %ld\n", r->method, r->path, r->status, r->sent, ms);
    else
        fprintf(stderr, "%s %s - 0 %ld\n", r->method, r->path, ms);
    web_release(r); /* nothing held after its handler; never twice */
    upload_release(r);
    atomic_fetch_sub(&in_flight, 1);
    if (r->pp != NULL)
        MHD_destroy_post_processor(r->pp);
    for (int i = 0; i < r->n_fields; i++) {
        buf_wipe(&r->fields[i].data);
        if (r->fields[i].filename != NULL) /* "Ramesh_Kumar_CT.dcm" */
            sodium_memzero(r->fields[i].filename, strlen(r->fields[i].filename));
        free(r->fields[i].filename);
    }
    buf_wipe(&r->body);
    sodium_memzero(r, sizeof *r);
    free(r);
    /* libmicrohttpd parsed the body on this thread: fragments of it
     * stayed in its stack below here, in frames it had left (a review
     * found an uploaded key file's text there after one request in
     * five). As much as the library clears (MC__STACK_WIPE: 64 KiB in
     * an unoptimised build, where this file's frames grow too; it was
     * 32 KiB here whatever the build). */
    mc__stack_wipe();
}

/* ------------------------------------------------------------------ */
/* The daemon                                                          */

/* libmicrohttpd's own messages, three of them in an operator's words
 * (from an operator's audit): its bind error names port 0 (it is given a
 * socket address; web_serve says which address failed), its refusal at
 * --per-ip reads as the global limit, and a refused request's message
 * embeds the whole HTML page it answered. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    /* connection_close_error's message comes as "%s\n" and the words */
    if (strcmp(fmt, "%s\n") == 0) {
        va_list copy;
        const char *msg;

        va_copy(copy, ap);
        msg = va_arg(copy, const char *);
        va_end(copy);
        if (msg != NULL && strncmp(msg, "Application reported internal error", 35) == 0) {
            fprintf(stderr, "medcrypt: http: %s: its connection closed\n",
                    closing_why != NULL ? closing_why : "a request not handled (out of memory)");
            closing_why = NULL;
            return;
        }
    }
    if (strncmp(fmt, "Failed to bind to port", 22) == 0)
        return;
    if (strstr(fmt, "reached connection limit") != NULL) {
        fputs("medcrypt: http: a connection refused: --max-connections or --per-ip reached\n",
              stderr);
        return;
    }
    if (strstr(fmt, "HTTP response code is %u") != NULL) {
        unsigned code = va_arg(ap, unsigned);
        fprintf(stderr, "medcrypt: http: a malformed or oversized request answered %u, its "
                        "connection closed\n", code);
        return;
    }
    fputs("medcrypt: http: ", stderr);
    vfprintf(stderr, fmt, ap);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct watchlist *wl = cls;
    struct conn_watch *w = *socket_context;
    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci == NULL || (w = calloc(1, sizeof *w)) == NULL)
            return; /* unwatched: the idle timeout still applies */
        w->wl = wl;
        w->fd = ci->connect_fd;
        clock_gettime(CLOCK_MONOTONIC, &w->since);
        pthread_mutex_lock(&wl->lock);
        w->next = wl->head;
        if (wl->head != NULL)
            wl->head->prev = w;
        wl->head = w;
        pthread_mutex_unlock(&wl->lock);
        *socket_context = w;
        return;
    }
    if (w == NULL)
        return;
    /* Called before libmicrohttpd closes the socket: once unlinked here, the
     * sweep can never shut down a reused descriptor. */
    pthread_mutex_lock(&wl->lock);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        wl->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&wl->lock);
    free(w);
    *socket_context = NULL;
}

/* Shuts down connections whose request headers are late; libmicrohttpd
 * then sees the end of the stream and closes them. */
static void watch_sweep(struct watchlist *wl, unsigned timeout)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&wl->lock);
    for (struct conn_watch *w = wl->head; w != NULL; w = w->next) {
        if (w->in_request || w->cut || now.tv_sec - w->since.tv_sec < (time_t)timeout)
            continue;
        shutdown(w->fd, SHUT_RDWR);
        w->cut = true;
    }
    pthread_mutex_unlock(&wl->lock);
}

static bool parse_listen(const char *s, struct sockaddr_storage *ss, bool *v6)
{
    char host[128];
    const char *colon;
    char *end;
    unsigned long port;

    memset(ss, 0, sizeof *ss);
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof host)
            return false;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = '\0';
        colon = rb + 1;
    } else if ((colon = strrchr(s, ':')) != NULL) {
        if ((size_t)(colon - s) >= sizeof host)
            return false;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    } else {
        strcpy(host, "127.0.0.1");
        colon = s - 1;
    }
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || port > 65535)
        return false;
    if (host[0] == '\0')
        strcpy(host, "127.0.0.1");
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *v6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *v6 = true;
        return true;
    }
    return false;
}

/* The signals that stop the server, each gracefully: SIGTERM (systemd,
 * kill), SIGINT (Ctrl-C) and SIGHUP (the terminal closed; there is no
 * configuration to reload, and its default action killed the server at
 * once, requests in flight lost: a review). But not a SIGHUP the server
 * was started ignoring (nohup): a blocked signal is queued whatever its
 * action, and sigtimedwait would take it (a review: `nohup medcrypt
 * serve &` stopped when its terminal closed). */
void web_stop_signals(sigset_t *set)
{
    struct sigaction hup;

    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    if (sigaction(SIGHUP, NULL, &hup) != 0 || hup.sa_handler != SIG_IGN)
        sigaddset(set, SIGHUP);
}

int web_serve(const struct web_config *cfg)
{
    struct sockaddr_storage ss;
    bool v6;
    /* MHD_ALLOW_SUSPEND_RESUME includes MHD_USE_ITC, which
     * MHD_quiesce_daemon below needs in this mode, and which wakes a
     * thread whose connection a worker resumes. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO |
                     MHD_ALLOW_SUSPEND_RESUME;
    MHD_socket listener;
    time_t deadline;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    char host[INET6_ADDRSTRLEN];
    sigset_t set;
    int sig = 0;
    struct watchlist wl = {.head = NULL};
    const struct timespec tick = {1, 0};

    if (!parse_listen(cfg->listen, &ss, &v6)) {
        fprintf(stderr, "medcrypt: serve: --listen '%s': expected HOST:PORT (an IP address "
                        "and a port, e.g. 127.0.0.1:8080)\n", cfg->listen);
        return 1;
    }
    if (v6)
        flags |= MHD_USE_IPv6;
    pthread_mutex_init(&wl.lock, NULL);
    if (!workers_start(cfg->threads)) {
        workers_close();
        workers_join();
        pthread_mutex_destroy(&wl.lock);
        fprintf(stderr, "medcrypt: serve: cannot start %u worker threads\n", cfg->threads);
        return 1;
    }
    d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, (void *)cfg,
                         MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                         /* as many as the workers, and a pool (1 draws
                          * a warning): a slow client holds no other */
                         MHD_OPTION_THREAD_POOL_SIZE, cfg->threads > 2 ? cfg->threads : 2u,
                         MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout,
                         MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
                         MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)128 * 1024,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                         MHD_OPTION_NOTIFY_CONNECTION, on_connection, &wl,
                         MHD_OPTION_END);
    if (d == NULL) {
        workers_close();
        workers_join();
        pthread_mutex_destroy(&wl.lock);
        fprintf(stderr, "medcrypt: serve: cannot listen on %s (port in use, not an address of "
                        "this machine, or limits the server cannot meet)\n", cfg->listen);
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (v6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
    /* what an operator checks first when a request waits or gets 413 */
    if (cfg->max_memory == 0)
        fprintf(stderr, "medcrypt: no memory budget for images (--max-memory 0)\n");
    else {
        fprintf(stderr, "medcrypt: memory budget for images: %.1f MiB (%s)\n",
                (double)cfg->max_memory / (1 << 20),
                cfg->memory_source != NULL ? cfg->memory_source : "--max-memory");
        fprintf(stderr, "medcrypt: uploads in flight: at most %.1f MiB besides (a sixth of the "
                        "budget; one at least)\n",
                (double)web_upload_share(cfg) / (1 << 20));
    }
    printf("medcrypt: serving on http://%s%s%s:%u/\n", v6 ? "[" : "", host, v6 ? "]" : "",
           info != NULL ? (unsigned)info->port : 0u);
    fflush(stdout);

    /* The stop signals are blocked in every thread (cmd_serve): wait for
     * them here, sweeping slow connections every second, then stop cleanly. */
    web_stop_signals(&set);
    while (sigismember(&set, sig = sigtimedwait(&set, NULL, &tick)) != 1) {
        watch_sweep(&wl, cfg->timeout);
        holders_sweep(cfg->timeout);
#ifdef __GLIBC__
        /* Give freed request buffers back to the system once a second:
         * the footprint then follows the requests in flight, not the peak
         * of the busiest moment so far. */
        malloc_trim(0);
#endif
    }
    /* A graceful stop: no new connection is accepted (a proxy sends the
     * next requests to another instance), and the requests in flight,
     * uploads and computations, are finished and answered, for at most
     * --timeout seconds; a second signal stops at once. */
    atomic_store(&stopping, true);
    listener = MHD_quiesce_daemon(d);
    /* Quiesced, the socket still listens: the kernel completed new
     * connections that nobody would accept, which waited unanswered and
     * were reset at exit (a review: POSTs through nginx got its 503, as
     * a proxy passes no request it has sent on to another server). Shut
     * down, it listens no more (Linux: a connect is refused at once, and
     * a proxy tries the other instance); the descriptor stays open until
     * the daemon's threads are gone, as MHD_quiesce_daemon asks. */
    if (listener != MHD_INVALID_SOCKET)
        (void)shutdown(listener, SHUT_RDWR);
    deadline = time(NULL) + (time_t)cfg->timeout;
    fprintf(stderr, "medcrypt: %s received, stopping: %d request%s in flight (waiting at most "
                    "%u s; a second signal stops at once)\n",
            sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM",
            atomic_load(&in_flight), atomic_load(&in_flight) == 1 ? "" : "s", cfg->timeout);
    while (atomic_load(&in_flight) > 0 && time(NULL) < deadline) {
        const struct timespec short_tick = {0, 100 * 1000 * 1000};
        if (sigismember(&set, sigtimedwait(&set, NULL, &short_tick)) == 1)
            break;
    }
    if (atomic_load(&in_flight) > 0)
        fprintf(stderr, "medcrypt: stopping with %d request%s unanswered\n",
                atomic_load(&in_flight), atomic_load(&in_flight) == 1 ? "" : "s");
    if (!workers_close()) {
        /* A worker still computes for a suspended connection, which
         * libmicrohttpd cannot stop (an API violation): the process ends
         * here, at once, as a second signal asks. Nothing is on disk, and
         * its memory, secrets included, goes with it. */
        fflush(stdout);
        fflush(stderr);
        _exit(0);
    }
    MHD_stop_daemon(d);
    workers_join();
    if (listener != MHD_INVALID_SOCKET)
        close(listener); /* ours once quiesced, after the daemon's threads */
    pthread_mutex_destroy(&wl.lock);
    return 0;
}
