// loadgen: a small HTTP/1.1 keep-alive load generator for the benchmarks
// (scripts/bench.sh). One thread and one epoll set, so that on a 2-core
// machine it leaves the server under test as much CPU as possible: the
// Swift NIO generator it replaces used about as much CPU as the agent.
//
// Each of C connections sends `GET PATH` (or `-X METHOD`, with `-d @FILE`'s
// bytes as the body and their Content-Length) and waits for the whole answer
// before sending the next (no pipelining), for D seconds after a warm-up of
// W seconds whose answers are not counted. Answers must carry
// Content-Length or be chunked (an SSE stream, say).
//
//   gcc -O2 -o loadgen scripts/bench/loadgen.c
//   loadgen [-c 32] [-d 10] [-w 1] [-R RATE] [-X METHOD] [-H 'name: value']... [-d @FILE] [--ttfb] TARGET PATH
//     TARGET: unix:/path/to/socket, or host:port (TCP, IPv4)
//     -d is the duration, or with a leading @ the file whose bytes are the body
//
// Prints one line of key=value pairs on stdout, e.g.
//   requests=512345 seconds=10.00 rps=51234 p50_ms=0.581 p90_ms=0.702
//   p99_ms=1.204 max_ms=7.310 ok=512345 non2xx=0 errors=0 connections=32
// `ok` counts 2xx answers, `non2xx` other statuses, `errors` broken or
// refused connections (each broken connection is reopened). Latency is
// from the request's write to the answer's last byte, over every answer
// counted (2xx or not). `--ttfb` adds ttfb_p50_ms and ttfb_p99_ms: from the
// request's write to the first byte of the answer's body (for a chunked
// answer, its first chunk). `answers` counts every answer, warm-up included
// (for CPU per request). Exit status 1 when nothing was answered.
//
// `-R RATE` offers a fixed load instead (open loop, as wrk2 does): RATE
// requests per second in all, each connection sending on its own schedule
// of C/RATE seconds apart, staggered. Latency is then counted from when a
// request was due, not from when it was written, so a server that falls
// behind is charged for the wait it caused (no coordinated omission). It
// measures what a proxy adds to each request at a load both sides can
// carry, where the closed loop mostly measures the queue.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { BUFFER_SIZE = 64 * 1024, MAX_HEADERS = 16 };

struct connection {
    int fd;
    uint64_t sent_at;       // ns, when the current request was written
    size_t have;            // bytes of the current answer in `buffer`
    size_t need;            // total bytes of the current answer, 0 while its head is incomplete
    size_t head_length;     // bytes of the current answer's head, once complete
    size_t chunk_at;        // chunked answers: offset in `buffer` of the next chunk's size line
    uint64_t first_body_at; // ns, when the first byte of the current answer's body arrived (0: not yet)
    int chunked;            // the current answer's body is chunked (need is then unknown until its end)
    int status;
    uint64_t due;           // -R: ns, when this connection's next request is due
    int waiting;            // -R: answered, its next request not due yet
    char buffer[BUFFER_SIZE];
};

static struct sockaddr_storage address;
static socklen_t address_length;
static char *request;
static size_t request_length;
struct samples {
    uint64_t *values;
    size_t count, capacity;
};
static struct samples latencies, ttfbs;
static uint64_t ok_count, non2xx_count, error_count, answer_count;
static uint64_t interval_ns;  // -R: between one connection's requests; 0 for the closed loop

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void fail(const char *what) {
    perror(what);
    exit(2);
}

static void usage(void) {
    fprintf(stderr, "usage: loadgen [-c CONNECTIONS] [-d SECONDS] [-w WARMUP_SECONDS] [-R REQUESTS_PER_SECOND] [-X METHOD] [-H 'name: value']... "
                    "[-d @BODY_FILE] [--ttfb] unix:/path/to/socket|host:port PATH\n");
    exit(64);
}

