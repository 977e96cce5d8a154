#!/bin/sh
# `medcrypt serve` under load and attack (issue 9), on loopback only:
#
#     sh tests/load/load.sh /abs/path/to/medcrypt /abs/path/to/testdata
#
#   1. load: 2,000 POST /api/v1/encrypt from 32 keep-alive clients, 0 errors,
#      server RSS after 400 warm-up requests and at the end (no growth > 10 %);
#   2. slow clients (--timeout 3): 200 connections trickling headers at
#      1 byte/s, 20 trickling bodies, 200 stalled; normal encrypts still served;
#   3. a 1 GiB upload (declared, then chunked) cut off early, RSS bounded;
#   4. malformed requests (multipart without or with endless boundaries,
#      5000 parts, huge part headers and header lines, bad Content-Type and
#      Content-Length): the expected 4xx, then /healthz still answers;
#   5. two instances behind our own nginx (config, pid, logs and temp files
#      in a temporary directory, free loopback ports): a keygen, encrypt,
#      decrypt round trip compared byte for byte, then one instance stopped
#      (SIGTERM) and round trips still served by the other. Skipped (a
#      "skip" line, not a failure) only when nginx is not installed.
#
# An ASan or TSan build of medcrypt (found by its __asan_init or
# __tsan_init symbol) gets fewer load requests (400 instead of 2,000) and
# no RSS assertion (ASan's quarantine holds freed memory, TSan's shadow
# grows with it); everything else is the same. The clients
# are tests/load/attack.py (python3, standard library). Every check prints
# "ok - ..." or "not ok - ..."; "# figure:" lines carry the numbers for
# docs/SECURITY.md; the last line is "N passed, M failed" (exit 1 on any
# failure). Every server started here is stopped by a trap; every loop is
# bounded in count and time.

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
tl_args load/load.sh "$@"
ATTACK=$HERE/attack.py
for tool in curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "load.sh: $tool is needed (make deps installs it)" >&2
        exit 2
    fi
done

N=2000
CONC=32
WARMUP=400
N_SLOW=200
ASAN=0
if grep -q -a -E '__asan_init|__tsan_init' "$MC" 2>/dev/null; then
    ASAN=1
    N=400
    WARMUP=100
    echo "# sanitizer build: $N load requests instead of 2000, RSS not asserted"
fi
LOAD_ASAN=$ASAN
export LOAD_ASAN
IMAGE=$TESTDATA/png/rgb_100x100.png
PPM=$TESTDATA/pnm/rgb_100x100.ppm

