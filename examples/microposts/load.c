/*
 * examples/microposts/load.c: microposts-load, the demo's load generator.
 * A realistic mix against microposts-api: users sign up, write posts, read
 * their timelines and single posts, and sometimes ask for posts that do not
 * exist (404). Requests are paced to a target rate so that the demo leaves
 * the machine usable.
 *
 *   microposts-load --api URL [--seconds N] [--rate R] [--threads T]
 *
 * Prints one summary line per status code at the end ("status 200: 1234").
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svc.h"

#define MAX_IDS 4096

static const char *api_url;
static double seconds = 30, rate = 60;
static int nthreads = 3;
static volatile sig_atomic_t stop;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long long users[MAX_IDS], posts[MAX_IDS];
static size_t nusers, nposts;
static long counts[600];
static long failures; /* transport errors */

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct body {
    char p[4096];
    size_t len;
} body;

static size_t on_data(char *data, size_t size, size_t n, void *ud)
{
    body *b = ud;
    size_t add = size * n, room = sizeof b->p - 1 - b->len;
    memcpy(b->p + b->len, data, add < room ? add : room);
    b->len += add < room ? add : room;
    b->p[b->len] = '\0';
    return add;
}

static long request(CURL *c, const char *method, const char *path, const char *json, body *b)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", api_url, path);
    b->len = 0;
    b->p[0] = '\0';
    curl_easy_reset(c);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (json) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    pthread_mutex_lock(&mu);
    if (status > 0 && status < 600)
        counts[status]++;
    else
        failures++;
    pthread_mutex_unlock(&mu);
    return status;
}

static long long pick(long long *ids, size_t n, unsigned *seed)
{
    pthread_mutex_lock(&mu);
    long long id = n ? ids[rand_r(seed) % n] : 0;
    pthread_mutex_unlock(&mu);
    return id;
}

static void remember(long long *ids, size_t *n, long long id, unsigned *seed)
{
    pthread_mutex_lock(&mu);
    if (*n < MAX_IDS)
        ids[(*n)++] = id;
    else
        ids[rand_r(seed) % MAX_IDS] = id;
    pthread_mutex_unlock(&mu);
}

static const char *WORDS[] = {"lumen",    "metrics", "traces",   "logs", "coffee",
                              "deploy",   "friday",  "latency",  "p99",  "cardinality",
                              "exemplar", "span",    "collector"};

static void one(CURL *c, unsigned *seed)
{
    body b;
    char path[128], json[512];
    int dice = rand_r(seed) % 100;
    long long uid = pick(users, nusers, seed);
    if (dice < 8 || uid == 0) {
        snprintf(json, sizeof json, "{\"name\":\"user-%u\"}", rand_r(seed) % 100000);
        if (request(c, "POST", "/api/users", json, &b) == 201) {
            long long id;
            if (json_get_int(b.p, b.len, "id", &id))
                remember(users, &nusers, id, seed);
        }
    } else if (dice < 38) {
        snprintf(path, sizeof path, "/api/users/%lld/posts", uid);
        snprintf(json, sizeof json, "{\"text\":\"%s %s %s\"}", WORDS[rand_r(seed) % 13],
                 WORDS[rand_r(seed) % 13], WORDS[rand_r(seed) % 13]);
        if (request(c, "POST", path, json, &b) == 201) {
            long long id;
            if (json_get_int(b.p, b.len, "id", &id))
                remember(posts, &nposts, id, seed);
        }
    } else if (dice < 68) {
        snprintf(path, sizeof path, "/api/users/%lld/posts?limit=10", uid);
        request(c, "GET", path, NULL, &b);
    } else if (dice < 94) {
        long long pid = pick(posts, nposts, seed);
        snprintf(path, sizeof path, "/api/posts/%lld", pid ? pid : 1);
        request(c, "GET", path, NULL, &b);
    } else {
        /* A post that does not exist: a 404 the dashboards should show. */
        snprintf(path, sizeof path, "/api/posts/%u", 900000000u + rand_r(seed) % 1000);
        request(c, "GET", path, NULL, &b);
    }
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u ^ (unsigned)time(NULL);
    CURL *c = curl_easy_init();
    double start = now_s(), per = nthreads / rate;
    long done = 0;
    while (!stop && (seconds <= 0 || now_s() - start < seconds)) {
        one(c, &seed);
        done++;
        /* Pace: request k of this thread is due at start + k * per. */
        double due = start + done * per, wait = due - now_s();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    curl_easy_cleanup(c);
    return NULL;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--api") == 0)
            api_url = argv[i + 1];
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--rate") == 0)
            rate = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            nthreads = atoi(argv[i + 1]);
    }
    if (api_url == NULL || rate <= 0 || nthreads <= 0 || nthreads > 64) {
        fprintf(stderr, "usage: microposts-load --api URL [--seconds N (0: until Ctrl-C)] "
                        "[--rate REQ_PER_S] [--threads T]\n");
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t t[64];
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    long total = failures;
    for (int s = 0; s < 600; s++)
        if (counts[s]) {
            printf("status %d: %ld\n", s, counts[s]);
            total += counts[s];
        }
    if (failures)
        printf("transport errors: %ld\n", failures);
    printf("requests: %ld\n", total);
    curl_global_cleanup();
    return 0;
}
