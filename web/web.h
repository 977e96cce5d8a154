/* The web application (issue 7): an HTTP server over libmicrohttpd that
 * serves the pages and the REST API of docs/API.md. Stateless: nothing is
 * written to disk, nothing is kept between requests. */
#ifndef MC_WEB_H
#define MC_WEB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEB_DEFAULT_LISTEN "127.0.0.1:8080"
/* 130 MiB holds the cipher image of the largest image the default pixel
 * cap lets in (2^26 16-bit samples: 128 MiB, plus filter bytes, chunks
 * and side data, about 1 % unless the image is very narrow), so that every image the server encrypts it
 * can take back to decrypt (docs/DEPLOY.md, "Checklist"; a review found
 * 64 MiB refusing 16-bit images of over about 32M samples). */
#define WEB_DEFAULT_MAX_UPLOAD ((size_t)130 << 20)
#define WEB_DEFAULT_TIMEOUT 60
#define WEB_DEFAULT_MAX_CONNECTIONS 128
#define WEB_DEFAULT_PER_IP 32

struct web_config {
    const char *listen;       /* "HOST:PORT", "[V6]:PORT" or "PORT" */
    size_t max_upload;        /* bytes of request body, answered 413 above */
    unsigned threads;         /* worker threads, at least 1 (cmd_serve: one per core) */
    unsigned timeout;         /* seconds of inactivity before a connection is closed */
    unsigned max_connections; /* all clients together */
    unsigned per_ip;          /* per client address; 0 = no limit */
    uint64_t max_samples;     /* pixel cap (W·H·C) for uploaded images */
    uint64_t max_memory;      /* bytes the requests' images may take at once
                               * (server.c, web_admit); 0 = no budget */
    const char *memory_source; /* where max_memory comes from, for the log */
};

/* The default of max_memory: three quarters of this process's cgroup
 * memory limit (systemd's MemoryMax=), else half the machine's memory;
 * *source says which. */
uint64_t web_default_memory(const char **source);
/* What the request bodies in flight may hold besides: a sixth of
 * max_memory (server.c, upload_admit). */
uint64_t web_upload_share(const struct web_config *cfg);

/* Runs the server until SIGINT, SIGTERM or SIGHUP; returns the exit status. The
 * caller has blocked them in every thread (web_stop_signals). */
int web_serve(const struct web_config *cfg);
/* The signals that stop web_serve gracefully (SIGINT, SIGTERM, SIGHUP),
 * to be blocked in every thread before the server starts. */
void web_stop_signals(sigset_t *set);

/* Files embedded at build time by web/embed.py (assets.c). */
struct web_asset {
    const char *name;         /* "static/style.css", "pages/home.html" */
    const char *content_type;
    const unsigned char *data; /* NUL-terminated */
    size_t len;
};
extern const struct web_asset web_assets[];
const struct web_asset *web_asset_find(const char *name);

/* A growing byte buffer; after a failed allocation oom is set and every
 * later append is a no-op, so callers check once at the end. */
struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};
void buf_put(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_html(struct buf *b, const char *s);  /* HTML-escaped text */
void buf_json(struct buf *b, const char *s);  /* a JSON string, quotes included */
void buf_base64(struct buf *b, const uint8_t *data, size_t len);
/* A size as people read it: "512 bytes", "50.0 KiB", "64.0 MiB" (an
 * upload limit of 50 KiB said "0.0 MiB": found in review). */
void web_human_size(char *out, size_t size, uint64_t n);
/* Wipes (the buffer may hold a key or patient data) and frees. */
void buf_wipe(struct buf *b);

/* Template: copies the asset, replacing {{name}} with the HTML-escaped
 * value and {{&name}} with the raw value (already HTML). Unknown names
 * become empty. vars: name, value pairs, NULL-terminated. */
void buf_template(struct buf *b, const char *asset, const char *const *vars);

#endif
