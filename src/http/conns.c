/*
 * http/conns.c: the server's connections around libmicrohttpd: the
 * listening socket, an accept thread, the connection limits, the deadline
 * for a request's headers, and room made for a new connection.
 *
 * Why not libmicrohttpd's own limits: at its total limit it leaves new
 * connections in the listen backlog, and at its per-address limit it
 * closes them, while the slots are held by connections that never send a
 * request; and its only timeout is one of inactivity, which a client that
 * sends a byte every few seconds restarts for ever (slowloris). So the
 * server owns the listening socket and hands each connection it accepts to
 * libmicrohttpd (MHD_add_connection) once there is room for it.
 *
 * Each connection the table knows is in one state:
 *   WAITING  no complete request yet: just accepted, or its last answer is
 *            sent (keep-alive). Kept on the wait list, oldest first.
 *   BUSY     its request's headers arrived (the access handler ran) and
 *            the answer is not sent yet.
 *   CLOSING  shut down here; libmicrohttpd has not closed it yet.
 * The policy, after nginx (which closes idle connections when it runs out
 * of them) and HAProxy (`timeout http-request`):
 *   - a connection WAITING for header_timeout_ms is closed, however many
 *     bytes it sent meanwhile;
 *   - a new connection from an address that holds max_per_client open ones
 *     closes the oldest WAITING connection of that address; when all of
 *     them are BUSY the new one is closed;
 *   - a new connection when max_total are open closes the oldest WAITING
 *     connection of all; when all are BUSY, new connections wait in the
 *     listen backlog until one ends.
 * A scraper therefore finds room unless every slot (of its address, or of
 * all) holds a request in progress: idle and slow connections, from other
 * addresses or from its own, cannot keep it out.
 *
 * Threads: each server thread runs a libmicrohttpd daemon of its own (one
 * epoll loop); the accept thread hands a new connection to the daemon that
 * is not inside a request handler (a render holds its thread) and has the
 * fewest connections, so that a slow render does not hold up the answers
 * of connections that arrive meanwhile.
 *
 * Closing is shutdown(2) on libmicrohttpd's socket, which its event loop
 * then sees end. The socket is touched only while libmicrohttpd certainly
 * holds it open: between its STARTED and CLOSED notifications, both taken
 * under the table's lock (it closes the socket after CLOSED). A connection
 * evicted before STARTED is shut down when STARTED comes. So a descriptor
 * number that was closed and reused elsewhere in the program is never
 * touched.
 *
 * Counts: `live` (WAITING + BUSY) against max_total, per-address counts of
 * the same in a small open-addressing table, and `used` (every entry but
 * FREE) against the table's size, 2 * max_total, which bounds CLOSING
 * entries too.
 */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "http/conns.h"

/* A connection that libmicrohttpd has not announced this long after it was
 * handed over never will be (it could not take it, for lack of memory):
 * its entry is dropped, without touching the descriptor. */
#define ORPHAN_MS 60000
/* Connections accepted in a row before the deadlines are looked at again. */
#define ACCEPT_BATCH 32
/* How long to back off when accept() runs out of descriptors. */
#define EMFILE_BACKOFF_MS 100

enum { C_FREE, C_WAITING, C_BUSY, C_CLOSING };

typedef struct conn conn;
struct conn {
    conn *prev, *next;   /* WAITING: the wait list; FREE: the free list (next) */
    conn *pprev, *pnext; /* pending: the pending list */
    int64_t since_ms;    /* WAITING: start of its header deadline */
    int64_t accepted_ms;
    int fd;          /* libmicrohttpd's socket */
    uint8_t key[16]; /* the client's address (IPv4 mapped into IPv6) */
    uint8_t state;
    bool pending;    /* handed to libmicrohttpd, STARTED not seen yet */
    uint16_t worker; /* the daemon it was handed to */
};

typedef struct ipslot {
    uint8_t key[16];
    uint32_t n; /* 0: empty */
} ipslot;

struct lumen__http_conns {
    pthread_mutex_t mu;
    bool mu_ready;
    conn *slots;
    size_t cap;
    conn *free;
    conn *wait_head, *wait_tail; /* WAITING, by since_ms */
    conn *pend_head, *pend_tail; /* pending, by accepted_ms */
    ipslot *ips;
    size_t ipmask;
    uint64_t seed;
    unsigned live, used;
    unsigned max_total, max_per_client;
    int64_t header_ms;
    lumen_counter *c_timeout, *c_evicted, *c_refused;
    lumen_gauge *g_open;
    bool blocked; /* the accept thread is not polling the listening socket */