static void parse_target(const char *target) {
    memset(&address, 0, sizeof address);
    if (strncmp(target, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)&address;
        un->sun_family = AF_UNIX;
        if (strlen(target + 5) >= sizeof un->sun_path) { fprintf(stderr, "loadgen: socket path too long\n"); exit(64); }
        strcpy(un->sun_path, target + 5);
        address_length = sizeof *un;
        return;
    }
    char host[256];
    const char *colon = strrchr(target, ':');
    if (!colon || (size_t)(colon - target) >= sizeof host) usage();
    memcpy(host, target, (size_t)(colon - target));
    host[colon - target] = 0;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *found;
    if (getaddrinfo(host, colon + 1, &hints, &found) != 0) { fprintf(stderr, "loadgen: cannot resolve %s\n", target); exit(64); }
    memcpy(&address, found->ai_addr, found->ai_addrlen);
    address_length = found->ai_addrlen;
    freeaddrinfo(found);
}

static void record(struct samples *s, uint64_t nanoseconds) {
    if (s->count == s->capacity) {
        s->capacity = s->capacity ? s->capacity * 2 : 1 << 20;
        s->values = realloc(s->values, s->capacity * sizeof *s->values);
        if (!s->values) fail("realloc");
    }
    s->values[s->count++] = nanoseconds;
}

static int send_request(struct connection *c) {
    size_t written = 0;
    c->sent_at = now_ns();
    c->have = 0;
    c->need = 0;
    c->head_length = 0;
    c->chunked = 0;
    c->first_body_at = 0;
    c->waiting = 0;
    // Open loop: counted from when it was due, even if written later.
    if (interval_ns && c->due && c->due < c->sent_at) c->sent_at = c->due;
    while (written < request_length) {
        ssize_t n = write(c->fd, request + written, request_length - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;  // a request is far smaller than a socket buffer: EAGAIN means trouble too
        }
        written += (size_t)n;
    }
    return 0;
}

static int open_connection(struct connection *c, int epoll) {
    c->fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) fail("socket");
    if (address.ss_family == AF_INET) {
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    // A blocking-style connect: Unix sockets connect at once, loopback TCP nearly so.
    while (connect(c->fd, (struct sockaddr *)&address, address_length) < 0) {
        if (errno == EINTR) continue;
        if (errno == EINPROGRESS) {
            fd_set w;
            FD_ZERO(&w);
            FD_SET(c->fd, &w);
            struct timeval limit = {.tv_sec = 5};
            int error = 0;
            socklen_t length = sizeof error;
            if (select(c->fd + 1, NULL, &w, NULL, &limit) != 1 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0 || error)
                goto failed;
            break;
        }
        goto failed;
    }
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, c->fd, &event) < 0) fail("epoll_ctl");
    if (send_request(c) == 0) return 0;
failed:
    close(c->fd);
    c->fd = -1;
    return -1;
}

// Parses the answer's head once it is complete: sets status, head_length and
// need (for a chunked answer: chunked, chunk_at, and need = 0 until its end).
// Returns -1 for an answer this tool cannot measure (no Content-Length, not chunked).
static int parse_head(struct connection *c) {
    char *end = memmem(c->buffer, c->have, "\r\n\r\n", 4);
    if (!end) return c->have == BUFFER_SIZE ? -1 : 0;
    size_t head_length = (size_t)(end - c->buffer) + 4;
    if (c->have < 12 || memcmp(c->buffer, "HTTP/1.", 7) != 0) return -1;
    c->status = atoi(c->buffer + 9);
    long content_length = -1;
    for (char *line = memchr(c->buffer, '\n', head_length); line && line < end; line = memchr(line, '\n', (size_t)(end - line))) {
        line++;
        if (strncasecmp(line, "content-length:", 15) == 0) content_length = strtol(line + 15, NULL, 10);
        if (strncasecmp(line, "transfer-encoding:", 18) == 0) {
            char *eol = memchr(line, '\r', (size_t)(end + 2 - line));
            if (eol && memmem(line + 18, (size_t)(eol - line - 18), "chunked", 7)) c->chunked = 1;
        }
    }
    c->head_length = head_length;
    if (c->chunked) {
        c->chunk_at = head_length;
        return 1;
    }
    if (content_length < 0 || head_length + (size_t)content_length > BUFFER_SIZE) return -1;
    c->need = head_length + (size_t)content_length;
    return 1;
}

