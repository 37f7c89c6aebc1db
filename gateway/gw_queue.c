/* gw_queue.c - two linked lanes under one mutex; an eventfd for the poll loop. */
#include "gw_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct s_lane {
    gw_link *head;
    gw_link *tail;
} s_lane;

struct gw_queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    s_lane urgent;
    s_lane normal;
    size_t length;
    int closed;
    int fd;
};

int gw_queue_new(int notify, gw_queue **out)
{
    gw_queue *q = calloc(1, sizeof *q);
    if (!q)
        return MN_ENOMEM;
    q->fd = -1;
    if (notify) {
        q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (q->fd < 0) {
            free(q);
            return MN_ESYS;
        }
    }
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->nonempty, NULL);
    *out = q;
    return MN_OK;
}

static void s_lane_push(s_lane *l, gw_link *item)
{
    item->next = NULL;
    if (l->tail)
        l->tail->next = item;
    else
        l->head = item;
    l->tail = item;
}

static gw_link *s_lane_pop(s_lane *l)
{
    gw_link *item = l->head;
    if (item) {
        l->head = item->next;
        if (!l->head)
            l->tail = NULL;
        item->next = NULL;
    }
    return item;
}

/* Under the lock: urgent first. */
static gw_link *s_take(gw_queue *q)
{
    gw_link *item = s_lane_pop(&q->urgent);
    if (!item)
        item = s_lane_pop(&q->normal);
    if (item)
        q->length--;
    return item;
}

static void s_notify(gw_queue *q)
{
    uint64_t one = 1;
    if (q->fd >= 0 && write(q->fd, &one, sizeof one) < 0 && errno != EAGAIN)
        return; /* the counter is full: the fd is readable anyway */
}

int gw_queue_push_many(gw_queue *q, gw_link **items, size_t n, int urgent)
{
    if (n == 0)
        return 1;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        return 0;
    }
    int was_empty = q->length == 0;
    for (size_t i = 0; i < n; i++)
        s_lane_push(urgent ? &q->urgent : &q->normal, items[i]);
    q->length += n;
    if (n > 1)
        pthread_cond_broadcast(&q->nonempty);
    else
        pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
    /* Only the first item needs to wake the poller: it takes items until it finds none, and
     * finding none (under the lock) is what clears the fd. One syscall per burst, not per item. */
    if (was_empty)
        s_notify(q);
    return 1;
}

int gw_queue_push(gw_queue *q, gw_link *item, int urgent)
{
    return gw_queue_push_many(q, &item, 1, urgent);
}

gw_link *gw_queue_pop(gw_queue *q)
{
    pthread_mutex_lock(&q->lock);
    while (q->length == 0 && !q->closed)
        pthread_cond_wait(&q->nonempty, &q->lock);
    gw_link *item = s_take(q);
    pthread_mutex_unlock(&q->lock);
    return item;
}

size_t gw_queue_pop_batch(gw_queue *q, gw_link **out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&q->lock);
    while (q->length == 0 && !q->closed)
        pthread_cond_wait(&q->nonempty, &q->lock);
    while (n < max) {
        gw_link *item = s_take(q);
        if (!item)
            break;
        out[n++] = item;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

gw_link *gw_queue_try_pop(gw_queue *q)
{
    pthread_mutex_lock(&q->lock);
    gw_link *item = s_take(q);
    if (!item && q->fd >= 0) {
        /* Read the counter under the lock: a push after this sets it again. */
        uint64_t count;
        if (read(q->fd, &count, sizeof count) < 0 && errno != EAGAIN)
            count = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return item;
}

int gw_queue_fd(const gw_queue *q)
{
    return q->fd;
}

void gw_queue_close(gw_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
    s_notify(q);
}

size_t gw_queue_length(gw_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->length;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void gw_queue_destroy(gw_queue **q_p)
{
    if (!q_p || !*q_p)
        return;
    gw_queue *q = *q_p;
    if (q->fd >= 0)
        close(q->fd);
    pthread_cond_destroy(&q->nonempty);
    pthread_mutex_destroy(&q->lock);
    free(q);
    *q_p = NULL;
}