    int lfd;
    int wake[2];
    uint16_t port;
    struct MHD_Daemon **daemons;
    unsigned ndaemons, next_daemon;
    unsigned *worker_conns;   /* entries per daemon, under mu */
    atomic_uint *worker_busy; /* request handlers running per daemon */
    pthread_t thread;
    bool running;
    atomic_bool stopping;
};

static int64_t now_ms(void)
{
    return lumen_monotonic_ns() / 1000000;
}

/* ---- lists -------------------------------------------------------------------- */

static void wait_push(lumen__http_conns *t, conn *e)
{
    e->next = NULL;
    e->prev = t->wait_tail;
    if (t->wait_tail)
        t->wait_tail->next = e;
    else
        t->wait_head = e;
    t->wait_tail = e;
}

static void wait_unlink(lumen__http_conns *t, conn *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        t->wait_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        t->wait_tail = e->prev;
    e->prev = e->next = NULL;
}

static void pend_push(lumen__http_conns *t, conn *e)
{
    e->pnext = NULL;
    e->pprev = t->pend_tail;
    if (t->pend_tail)
        t->pend_tail->pnext = e;
    else
        t->pend_head = e;
    t->pend_tail = e;
    e->pending = true;
}

static void pend_unlink(lumen__http_conns *t, conn *e)
{
    if (e->pprev)
        e->pprev->pnext = e->pnext;
    else
        t->pend_head = e->pnext;
    if (e->pnext)
        e->pnext->pprev = e->pprev;
    else
        t->pend_tail = e->pprev;
    e->pprev = e->pnext = NULL;
    e->pending = false;
}

static conn *pend_find(lumen__http_conns *t, int fd)
{
    for (conn *e = t->pend_head; e != NULL; e = e->pnext)
        if (e->fd == fd)
            return e;
    return NULL;
}

/* ---- connections per address ----------------------------------------------------- */

/* Seeded, so that a client choosing its addresses (IPv6 gives it many)
 * cannot aim them all at one chain. */