T=$(mktemp -d "${TMPDIR:-/tmp}/medcrypt-load.XXXXXX") || exit 2
chmod 711 "$T" # nginx's workers (nobody) reach their temp directory
R=$T/r
mkdir "$R" || exit 2
PIDS=""
NGINX_PID=""
cleanup() {
    [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null
    for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
    [ -n "$NGINX_PID" ] && sleep 0.3 && kill -KILL "$NGINX_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
cd "$R" || exit 2

# attack SUBCOMMAND ARGS...: runs attack.py, shows its lines, counts its checks.
attack() {
    timeout 300 python3 "$ATTACK" "$@" >"$R/attack.out" 2>&1
    a_rc=$?
    cat "$R/attack.out"
    a_pass=$(grep -c '^ok - ' "$R/attack.out")
    a_fail=$(grep -c '^not ok - ' "$R/attack.out")
    PASS=$((PASS + a_pass))
    FAIL=$((FAIL + a_fail))
    if [ "$a_rc" -ne 0 ] && [ "$a_fail" -eq 0 ]; then
        not_ok "attack.py $1 exited with status $a_rc"
    fi
    cat "$R/attack.out" >>"$R/figures"
}

# start_server NAME [OPTIONS...]: starts a server, sets PID, PORT and BASE.
start_server() {
    ss_name=$1
    shift
    "$MC" serve --listen 127.0.0.1:0 "$@" >"$R/$ss_name.out" 2>"$R/$ss_name.log" &
    PID=$!
    PIDS="$PIDS $PID"
    PORT=
    BASE=
    i=0
    while [ $i -lt 100 ]; do
        PORT=$(sed -n 's|^medcrypt: serving on http://127\.0\.0\.1:\([0-9][0-9]*\)/$|\1|p' \
            "$R/$ss_name.out" 2>/dev/null)
        [ -n "$PORT" ] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    [ -n "$PORT" ] || return 1
    BASE=http://127.0.0.1:$PORT
    i=0
    while [ $i -lt 50 ]; do
        curl -s --max-time 2 -o /dev/null "$BASE/healthz" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# finish_server NAME PID: stops it; checks exit 0 and no sanitizer report.
finish_server() {
    stop_server "$2"
    check "$1: the server stops on SIGTERM with status 0" [ $? -eq 0 ]
    check "$1: the server's stderr has no sanitizer report" \
        sh -c "! grep -q -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' '$R/$1.log'"
}

# keygen BASE: a key for the test identity into $R/key.
keygen() {
    curl -s --max-time 60 --data-urlencode "aadhaar=2345 6789 0124" \
        --data-urlencode "dob=1990-05-17" "$1/api/v1/keygen" >"$R/keygen.json" &&
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' \
            "$R/keygen.json" >"$R/key" 2>/dev/null
}

# --- 1. load ---------------------------------------------------------------
echo "# 1. load: $N encrypt requests from $CONC clients"
if start_server load; then
    ok "load: a server with the default options starts"
    LOAD_PID=$PID
    if keygen "$BASE"; then
        ok "load: keygen"
        attack load "$PORT" "$LOAD_PID" "$R/key" "$IMAGE" "$N" "$CONC" "$WARMUP"
        check "load: /healthz answers after the load" \
            curl -s -f --max-time 10 -o /dev/null "$BASE/healthz"
        check "load: the access log has one 200 line per encrypt" \
            [ "$(grep -c '^POST /api/v1/encrypt 200 ' "$R/load.log")" -eq "$N" ]
    else
        not_ok "load: keygen"
    fi
    finish_server load "$LOAD_PID"
else
    not_ok "load: a server with the default options starts ($(head -3 "$R/load.log"))"
fi
[ -s "$R/key" ] || exit 1

# --- 2. slow clients -------------------------------------------------------
echo "# 2. slow clients: $N_SLOW connections, --timeout 3"
if start_server slow --timeout 3; then
    ok "slow: a server with --timeout 3 starts"
    SLOW_PID=$PID
    attack slow "$PORT" "$R/key" "$IMAGE" "$N_SLOW" 3
    finish_server slow "$SLOW_PID"
else
    not_ok "slow: a server with --timeout 3 starts ($(head -3 "$R/slow.log"))"
fi

# --- 3 and 4. a 1 GiB upload, malformed requests ----------------------------
echo "# 3. a 1 GiB upload against --max-upload 1M; 4. malformed requests"
if start_server big --max-upload 1M; then
    ok "big: a server with --max-upload 1M starts"
    BIG_PID=$PID
    attack big "$PORT" "$BIG_PID" 1048576
    attack malformed "$PORT" "$BIG_PID"
    finish_server big "$BIG_PID"
else
    not_ok "big: a server with --max-upload 1M starts ($(head -3 "$R/big.log"))"
fi

# --- 5. two instances behind nginx -----------------------------------------
echo "# 5. two instances behind nginx"
NGINX=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null)

# roundtrip BASE TAG: keygen, encrypt the PPM, decrypt, compare; 0 if equal.
roundtrip() {
    rt_dir=$R/rt.$2
    mkdir -p "$rt_dir"
    curl -s -f --max-time 60 --data-urlencode "aadhaar=2345 6789 0124" \
        --data-urlencode "dob=1990-05-17" "$1/api/v1/keygen" >"$rt_dir/k.json" || return 1
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' \
        "$rt_dir/k.json" >"$rt_dir/key" 2>/dev/null || return 1
    curl -s -f --max-time 60 -F "key=<$rt_dir/key" -F "image=@$PPM" \
        -o "$rt_dir/c.png" "$1/api/v1/encrypt" || return 1
    curl -s -f --max-time 60 -F "key=<$rt_dir/key" -F "cipher=@$rt_dir/c.png" \
        -o "$rt_dir/d.ppm" "$1/api/v1/decrypt" || return 1
    cmp -s "$PPM" "$rt_dir/d.ppm"
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

if [ -z "$NGINX" ]; then
    SKIP=$((SKIP + 1))
    echo "skip - nginx: not installed (make deps installs nginx-light); failover not tested"
elif ! start_server up1 --per-ip 0 --max-upload 1M; then
    not_ok "nginx: instance 1 starts ($(head -3 "$R/up1.log"))"
else
    UP1_PID=$PID
    UP1_PORT=$PORT
    if ! start_server up2 --per-ip 0 --max-upload 1M; then
        not_ok "nginx: instance 2 starts ($(head -3 "$R/up2.log"))"
    else
        UP2_PID=$PID
        UP2_PORT=$PORT
        NG=$T/nginx
        mkdir -p "$NG/tmp" && chmod 755 "$NG" "$NG/tmp"
        tries=0
        NGINX_BASE=
        while [ $tries -lt 3 ] && [ -z "$NGINX_BASE" ]; do
            tries=$((tries + 1))
            NG_PORT=$(free_port)
            # Like docs/DEPLOY.md's server block, without TLS and limits.
            cat >"$NG/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log info;
events { worker_connections 256; }
http {
    access_log $NG/access.log;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    upstream medcrypt {
        server 127.0.0.1:$UP1_PORT max_fails=0;
        server 127.0.0.1:$UP2_PORT max_fails=0;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:$NG_PORT;
        client_max_body_size 1m;
        client_body_timeout 60s;
        proxy_request_buffering off;
        client_body_buffer_size 1m;
        proxy_buffering on;
        proxy_buffers 64 64k;
        proxy_max_temp_file_size 0;
        location / {
            proxy_pass http://medcrypt;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_connect_timeout 5s;
            proxy_send_timeout 120s;
            proxy_read_timeout 120s;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 2;
        }
    }
}
EOF
            if ! "$NGINX" -p "$NG/" -c "$NG/nginx.conf" -e "$NG/error.log" -t \
                >"$R/nginx-t.log" 2>&1; then
                break
            fi
            "$NGINX" -p "$NG/" -c "$NG/nginx.conf" -e "$NG/error.log" \
                >"$R/nginx.out" 2>&1 &
            NGINX_PID=$!
            i=0
            while [ $i -lt 50 ] && kill -0 "$NGINX_PID" 2>/dev/null; do
                if curl -s -f --max-time 2 -o /dev/null "http://127.0.0.1:$NG_PORT/healthz"; then
                    NGINX_BASE=http://127.0.0.1:$NG_PORT
                    break
                fi
                sleep 0.1
                i=$((i + 1))
            done
            if [ -z "$NGINX_BASE" ]; then
                kill -TERM "$NGINX_PID" 2>/dev/null
                wait "$NGINX_PID" 2>/dev/null
                NGINX_PID=""
            fi
        done
        if [ -z "$NGINX_BASE" ]; then
            if grep -q -i -E 'permission denied|operation not permitted' \
                "$R/nginx-t.log" "$NG/error.log" 2>/dev/null; then
                SKIP=$((SKIP + 1))
                echo "skip - nginx: cannot run here ($(tail -1 "$R/nginx-t.log"))"
            else
                not_ok "nginx: starts on a free loopback port ($(tail -2 "$R/nginx-t.log" \
                    "$NG/error.log" 2>/dev/null | tr '\n' ' '))"
            fi
        else
            ok "nginx: our own nginx (config, pid, logs in a temporary directory) starts"
            check "nginx: keygen, encrypt, decrypt round trip, bytes equal" \
                roundtrip "$NGINX_BASE" a
            check "nginx: a second round trip" roundtrip "$NGINX_BASE" b
            n1=$(grep -c '^POST /api/v1/' "$R/up1.log")
            n2=$(grep -c '^POST /api/v1/' "$R/up2.log")
            echo "# figure: nginx: 2 round trips (6 requests): $n1 served by instance 1, $n2 by instance 2"
            echo "# figure: nginx: 2 round trips (6 requests): $n1 served by instance 1, $n2 by instance 2" >>"$R/figures"
            check "nginx: both instances served requests ($n1 and $n2)" \
                [ "$n1" -gt 0 -a "$n2" -gt 0 ]
            stop_server "$UP1_PID"
            check "nginx: instance 1 stops on SIGTERM with status 0" [ $? -eq 0 ]
            check "nginx: instance 1 no longer answers" \
                sh -c "! curl -s --max-time 2 -o /dev/null 'http://127.0.0.1:$UP1_PORT/healthz'"
            m2=$(grep -c '^POST /api/v1/' "$R/up2.log")
            rt_ok=0
            for k in 1 2 3 4; do
                roundtrip "$NGINX_BASE" "after$k" && rt_ok=$((rt_ok + 1))
            done
            check "nginx: with instance 1 stopped, 4 round trips of 4 still work" [ "$rt_ok" -eq 4 ]
            m2=$(($(grep -c '^POST /api/v1/' "$R/up2.log") - m2))
            refused=$(grep -c 'connect() failed' "$NG/error.log")
            echo "# figure: nginx: instance 1 stopped: $rt_ok/4 round trips ok, $m2 requests served by instance 2, nginx logged $refused refused connect() to instance 1 and retried"
            echo "# figure: nginx: instance 1 stopped: $rt_ok/4 round trips ok, $m2 requests served by instance 2, nginx logged $refused refused connect() to instance 1 and retried" >>"$R/figures"
            check "nginx: instance 2 served all 12 requests after the stop ($m2)" [ "$m2" -eq 12 ]
            check "nginx: the proxy wrote no request body to disk" \
                sh -c "[ -z \"\$(find '$NG/tmp' -type f 2>/dev/null)\" ]"
            kill -TERM "$NGINX_PID" 2>/dev/null
            wait "$NGINX_PID" 2>/dev/null
            NGINX_PID=""
        fi
        finish_server up2 "$UP2_PID"
    fi
    kill -0 "$UP1_PID" 2>/dev/null && stop_server "$UP1_PID"
fi

if [ -n "${LOAD_FIGURES:-}" ]; then
    grep '^# figure:' "$R/figures" >"$LOAD_FIGURES" 2>/dev/null
fi
if [ "$SKIP" -gt 0 ]; then
    echo "$PASS passed, $FAIL failed, $SKIP skipped"
else
    echo "$PASS passed, $FAIL failed"
fi
[ "$FAIL" -eq 0 ]
