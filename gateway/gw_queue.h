/* gw_queue.h - the hand-over between pipeline threads: a blocking FIFO with an urgent lane.
 *
 * Items embed a gw_link (intrusive: pushing never allocates, so it cannot fail). The queue holds
 * no bound of its own: the pipeline bounds what is in flight as a whole (inflight_max) before an
 * envelope enters the first queue. Urgent items (acute danger) are popped before any other.
 * With `notify` set, every push makes the queue's file descriptor readable, so a thread that
 * waits in zmq_poll (the receive thread) can wait on the queue too.
 */
#ifndef GW_QUEUE_H
#define GW_QUEUE_H

#include <stddef.h>

#include "mn_error.h"

typedef struct gw_link {
    struct gw_link *next;
} gw_link;

typedef struct gw_queue gw_queue;

/* Caller owns *out. notify: also keep an eventfd for gw_queue_fd. Returns MN_OK, MN_ENOMEM or
 * MN_ESYS. */
MN_NODISCARD int gw_queue_new(int notify, gw_queue **out);

/* Append (urgent: to the urgent lane). Never blocks for long. Returns 1, or 0 when the queue is
 * closed (the item is not taken: the caller still owns it). */
int gw_queue_push(gw_queue *q, gw_link *item, int urgent);

/* Append items[0..n) in that order with one lock and one wake-up (every waiter wakes). Returns
 * 1, or 0 when the queue is closed (none is taken). */
int gw_queue_push_many(gw_queue *q, gw_link **items, size_t n, int urgent);

/* Wait for an item and take it; NULL once the queue is closed and empty. */
gw_link *gw_queue_pop(gw_queue *q);

/* Wait for at least one item, then take up to max (urgent first) into out[]. Returns how many;
 * 0 once the queue is closed and empty. */
size_t gw_queue_pop_batch(gw_queue *q, gw_link **out, size_t max);

/* Take one item without waiting; NULL when there is none. Clears the notification when the
 * queue is found empty. */
gw_link *gw_queue_try_pop(gw_queue *q);

/* The eventfd (readable while items may be waiting), or -1 without notify. */
int gw_queue_fd(const gw_queue *q);

/* No more pushes will come: wake every waiter; pops return what is left, then NULL / 0. */
void gw_queue_close(gw_queue *q);

/* Items in the queue now. */
size_t gw_queue_length(gw_queue *q);

/* Free the queue (not its items: empty it first). NULL-safe; twice is harmless. */
void gw_queue_destroy(gw_queue **q_p);

#endif