static size_t ip_hash(const lumen__http_conns *t, const uint8_t *k)
{
    uint64_t h = t->seed;
    for (int i = 0; i < 16; i++) {
        h ^= k[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 31;
    return (size_t)h & t->ipmask;
}

/* The slot holding k, or the empty slot where it would go. The table has
 * at least twice as many slots as entries, so there always is one. */
static ipslot *ip_slot(lumen__http_conns *t, const uint8_t *k)
{
    for (size_t i = ip_hash(t, k);; i = (i + 1) & t->ipmask) {
        ipslot *s = &t->ips[i];
        if (s->n == 0 || memcmp(s->key, k, 16) == 0)
            return s;
    }
}

static void ip_inc(lumen__http_conns *t, const uint8_t *k)
{
    ipslot *s = ip_slot(t, k);
    if (s->n == 0)
        memcpy(s->key, k, 16);
    s->n++;
}

/* Linear probing deletes by moving later members of the chain back, so
 * that lookups never need tombstones. */
static void ip_dec(lumen__http_conns *t, const uint8_t *k)
{
    ipslot *s = ip_slot(t, k);
    assert(s->n > 0);
    if (s->n == 0 || --s->n > 0)
        return;
    size_t i = (size_t)(s - t->ips), j = i;
    for (;;) {
        j = (j + 1) & t->ipmask;
        if (t->ips[j].n == 0)
            break;
        size_t h = ip_hash(t, t->ips[j].key);
        /* The member at j may fill the hole at i unless its home lies
         * cyclically in (i, j]. */
        bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (!stays) {
            t->ips[i] = t->ips[j];
            i = j;
        }
    }
    t->ips[i].n = 0;
}

static void addr_key(const struct sockaddr_storage *ss, uint8_t k[16])
{
    memset(k, 0, 16);
    if (ss->ss_family == AF_INET) {
        k[10] = k[11] = 0xff;
        memcpy(k + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        memcpy(k, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
    }
}

/* ---- entries -------------------------------------------------------------------- */

static void wake(lumen__http_conns *t)
{
    char c = 1;
    ssize_t n = write(t->wake[1], &c, 1); /* full pipe: a wake-up is pending anyway */
    (void)n;
}

/* Close a WAITING connection. Called with the lock held. */
static void evict(lumen__http_conns *t, conn *e, lumen_counter *why)
{
    wait_unlink(t, e);
    ip_dec(t, e->key);
    t->live--;
    lumen_gauge_set(t->g_open, t->live);
    e->state = C_CLOSING;
    if (!e->pending)
        shutdown(e->fd, SHUT_RDWR);
    lumen_counter_inc(why);
}

/* The entry's connection is gone (or was never taken). Lock held. */
static void release(lumen__http_conns *t, conn *e)
{
    if (e->state == C_WAITING)
        wait_unlink(t, e);
    if (e->state == C_WAITING || e->state == C_BUSY) {
        ip_dec(t, e->key);
        t->live--;
        lumen_gauge_set(t->g_open, t->live);
    }
    if (e->pending)
        pend_unlink(t, e);
    t->worker_conns[e->worker]--;
    e->state = C_FREE;
    e->next = t->free;
    t->free = e;
    t->used--;
    if (t->blocked)
        wake(t);
}

/* The oldest WAITING connection from address k, or NULL. */
static conn *oldest_waiting_from(lumen__http_conns *t, const uint8_t *k)
{
    for (conn *e = t->wait_head; e != NULL; e = e->next)
        if (memcmp(e->key, k, 16) == 0)
            return e;
    return NULL;
}

/* The daemon for a new connection: one that runs no request handler now,
 * with the fewest connections; round robin among equals. Lock held. */
static unsigned pick_worker(lumen__http_conns *t)
{
    unsigned best = t->next_daemon % t->ndaemons;
    for (unsigned j = 1; j < t->ndaemons; j++) {
        unsigned i = (t->next_daemon + j) % t->ndaemons;
        bool ib = atomic_load_explicit(&t->worker_busy[i], memory_order_relaxed) != 0;
        bool bb = atomic_load_explicit(&t->worker_busy[best], memory_order_relaxed) != 0;
        if (ib < bb || (ib == bb && t->worker_conns[i] < t->worker_conns[best]))
            best = i;
    }
    t->next_daemon = best + 1;
    return best;
}

/* Make room for a connection from k and take an entry for it; NULL when
 * it must be refused. Lock held. */
static conn *admit(lumen__http_conns *t, int fd, const uint8_t *k, int64_t now)
{
    /* A pending entry with this descriptor number is an orphan: the number
     * was free to be reused, so libmicrohttpd has closed it. */
    conn *old = pend_find(t, fd);
    if (old != NULL)
        release(t, old);
    if (ip_slot(t, k)->n >= t->max_per_client) {
        conn *v = oldest_waiting_from(t, k);
        if (v == NULL)
            return NULL;
        evict(t, v, t->c_evicted);
    }
    if (t->live >= t->max_total) {
        if (t->wait_head == NULL)
            return NULL;
        evict(t, t->wait_head, t->c_evicted);
    }
    if (t->free == NULL)
        return NULL;
    conn *e = t->free;
    t->free = e->next;
    memset(e, 0, sizeof *e);
    e->fd = fd;
    memcpy(e->key, k, 16);
    e->state = C_WAITING;
    e->since_ms = e->accepted_ms = now;
    e->worker = (uint16_t)pick_worker(t);
    t->worker_conns[e->worker]++;
    wait_push(t, e);
    pend_push(t, e);
    ip_inc(t, k);
    t->live++;
    t->used++;
    lumen_gauge_set(t->g_open, t->live);
    return e;
}

/* Close what passed its deadline and drop orphans; returns the wait in ms
 * until the next deadline (-1: none). Lock held. */
static int expire(lumen__http_conns *t, int64_t now)
{
    while (t->wait_head != NULL && t->wait_head->since_ms + t->header_ms <= now)
        evict(t, t->wait_head, t->c_timeout);
    while (t->pend_head != NULL && t->pend_head->accepted_ms + ORPHAN_MS <= now)
        release(t, t->pend_head);
    int64_t next = -1;
    if (t->wait_head != NULL)
        next = t->wait_head->since_ms + t->header_ms - now;
    if (t->pend_head != NULL) {
        int64_t p = t->pend_head->accepted_ms + ORPHAN_MS - now;
        next = next < 0 || p < next ? p : next;
    }
    return next < 0 ? -1 : (int)(next > 60000 ? 60000 : next);
}

/* ---- the accept thread ----------------------------------------------------------- */

static void accept_one(lumen__http_conns *t, int fd, const struct sockaddr_storage *ss,
                       socklen_t len)
{
    uint8_t k[16];
    addr_key(ss, k);
    pthread_mutex_lock(&t->mu);
    conn *e = admit(t, fd, k, now_ms());
    struct MHD_Daemon *d = e != NULL ? t->daemons[e->worker] : NULL;
    pthread_mutex_unlock(&t->mu);
    if (e == NULL) {
        lumen_counter_inc(t->c_refused);
        close(fd);
        return;
    }
    /* libmicrohttpd owns the socket from here, and closes it on failure. */
    if (MHD_add_connection(d, fd, (const struct sockaddr *)ss, len) != MHD_YES) {
        pthread_mutex_lock(&t->mu);
        if (e->pending && e->fd == fd)
            release(t, e);
        pthread_mutex_unlock(&t->mu);
    }
}

static void *accept_main(void *arg)
{
    lumen__http_conns *t = arg;
    int64_t backoff_until = 0;
    while (!atomic_load(&t->stopping)) {
        int64_t now = now_ms();
        pthread_mutex_lock(&t->mu);
        int timeout = expire(t, now);
        bool room = t->used < t->cap && (t->live < t->max_total || t->wait_head != NULL) &&
                    now >= backoff_until;
        t->blocked = !room;
        pthread_mutex_unlock(&t->mu);
        if (now < backoff_until) {
            int b = (int)(backoff_until - now);
            timeout = timeout < 0 || b < timeout ? b : timeout;
        }

        struct pollfd p[2] = {{t->wake[0], POLLIN, 0}, {t->lfd, POLLIN, 0}};
        int n = poll(p, room ? 2 : 1, timeout);
        if (n < 0 && errno != EINTR) {
            lumen__diag(LUMEN_DIAG_ERROR, "http: poll on the listening socket: %s",
                        strerror(errno));
            break;
        }
        if (n <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            char buf[64];
            while (read(t->wake[0], buf, sizeof buf) > 0)
                ;
        }
        if (!room || !(p[1].revents & POLLIN))
            continue;
        for (int i = 0; i < ACCEPT_BATCH && !atomic_load(&t->stopping); i++) {
            struct sockaddr_storage ss;
            socklen_t len = sizeof ss;
            int fd = accept4(t->lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    lumen__diag(LUMEN_DIAG_WARN, "http: cannot accept a connection: %s",
                                strerror(errno));
                    backoff_until = now_ms() + EMFILE_BACKOFF_MS;
                }
                break; /* EAGAIN, or a connection the client already reset */
            }
            accept_one(t, fd, &ss, len);
            pthread_mutex_lock(&t->mu);
            bool more = t->used < t->cap && (t->live < t->max_total || t->wait_head != NULL);
            pthread_mutex_unlock(&t->mu);
            if (!more)
                break;
        }
    }
    return NULL;
}

/* ---- libmicrohttpd's callbacks ------------------------------------------------------ */

void lumen__http_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    lumen__http_conns *t = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        int fd = ci != NULL ? ci->connect_fd : -1;
        pthread_mutex_lock(&t->mu);
        conn *e = fd >= 0 ? pend_find(t, fd) : NULL;
        *socket_context = e;
        if (e != NULL) {
            pend_unlink(t, e);
            if (e->state == C_CLOSING)
                shutdown(fd, SHUT_RDWR); /* evicted while on its way */
        } else if (fd >= 0) {
            shutdown(fd, SHUT_RDWR); /* dropped as an orphan: too late now */
        }
        pthread_mutex_unlock(&t->mu);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn *e = *socket_context;
        *socket_context = NULL;
        if (e == NULL)
            return;
        pthread_mutex_lock(&t->mu);
        release(t, e);
        pthread_mutex_unlock(&t->mu);
    }
}

static conn *entry_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

int lumen__http_conns_request(lumen__http_conns *t, struct MHD_Connection *c)
{
    conn *e = entry_of(c);
    if (e == NULL)
        return -1;
    pthread_mutex_lock(&t->mu);
    if (e->state == C_WAITING) {
        wait_unlink(t, e);
        e->state = C_BUSY;
    }
    int w = e->worker;
    pthread_mutex_unlock(&t->mu);
    atomic_fetch_add_explicit(&t->worker_busy[w], 1, memory_order_relaxed);
    return w;
}

void lumen__http_conns_handler_done(lumen__http_conns *t, int worker)
{
    if (worker >= 0)
        atomic_fetch_sub_explicit(&t->worker_busy[worker], 1, memory_order_relaxed);
}

void lumen__http_conns_request_done(lumen__http_conns *t, struct MHD_Connection *c)
{
    conn *e = entry_of(c);
    if (e == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    if (e->state == C_BUSY) {
        e->state = C_WAITING;
        e->since_ms = now_ms();
        wait_push(t, e);
        if (t->blocked)
            wake(t); /* it may be evicted for a connection in the backlog */
    }
    pthread_mutex_unlock(&t->mu);
}

/* ---- life cycle -------------------------------------------------------------------- */

static int listen_on(lumen__http_conns *t, const lumen__http_addr *a)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return LUMEN_ESYS;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a->ipv6) {
        int v6only = a->dual_stack ? 0 : 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) {
        lumen__diag(LUMEN_DIAG_ERROR, "http: cannot listen: %s", strerror(errno));
        close(fd);
        return LUMEN_ESYS;
    }
    t->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    t->lfd = fd;
    return LUMEN_OK;
}