// A chunked answer: walks the complete chunks after chunk_at, dropping their
// bytes from `buffer` so a long stream fits. Returns 1 when the last chunk
// (size 0, no trailers) is in, 0 while more is due, -1 when malformed.
static int parse_chunks(struct connection *c) {
    for (;;) {
        char *line = c->buffer + c->chunk_at;
        size_t left = c->have - c->chunk_at;
        char *eol = memmem(line, left, "\r\n", 2);
        if (!eol) break;
        char *after;
        unsigned long size = strtoul(line, &after, 16);
        if (after == line) return -1;
        size_t whole = (size_t)(eol - line) + 2 + size + 2;  // size line, data, CRLF (or the final CRLF)
        if (left < whole) break;
        if (memcmp(line + whole - 2, "\r\n", 2) != 0) return -1;
        c->chunk_at += whole;
        if (size == 0) {
            c->need = c->chunk_at;
            return 1;
        }
    }
    // Keep the head (it is small) and drop the chunks read.
    size_t head_length = c->head_length;
    if (c->chunk_at > head_length) {
        memmove(c->buffer + head_length, c->buffer + c->chunk_at, c->have - c->chunk_at);
        c->have -= c->chunk_at - head_length;
        c->chunk_at = head_length;
    }
    return c->have == BUFFER_SIZE ? -1 : 0;
}

