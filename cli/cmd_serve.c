/* medcrypt serve: the web application and the REST API (issue 7). */
#include "cli.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "web.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SERVE_HELP[] =
    "Usage: medcrypt serve [--listen 127.0.0.1:8080] [--max-upload BYTES]\n"
    "                      [--threads N] [--timeout SEC] [--max-connections N]\n"
    "                      [--per-ip N] [--max-pixels N] [--max-memory BYTES]\n"
    "\n"
    "Serves the web application (home, encrypt, decrypt and analysis pages) and\n"
    "the REST API under /api/v1/ (docs/API.md; OpenAPI at /api/v1/openapi.json).\n"
    "Prints \"medcrypt: serving on http://HOST:PORT/\" on stdout when ready, and\n"
    "on stderr an access log line per request (method, path, status, bytes,\n"
    "milliseconds: never a key, an Aadhaar number or a date of birth; \"- 0\":\n"
    "no response reached the client). SIGINT, SIGTERM or SIGHUP (unless started\n"
    "ignoring it, as by nohup) stops it gracefully: no new connection, the\n"
    "requests in flight answered for at most --timeout seconds (a second signal\n"
    "stops at once). Nothing is written to disk: uploads are held in memory for\n"
    "the request and wiped after it. Stateless: run several behind a reverse\n"
    "proxy (docs/DEPLOY.md).\n"
    "\n"
    "Options:\n"
    "    -l, --listen ADDR:PORT  address to listen on (default 127.0.0.1:8080;\n"
    "                            port 0 picks a free port; [::1]:8080 for IPv6)\n"
    "    -m, --max-upload BYTES  largest request body, answered 413 above\n"
    "                            (default 136314880 = 130 MiB, which holds the\n"
    "                            cipher image of the largest --max-pixels image\n"
    "                            unless it is only a few samples wide; K, M, G\n"
    "                            suffixes)\n"
    "    -t, --threads N         workers that encrypt, decrypt and analyse, one\n"
    "                            request each (default: one per core); as many\n"
    "                            threads again serve the connections\n"
    "        --timeout SEC       close connections idle this long, or whose request\n"
    "                            headers take longer (default 60); the longest a\n"
    "                            stop waits for the requests in flight\n"
    "        --max-connections N\n"
    "                            all clients together (default 128)\n"
    "        --per-ip N          connections per client address (default 32;\n"
    "                            0 = no limit, e.g. behind a proxy)\n"
    "        --max-pixels N      largest image accepted, in samples W*H*C\n"
    "                            (default 67108864; K, M, G suffixes); a request\n"
    "                            takes up to 16 bytes per sample, an analysis\n"
    "                            given a cipher image 22 (docs/DEPLOY.md)\n"
    "        --max-memory BYTES  what the images of the requests in hand may take\n"
    "                            at once (K, M, G; default: 3/4 of the cgroup's\n"
    "                            memory limit, else half the machine's memory;\n"
    "                            0 = no budget): a request waits for room, at most\n"
    "                            --timeout (then 503); one larger than it all: 413;\n"
    "                            the uploads in flight may hold a sixth of it\n"
    "                            besides (one more: 503)\n"
    "    -h, --help              this help\n";

int cmd_serve(int argc, char **argv)
{
    enum { OPT_TIMEOUT = 256, OPT_MAXCONN, OPT_PERIP, OPT_PIXELS, OPT_MEMORY };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"max-upload", required_argument, NULL, 'm'},
        {"threads", required_argument, NULL, 't'},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"max-connections", required_argument, NULL, OPT_MAXCONN},
        {"per-ip", required_argument, NULL, OPT_PERIP},
        {"max-pixels", required_argument, NULL, OPT_PIXELS},
        {"max-memory", required_argument, NULL, OPT_MEMORY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static const char optstring[] = "+l:m:t:h";
    struct web_config cfg = {
        .listen = WEB_DEFAULT_LISTEN,
        .max_upload = WEB_DEFAULT_MAX_UPLOAD,
        .threads = 0,
        .timeout = WEB_DEFAULT_TIMEOUT,
        .max_connections = WEB_DEFAULT_MAX_CONNECTIONS,
        .per_ip = WEB_DEFAULT_PER_IP,
        .max_samples = (uint64_t)1 << 26,
    };
    unsigned long long v;
    sigset_t set;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        const char *name = NULL;
        unsigned long long lo = 1, hi = UINT_MAX;
        switch (c) {
        case 'h': fputs(SERVE_HELP, stdout); return 0;
        case 'l': cfg.listen = optarg; continue;
        case 'm': name = "--max-upload"; lo = 1; hi = (unsigned long long)SIZE_MAX / 4; break;
        case 't': name = "--threads"; lo = 1; hi = 1024; break;
        case OPT_TIMEOUT: name = "--timeout"; lo = 1; hi = 86400; break;
        case OPT_MAXCONN: name = "--max-connections"; lo = 1; hi = 65536; break;
        case OPT_PERIP: name = "--per-ip"; lo = 0; hi = 65536; break;
        case OPT_PIXELS: name = "--max-pixels"; lo = 1; hi = (unsigned long long)1 << 32; break;
        case OPT_MEMORY: name = "--max-memory"; lo = 0; hi = (unsigned long long)1 << 50; break;
        default:
            cli_bad_option("serve", optstring, argc, argv);
            return 1;
        }
        if (!cli_parse_size(optarg, hi, &v) || v < lo) {
            cli_error(NULL, "serve: %s '%s': expected a number from %llu to %llu", name, optarg,
                      lo, hi);
            return 1;
        }
        switch (c) {
        case 'm': cfg.max_upload = (size_t)v; break;
        case 't': cfg.threads = (unsigned)v; break;
        case OPT_TIMEOUT: cfg.timeout = (unsigned)v; break;
        case OPT_MAXCONN: cfg.max_connections = (unsigned)v; break;
        case OPT_PERIP: cfg.per_ip = (unsigned)v; break;
        case OPT_PIXELS: cfg.max_samples = v; break;
        case OPT_MEMORY: cfg.max_memory = v; cfg.memory_source = "--max-memory"; break;
        default: break;
        }
    }
    if (cfg.memory_source == NULL)
        cfg.max_memory = web_default_memory(&cfg.memory_source);
    if (optind < argc) {
        cli_error(NULL, "serve: unexpected argument '%s'", argv[optind]);
        cli_hint("run 'medcrypt serve --help'");
        return 1;
    }
    /* 0 = a worker per core this process may use (cli_cores). */
    if (cfg.threads == 0)
        cfg.threads = (unsigned)cli_cores();
#ifdef __GLIBC__
    /* One malloc arena per worker at most (the connection threads
     * allocate only uploads and responses): glibc otherwise opens a new
     * arena whenever two threads contend for one (more often on a busy
     * machine), and the server's footprint then depends on CPU load rather
     * than on its work (tests/load: RSS flat under 2,000 requests). */
    mallopt(M_ARENA_MAX, (int)cfg.threads + 1);
#endif
    /* Block the stop signals before any thread exists, so every worker
     * inherits the mask and web_serve() receives them with sigwait(). */
    web_stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    return web_serve(&cfg);
}