int lumen__http_conns_new(lumen__http_conns **out, const lumen__http_addr *addr,
                          const lumen__http_conns_opts *o, unsigned workers)
{
    *out = NULL;
    lumen__http_conns *t = lumen__calloc(1, sizeof *t);
    if (t == NULL)
        return LUMEN_ENOMEM;
    t->lfd = t->wake[0] = t->wake[1] = -1;
    t->max_total = o->max_total;
    t->max_per_client = o->max_per_client;
    t->header_ms = o->header_timeout_ms;
    t->ndaemons = workers;
    t->c_timeout = o->closed_timeout;
    t->c_evicted = o->closed_evicted;
    t->c_refused = o->refused;
    t->g_open = o->open;
    t->seed = (uint64_t)lumen_monotonic_ns() ^ (uint64_t)(uintptr_t)t ^ 0xcbf29ce484222325ull;
    int rc = LUMEN_ENOMEM;
    /* Twice the limit: the open connections and as many being closed. */
    t->cap = 2 * (size_t)o->max_total;
    size_t ipn = 4;
    while (ipn < 2 * t->cap)
        ipn *= 2;
    t->ipmask = ipn - 1;
    if ((t->slots = lumen__calloc(t->cap, sizeof *t->slots)) == NULL ||
        (t->ips = lumen__calloc(ipn, sizeof *t->ips)) == NULL ||
        (t->daemons = lumen__calloc(workers, sizeof *t->daemons)) == NULL ||
        (t->worker_conns = lumen__calloc(workers, sizeof *t->worker_conns)) == NULL ||
        (t->worker_busy = lumen__calloc(workers, sizeof *t->worker_busy)) == NULL)
        goto fail;
    for (unsigned i = 0; i < workers; i++)
        atomic_init(&t->worker_busy[i], 0);
    for (size_t i = t->cap; i-- > 0;) {
        t->slots[i].next = t->free;
        t->free = &t->slots[i];
    }
    rc = LUMEN_ESYS;
    if (pthread_mutex_init(&t->mu, NULL) != 0)
        goto fail;
    t->mu_ready = true;
    if (pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) != 0)
        goto fail;
    if ((rc = listen_on(t, addr)) != LUMEN_OK)
        goto fail;
    *out = t;
    return LUMEN_OK;
