/* The server's form handling (web/server.c): libmicrohttpd's post
 * processor fed by our access handler on_request(), our iterator
 * on_post_data() and the route handlers behind them (web/api.c,
 * web/pages.c).
 *
 * Seam: the post processor needs a real MHD connection (it reads the
 * Content-Type header from it) and on_request()/on_post_data() are static,
 * so this file includes web/server.c and drives one daemon without a listen
 * socket (MHD_USE_NO_LISTEN_SOCKET, external select): each input becomes
 * one POST over a socketpair handed to MHD_add_connection(). Input byte 0
 * picks the route (byte % 7) and the Content-Type (byte / 7 % 4); the
 * rest is the body, sent with its exact Content-Length. Nothing in web/ is
 * changed for this.
 *
 * The two analysis routes go to a second daemon whose pixel cap is 4096
 * samples: the analysis encrypts its image many times over (each stage on
 * its own, the differential and avalanche pairs) and takes 0.1-0.3 s for
 * 100x100 to 128x128 under ASan, so at the decoders' cap of 2^20 one
 * input could take a minute. Every
 * other stage of such a request (the form, the key, the decoder, the cap's
 * 413) is the same code as at any cap. */
#include <stdio.h>

/* server.c writes its access log to stderr: send it to /dev/null here so
 * libFuzzer's own output stays readable (and fast). */
static FILE *fuzz_log;
#undef stderr
#define stderr fuzz_log
#include "../web/server.c"
#undef stderr
#define stderr stderr

#include "common.h"

#include <fcntl.h>
#include <poll.h>

#define BOUNDARY "fuzzBOUNDARY"

#define ANALYZE_MAX_SAMPLES 4096

static struct MHD_Daemon *daemon_, *analyze_daemon;
static struct web_config cfg = {
    .listen = "fuzz",
    .max_upload = (size_t)1 << 20,
    .timeout = 5,
    .max_connections = 4,
    .max_samples = FUZZ_MAX_SAMPLES,
};
static struct web_config analyze_cfg; /* cfg with ANALYZE_MAX_SAMPLES */

static const char *const paths[] = {
    "/api/v1/encrypt", "/api/v1/decrypt", "/api/v1/keygen", "/encrypt", "/decrypt",
    "/api/v1/analyze", "/analyze",
};
#define N_PATHS (sizeof paths / sizeof paths[0])
static const char *const types[] = {
    "multipart/form-data; boundary=" BOUNDARY,
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=\"" BOUNDARY "\"",
    "multipart/form-data",
};

static struct MHD_Daemon *start_daemon(struct web_config *c)
{
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, c,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)128 * 1024,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    FUZZ_CHECK(d != NULL);
    return d;
}

static void start(void)
{
    if ((fuzz_log = fopen("/dev/null", "w")) == NULL)
        abort();
    analyze_cfg = cfg;
    analyze_cfg.max_samples = ANALYZE_MAX_SAMPLES;
    daemon_ = start_daemon(&cfg);
    analyze_daemon = start_daemon(&analyze_cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000)};
    char head[512], reply[4096];
    int sv[2], n, hlen;
    size_t off = 0;
    bool eof = false;
    struct MHD_Daemon *d;
    const char *path;

    if (daemon_ == NULL)
        start();
    if (size < 1 || size > 256 * 1024)
        return 0;
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    path = paths[data[0] % N_PATHS];
    d = strstr(path, "analyze") != NULL ? analyze_daemon : daemon_;
    hlen = snprintf(head, sizeof head,
                    "POST %s HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n"
                    "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                    path, types[(data[0] / N_PATHS) % 4], size - 1);
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    FUZZ_CHECK(MHD_add_connection(d, sv[0], (struct sockaddr *)&peer, sizeof peer) ==
               MHD_YES);
    /* Send the head and body, serve, read the answer to its end. */
    for (int round = 0; round < 20000 && !eof; round++) {
        const uint8_t *p = off < (size_t)hlen ? (const uint8_t *)head + off : data + 1 + (off - (size_t)hlen);
        size_t left = (size_t)hlen + size - 1 - off;
        ssize_t w;

        if (left > 0 && (w = send(sv[1], p, off < (size_t)hlen ? (size_t)hlen - off : left,
                                  MSG_NOSIGNAL)) > 0)
            off += (size_t)w;
        MHD_run(d);
        while ((n = (int)recv(sv[1], reply, sizeof reply - 1, 0)) > 0)
            if (getenv("FUZZ_DEBUG") != NULL) { /* FUZZ_DEBUG=1: show the answers */
                reply[n] = '\0';
                fprintf(stderr, "%s", reply);
            }
        if (n == 0)
            eof = true;
        else if (left == 0)
            poll(NULL, 0, 0);
    }
    close(sv[1]);
    MHD_run(d); /* notices the close, completes the request */
    return 0;
}
