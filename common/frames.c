/* frames.c - bounded multipart reads and routed replies; see
 * include/frames.h. */
#include "frames.h"

int frames_recv(frames_t *f, void *socket)
{
    zmq_msg_t scratch;
    int more = 0;
    f->n = 0;
    f->total = 0;
    do {
        /* Frames past the limit are read and dropped at once. */
        zmq_msg_t *part = f->n < FRAMES_MAX ? &f->part[f->n] : &scratch;
        zmq_msg_init(part);
        if (zmq_msg_recv(part, socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(part);
            break; /* none waiting, or (never seen) a message cut short */
        }
        more = zmq_msg_more(part);
        f->total++;
        if (part == &scratch)
            zmq_msg_close(&scratch);
        else
            f->n++;
    } while (more);
    return f->total > 0;
}

void frames_close(frames_t *f)
{
    for (int i = 0; i < f->n; i++)
        zmq_msg_close(&f->part[i]);
    f->n = 0;
    f->total = 0;
}

int frames_is_request(const frames_t *f)
{
    return f->total == f->n &&
           (f->n == 2 || (f->n == 3 && zmq_msg_size((zmq_msg_t *)&f->part[1]) == 0));
}

const void *frames_payload(const frames_t *f, size_t *size)
{
    zmq_msg_t *last = (zmq_msg_t *)&f->part[f->n - 1];
    *size = zmq_msg_size(last);
    return zmq_msg_data(last);
}

int frames_reply(void *socket, const frames_t *request, const void *data, size_t size)
{
    int route = frames_is_request(request) ? request->n - 1 : (request->n > 0);
    for (int i = 0; i < route; i++) {
        zmq_msg_t *part = (zmq_msg_t *)&request->part[i];
        if (zmq_send(socket, zmq_msg_data(part), zmq_msg_size(part), ZMQ_SNDMORE | ZMQ_DONTWAIT) <
            0)
            return -1;
    }
    return zmq_send(socket, data, size, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}
