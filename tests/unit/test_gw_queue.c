/* test_gw_queue.c - the pipeline's hand-over queue: order, urgent lane, batches, close, fd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>

#include "gw_queue.h"

typedef struct item {
    gw_link link;
    int value;
} item;

static int s_value(gw_link *l)
{
    return ((item *)(void *)l)->value;
}

static int s_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void test_fifo_and_urgent_first(void **state)
{
    (void)state;
    gw_queue *q = NULL;
    item it[5];
    assert_int_equal(gw_queue_new(0, &q), MN_OK);
    assert_int_equal(gw_queue_fd(q), -1);
    for (int i = 0; i < 5; i++) {
        it[i].value = i;
        gw_queue_push(q, &it[i].link, i == 3);
    }
    assert_int_equal(gw_queue_length(q), 5);
    int want[] = {3, 0, 1, 2, 4};
    for (int i = 0; i < 5; i++)
        assert_int_equal(s_value(gw_queue_pop(q)), want[i]);
    assert_null(gw_queue_try_pop(q));
    gw_queue_destroy(&q);
    assert_null(q);
    gw_queue_destroy(&q);
}

static void test_batch_takes_up_to_max_urgent_first(void **state)
{
    (void)state;
    gw_queue *q = NULL;
    item it[6];
    gw_link *out[4];
    assert_int_equal(gw_queue_new(0, &q), MN_OK);
    for (int i = 0; i < 6; i++) {
        it[i].value = i;
        gw_queue_push(q, &it[i].link, i >= 4);
    }
    assert_int_equal(gw_queue_pop_batch(q, out, 4), 4);
    assert_int_equal(s_value(out[0]), 4);
    assert_int_equal(s_value(out[1]), 5);
    assert_int_equal(s_value(out[2]), 0);
    assert_int_equal(s_value(out[3]), 1);
    assert_int_equal(gw_queue_pop_batch(q, out, 4), 2);
    gw_queue_close(q);
    assert_int_equal(gw_queue_pop_batch(q, out, 4), 0);
    assert_null(gw_queue_pop(q));
    gw_queue_destroy(&q);
}

static void test_close_leaves_items_to_take(void **state)
{
    (void)state;
    gw_queue *q = NULL;
    item a = {.value = 7};
    assert_int_equal(gw_queue_new(0, &q), MN_OK);
    gw_queue_push(q, &a.link, 0);
    gw_queue_close(q);
    assert_int_equal(s_value(gw_queue_pop(q)), 7);
    assert_null(gw_queue_pop(q));
    gw_queue_destroy(&q);
}

static void test_fd_readable_while_items_wait(void **state)
{
    (void)state;
    gw_queue *q = NULL;
    item a = {.value = 1}, b = {.value = 2};
    assert_int_equal(gw_queue_new(1, &q), MN_OK);
    int fd = gw_queue_fd(q);
    assert_true(fd >= 0);
    assert_false(s_readable(fd));
    gw_queue_push(q, &a.link, 0);
    gw_queue_push(q, &b.link, 0);
    assert_true(s_readable(fd));
    assert_non_null(gw_queue_try_pop(q));
    assert_non_null(gw_queue_try_pop(q));
    /* Finding it empty clears the notification. */
    assert_null(gw_queue_try_pop(q));
    assert_false(s_readable(fd));
    gw_queue_push(q, &a.link, 0);
    assert_true(s_readable(fd));
    gw_queue_destroy(&q);
}

static void test_push_many_in_order_and_refused_when_closed(void **state)
{
    (void)state;
    gw_queue *q = NULL;
    item it[4];
    gw_link *links[4];
    assert_int_equal(gw_queue_new(1, &q), MN_OK);
    for (int i = 0; i < 4; i++) {
        it[i].value = i;
        links[i] = &it[i].link;
    }
    assert_int_equal(gw_queue_push_many(q, links, 0, 0), 1);
    assert_false(s_readable(gw_queue_fd(q)));
    assert_int_equal(gw_queue_push_many(q, links, 3, 0), 1);
    assert_true(s_readable(gw_queue_fd(q)));
    assert_int_equal(gw_queue_push_many(q, links + 3, 1, 1), 1);
    int want[] = {3, 0, 1, 2};
    for (int i = 0; i < 4; i++)
        assert_int_equal(s_value(gw_queue_try_pop(q)), want[i]);
    gw_queue_close(q);
    assert_int_equal(gw_queue_push_many(q, links, 2, 0), 0);
    assert_int_equal(gw_queue_push(q, links[0], 0), 0);
    assert_int_equal(gw_queue_length(q), 0);
    gw_queue_destroy(&q);
}

/* Producers and a consumer on threads: every item arrives exactly once. */
#define PRODUCERS 4
#define PER_PRODUCER 5000

typedef struct producer {
    gw_queue *q;
    item *items;
} producer;

static void *s_produce(void *arg)
{
    producer *p = arg;
    for (int i = 0; i < PER_PRODUCER; i++)
        gw_queue_push(p->q, &p->items[i].link, i % 7 == 0);
    return NULL;
}

static void test_threads_lose_nothing(void **state)
{
    (void)state;
    gw_queue *q = NULL;
    assert_int_equal(gw_queue_new(0, &q), MN_OK);
    item *items = calloc(PRODUCERS * PER_PRODUCER, sizeof *items);
    unsigned char *seen = calloc(PRODUCERS * PER_PRODUCER, 1);
    assert_non_null(items);
    assert_non_null(seen);
    producer p[PRODUCERS];
    pthread_t t[PRODUCERS];
    for (int i = 0; i < PRODUCERS * PER_PRODUCER; i++)
        items[i].value = i;
    for (int i = 0; i < PRODUCERS; i++) {
        p[i] = (producer){.q = q, .items = items + i * PER_PRODUCER};
        assert_int_equal(pthread_create(&t[i], NULL, s_produce, &p[i]), 0);
    }
    gw_link *out[64];
    size_t got = 0;
    while (got < PRODUCERS * PER_PRODUCER) {
        size_t n = gw_queue_pop_batch(q, out, 64);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            int v = s_value(out[i]);
            assert_int_equal(seen[v], 0);
            seen[v] = 1;
        }
        got += n;
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(gw_queue_length(q), 0);
    free(items);
    free(seen);
    gw_queue_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_urgent_first),
        cmocka_unit_test(test_batch_takes_up_to_max_urgent_first),
        cmocka_unit_test(test_close_leaves_items_to_take),
        cmocka_unit_test(test_fd_readable_while_items_wait),
        cmocka_unit_test(test_push_many_in_order_and_refused_when_closed),
        cmocka_unit_test(test_threads_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
