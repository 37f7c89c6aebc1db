/* mn-freeport - print a TCP port on 127.0.0.1 that is free right now, for integration tests.
 *
 * Binds port 0 on the loopback address, asks the kernel which port it chose, closes the socket
 * and prints the number. The kernel picks from the ephemeral range and does not hand the same
 * port out again soon, so a test that binds it a moment later almost always gets it.
 *
 * Caveats: "almost": another process may take the port between this tool and the bind. The
 * helpers in tests/integration/lib.sh fail loudly when the gateway cannot bind, never silently.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void s_usage(FILE *to)
{
    fprintf(to, "usage: mn-freeport [--help]\n"
                "Print a TCP port on 127.0.0.1 that is free right now (for tests).\n"
                "Exit status: 0 printed, 1 no port, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            s_usage(stdout);
            return 0;
        }
        s_usage(stderr);
        return 2;
    }
    if (optind != argc) {
        s_usage(stderr);
        return 2;
    }

    int rc = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        fprintf(stderr, "mn-freeport: socket: %s\n", strerror(errno));
        return 1;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t sa_len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "mn-freeport: bind 127.0.0.1:0: %s\n", strerror(errno));
        goto out;
    }
    if (getsockname(fd, (struct sockaddr *)&sa, &sa_len) != 0) {
        fprintf(stderr, "mn-freeport: getsockname: %s\n", strerror(errno));
        goto out;
    }
    printf("%u\n", (unsigned)ntohs(sa.sin_port));
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    close(fd);
    return rc;
}