fail:
    lumen__http_conns_free(t);
    return rc;
}

uint16_t lumen__http_conns_port(const lumen__http_conns *t)
{
    return t->port;
}

unsigned lumen__http_conns_mhd_limit(const lumen__http_conns *t)
{
    /* libmicrohttpd counts a connection until just after CLOSED, and an
     * orphan's never: twice the table is out of reach. */
    return (unsigned)(2 * t->cap + 64);
}

void lumen__http_conns_set_daemon(lumen__http_conns *t, unsigned i, struct MHD_Daemon *d)
{
    t->daemons[i] = d;
}

int lumen__http_conns_run(lumen__http_conns *t)
{
    if (pthread_create(&t->thread, NULL, accept_main, t) != 0)
        return LUMEN_ESYS;
    t->running = true;
    return LUMEN_OK;
}

void lumen__http_conns_stop(lumen__http_conns *t)
{
    if (t == NULL)
        return;
    atomic_store(&t->stopping, true);
    if (t->running) {
        wake(t);
        pthread_join(t->thread, NULL);
        t->running = false;
    }
    if (t->lfd >= 0) {
        close(t->lfd);
        t->lfd = -1;
    }
}

void lumen__http_conns_free(lumen__http_conns *t)
{
    if (t == NULL)
        return;
    lumen__http_conns_stop(t);
    for (int i = 0; i < 2; i++)
        if (t->wake[i] >= 0)
            close(t->wake[i]);
    if (t->mu_ready)
        pthread_mutex_destroy(&t->mu);
    lumen__free(t->slots, t->cap * sizeof *t->slots);
    lumen__free(t->ips, (t->ipmask + 1) * sizeof *t->ips);
    lumen__free(t->daemons, t->ndaemons * sizeof *t->daemons);
    lumen__free(t->worker_conns, t->ndaemons * sizeof *t->worker_conns);
    lumen__free(t->worker_busy, t->ndaemons * sizeof *t->worker_busy);
    lumen__free(t, sizeof *t);
}