// After bytes arrived: 1 when the answer is complete, 0 while more is due, -1 when broken.
static int progress(struct connection *c, uint64_t now) {
    if (c->head_length == 0) {
        int parsed = parse_head(c);
        if (parsed <= 0) return parsed;
    }
    if (c->first_body_at == 0 && (c->have > c->head_length || c->need == c->head_length)) c->first_body_at = now;
    if (c->chunked) {
        int done = parse_chunks(c);
        if (done <= 0) return done;
    } else if (c->have < c->need) {
        return c->have == BUFFER_SIZE ? -1 : 0;
    }
    return c->have > c->need ? -1 : 1;  // unasked bytes: not an HTTP/1.1 answer to one request
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_ms(const struct samples *s, double p) {
    if (s->count == 0) return 0;
    size_t i = (size_t)(p * (double)s->count);
    if (i >= s->count) i = s->count - 1;
    return (double)s->values[i] / 1e6;
}

static char *read_file(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    if (!f) fail(path);
    size_t capacity = 4096, have = 0;
    char *bytes = malloc(capacity);
    size_t n;
    while (bytes && (n = fread(bytes + have, 1, capacity - have, f)) > 0) {
        have += n;
        if (have == capacity) bytes = realloc(bytes, capacity *= 2);
    }
    if (!bytes || ferror(f)) fail(path);
    fclose(f);
    *length = have;
    return bytes;
}

int main(int argc, char **argv) {
    int connections = 32;
    double seconds = 10, warmup = 1;
    char headers[4096] = "";
    const char *method = "GET";
    char *body = NULL;
    size_t body_length = 0;
    int want_ttfb = 0;
    double rate = 0;
    static const struct option long_options[] = {{"ttfb", no_argument, NULL, 'T'}, {NULL, 0, NULL, 0}};
    int option;
    while ((option = getopt_long(argc, argv, "c:d:w:H:X:R:", long_options, NULL)) != -1) {
        switch (option) {
        case 'c': connections = atoi(optarg); break;
        case 'd':
            if (optarg[0] == '@') body = read_file(optarg + 1, &body_length);
            else seconds = atof(optarg);
            break;
        case 'X': method = optarg; break;
        case 'R': rate = atof(optarg); break;
        case 'T': want_ttfb = 1; break;
        case 'w': warmup = atof(optarg); break;
        case 'H':
            if (strlen(headers) + strlen(optarg) + 3 >= sizeof headers) usage();
            strcat(headers, optarg);
            strcat(headers, "\r\n");
            break;
        default: usage();
        }
    }
    if (argc - optind != 2 || connections < 1 || seconds <= 0 || warmup < 0 || rate < 0) usage();
    if (rate > 0) interval_ns = (uint64_t)((double)connections / rate * 1e9);
    parse_target(argv[optind]);
    char *head;
    size_t head_length;
    if (body) {
        head_length = (size_t)asprintf(&head, "%s %s HTTP/1.1\r\nHost: localhost\r\n%sContent-Length: %zu\r\n\r\n", method,
                                       argv[optind + 1], headers, body_length);
    } else {
        head_length = (size_t)asprintf(&head, "%s %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", method, argv[optind + 1], headers);
    }
    request_length = head_length + body_length;
    request = malloc(request_length);
    if (!request) fail("malloc");
    memcpy(request, head, head_length);
    if (body_length) memcpy(request + head_length, body, body_length);

    // A write to a connection the server reset is an error to count, not a reason to die.
    signal(SIGPIPE, SIG_IGN);
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    if (epoll < 0) fail("epoll_create1");
    struct connection *pool = calloc((size_t)connections, sizeof *pool);
    if (!pool) fail("calloc");
    for (int i = 0; i < connections; i++) {
        if (open_connection(&pool[i], epoll) < 0) {
            fprintf(stderr, "loadgen: cannot connect to %s\n", argv[optind]);
            return 2;
        }
    }

    uint64_t start = now_ns();
    // -R: the first requests went out as the connections opened; from now on
    // each connection keeps its own schedule, staggered across one interval.
    for (int i = 0; i < connections && interval_ns; i++) pool[i].due = start + interval_ns * (uint64_t)i / (uint64_t)connections;
    uint64_t counting_from = start + (uint64_t)(warmup * 1e9);
    uint64_t deadline = counting_from + (uint64_t)(seconds * 1e9);
    struct epoll_event events[256];
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline) break;
        uint64_t wake = deadline;
        for (int i = 0; i < connections && interval_ns; i++) {
            if (!pool[i].waiting) continue;
            if (pool[i].due <= now) {
                if (send_request(&pool[i]) < 0) pool[i].waiting = 0;  // its read sees the break
            } else if (pool[i].due < wake) {
                wake = pool[i].due;
            }
        }
        // A timeout in nanoseconds: a request due in 0.2 ms must not wait a whole millisecond.
        uint64_t wait = (interval_ns ? wake : deadline) - now;
        struct timespec timeout = {.tv_sec = (time_t)(wait / 1000000000), .tv_nsec = (long)(wait % 1000000000)};
        int ready = epoll_pwait2(epoll, events, 256, &timeout, NULL);
        if (ready < 0) {
            if (errno == EINTR) continue;
            fail("epoll_pwait2");
        }
        for (int e = 0; e < ready; e++) {
            struct connection *c = events[e].data.ptr;
            int broken = 0;
            for (;;) {
                ssize_t n = read(c->fd, c->buffer + c->have, BUFFER_SIZE - c->have);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && errno == EAGAIN) break;
                if (n <= 0) { broken = 1; break; }
                c->have += (size_t)n;
                uint64_t done = want_ttfb ? now_ns() : 0;
                int state = progress(c, done);
                if (state < 0) { broken = 1; break; }
                if (state == 0) continue;
                if (!want_ttfb) done = now_ns();
                answer_count++;
                if (c->sent_at >= counting_from && done <= deadline) {
                    record(&latencies, done - c->sent_at);
                    if (want_ttfb) record(&ttfbs, c->first_body_at - c->sent_at);
                    if (c->status >= 200 && c->status < 300) ok_count++; else non2xx_count++;
                }
                if (interval_ns) {
                    c->due += interval_ns;
                    if (c->due > now_ns()) { c->waiting = 1; break; }
                }
                if (send_request(c) < 0) broken = 1;
                break;
            }
            if (broken) {
                if (now_ns() >= counting_from) error_count++;
                epoll_ctl(epoll, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                if (open_connection(c, epoll) < 0) usleep(1000);
            }
        }
    }
    double elapsed = (double)(deadline - counting_from) / 1e9;
    size_t count = latencies.count;
    qsort(latencies.values, count, sizeof *latencies.values, compare);
    qsort(ttfbs.values, ttfbs.count, sizeof *ttfbs.values, compare);
    printf("requests=%zu seconds=%.2f rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f ok=%llu non2xx=%llu errors=%llu connections=%d",
           count, elapsed, (double)count / elapsed, percentile_ms(&latencies, 0.50), percentile_ms(&latencies, 0.90),
           percentile_ms(&latencies, 0.99), count ? (double)latencies.values[count - 1] / 1e6 : 0.0, (unsigned long long)ok_count,
           (unsigned long long)non2xx_count, (unsigned long long)error_count, connections);
    if (want_ttfb) printf(" ttfb_p50_ms=%.3f ttfb_p99_ms=%.3f", percentile_ms(&ttfbs, 0.50), percentile_ms(&ttfbs, 0.99));
    printf(" answers=%llu\n", (unsigned long long)answer_count);
    return count ? 0 : 1;
}
